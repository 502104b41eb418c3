"""The teaching notebooks as stored: one per step of the story, each with a claim, no outputs.

They are executed by ``tests/test_binder.py``, in the environment Binder builds from
``binder/requirements.txt``; the claims and the checks of an executed notebook live here.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import nbformat
import pytest

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"

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

#: The story's order, as the issue of the series lists it: the file names say it too.
ORDER = [
    "01-manual-close",
    "02-detecting-disconnects",
    "03-resume-with-last-event-id",
    "04-browser-eventsource",
    "05-magics-tour",
    "06-scale-out",
]

#: The seed article every notebook credits.
ARTICLE_URL = "https://www.javascriptcn.com/post/6534fd6d7d4982a6ebac7877"


def notebook_paths() -> list[Path]:
    return sorted(NOTEBOOKS.glob("*.ipynb"))


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


def test_every_notebook_has_a_claim_in_story_order() -> None:
    assert [p.stem for p in notebook_paths()] == ORDER == list(CLAIMS)


@pytest.mark.parametrize("path", notebook_paths(), ids=lambda p: p.stem)
def test_notebook_is_stored_without_outputs(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, cell.source[:60]


@pytest.mark.parametrize("path", notebook_paths(), ids=lambda p: p.stem)
def test_notebook_credits_the_article_and_ends_with_an_assert(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    assert ARTICLE_URL in nb.cells[0].source
    code = [c.source for c in nb.cells if c.cell_type == "code"]
    checks = [src for src in code if re.search(r"^assert ", src, re.MULTILINE)]
    assert checks, "no cell checks the claim"
    # The check is the summary: after it, at most a clean-up cell that prints nothing.
    after = code[code.index(checks[-1]) + 1 :]
    assert all("print(" not in src for src in after), after
