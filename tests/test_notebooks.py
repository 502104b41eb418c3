"""The teaching notebooks run top to bottom and end with the claim they teach.

Headless: nbclient runs each notebook in a kernel of this interpreter, with no browser, so the
browser widgets render nothing and no cell may wait for them.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
#: Per-cell limit: the slowest cell waits a few seconds for an idle timeout.
CELL_TIMEOUT = 60

#: What each notebook's last cell prints when its claim holds.
CLAIMS = {
    "01-manual-close": r"^published: 10, received before close: 5, lost while closed: 5$",
    "02-detecting-disconnects": r"^lost: 0, duplicated: 0$",
    "03-resume-with-last-event-id": (
        r"^resume with Last-Event-ID -> lost: 0, duplicated: 0\n"
        r"resume with \?lastEventId  -> lost: 0, duplicated: 0$"
    ),
}


def _paths() -> list[Path]:
    return sorted(NOTEBOOKS.glob("*.ipynb"))


def _stream_text(cell: Any, name: str) -> str:
    return "".join(o.get("text", "") for o in cell.get("outputs", []) if o.get("name") == name)


def test_every_notebook_has_a_claim() -> None:
    assert sorted(p.stem for p in _paths()) == sorted(CLAIMS)


@pytest.mark.parametrize("path", _paths(), ids=lambda p: p.stem)
def test_notebook_is_stored_without_outputs(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, cell.source[:60]


@pytest.mark.parametrize("path", _paths(), ids=lambda p: p.stem)
def test_notebook_runs_headless_and_proves_its_claim(path: Path, tmp_path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=CELL_TIMEOUT,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute()  # raises CellExecutionError on the first failing cell

    last = _stream_text(nb.cells[-1], "stdout")
    assert re.search(CLAIMS[path.stem], last, re.MULTILINE), last
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert _stream_text(cell, "stderr") == "", (cell.source[:60], cell.outputs)
