"""What each teaching notebook claims, and how an executed notebook is checked against it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
#: The Chinese translations: same file names, same code, prose in Chinese.
ZH = NOTEBOOKS / "zh"

#: What each notebook's summary (the last cell that prints) shows when its claim holds.
CLAIMS = {
    "01-manual-close": r"^published: \d+, received before close: \d+, lost while closed: [1-9]\d*$",
    "02-detecting-disconnects": r"^lost: 0, duplicated: 0$",
    "03-resume-with-last-event-id": (
        r"^resume with Last-Event-ID -> lost: 0, duplicated: 0\n"
        r"resume with \?lastEventId  -> lost: 0, duplicated: 0\n"
        r"history too short         -> gap signal, 5 events reported gone$"
    ),
    "04-browser-eventsource": r"^lost: 0, duplicated: 0$",
    "05-magics-tour": r"^lost: 0, duplicated: 0$",
    "06-scale-out": (
        r"^resume on another server -> lost: 0, duplicated: 0\n"
        r"trimmed stream           -> gap signal, 5 held events replayed$"
    ),
}


def notebook_paths() -> list[Path]:
    """Every notebook, English then Chinese."""
    return sorted(NOTEBOOKS.glob("*.ipynb")) + sorted(ZH.glob("*.ipynb"))


def notebook_id(path: Path) -> str:
    """``01-manual-close`` or ``zh/01-manual-close``: a test id that tells the two apart."""
    return path.stem if path.parent == NOTEBOOKS else f"{path.parent.name}/{path.stem}"


def stream_text(cell: Any, name: str) -> str:
    return "".join(o.get("text", "") for o in cell.get("outputs", []) if o.get("name") == name)


def check_executed(nb: Any, stem: str) -> None:
    """An executed notebook printed its claim last and nothing on stderr, and raised nothing."""
    code = [c for c in nb.cells if c.cell_type == "code"]
    errors = [o for c in code for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert errors == [], errors
    printed = [stream_text(c, "stdout") for c in code]
    summary = [text for text in printed if text][-1]  # the last cell that printed anything
    assert re.search(CLAIMS[stem], summary, re.MULTILINE), summary
    for cell in code:
        assert stream_text(cell, "stderr").strip() == "", (cell.source[:60], cell.outputs)
