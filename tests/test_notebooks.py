"""The teaching notebooks run top to bottom and end with the claim they teach.

Headless: nbclient runs each notebook in a kernel of this interpreter, with no browser, so the
browser widgets render nothing and no cell may wait for them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

from tests.lab import Lab, start_lab, stop_lab

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
#: Per-cell limit: the slowest cell waits a few seconds for an idle timeout.
CELL_TIMEOUT = 60

#: What each notebook's summary (the last cell that prints) shows when its claim holds.
CLAIMS = {
    "01-manual-close": r"^published: 10, received before close: 5, lost while closed: 5$",
    "02-detecting-disconnects": r"^lost: 0, duplicated: 0$",
    "03-resume-with-last-event-id": (
        r"^resume with Last-Event-ID -> lost: 0, duplicated: 0\n"
        r"resume with \?lastEventId  -> lost: 0, duplicated: 0$"
    ),
    "04-magics-tour": r"^lost: 0, duplicated: 0$",
}

#: The one warning a notebook prints on purpose: the client's log line for a gap signal.
EXPECTED_STDERR = re.compile(r".*the server could not replay everything.*\n?")


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

    printed = [_stream_text(c, "stdout") for c in nb.cells if c.cell_type == "code"]
    summary = [text for text in printed if text][-1]  # the last cell that printed anything
    assert re.search(CLAIMS[path.stem], summary, re.MULTILINE), summary
    for cell in nb.cells:
        if cell.cell_type == "code":
            unexpected = EXPECTED_STDERR.sub("", _stream_text(cell, "stderr")).strip()
            assert unexpected == "", (cell.source[:60], cell.outputs)


# -- JupyterLab: Run All in headless Chromium ---------------------------------------------------

#: Milliseconds for a notebook's Run All to print its summary, lab and machine both loaded.
RUN_ALL_TIMEOUT = 120_000
#: Seconds for one Run All test, JupyterLab's start included.
LAB_TEST_TIMEOUT = 300
#: Milliseconds for one widget to show a change in the DOM.
DOM_TIMEOUT = 20_000


@pytest.fixture(scope="module")
def jupyter_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """One JupyterLab for the Run All tests."""
    server = start_lab(tmp_path_factory.mktemp("lab"))
    try:
        yield server
    finally:
        stop_lab(server)


def _run_all(lab: Lab, page: Any, stem: str) -> None:
    """Open a copy of the notebook in the lab, Run All, wait for its summary line."""
    name = f"{stem}.ipynb"
    (lab.root / name).write_text((NOTEBOOKS / name).read_text())
    lab.open_notebook(page, name)
    lab.run_all(page)
    claim = CLAIMS[stem].split(r"\n")[0].strip("^$").replace("\\", "")
    page.wait_for_function(
        """(claim) => [...document.querySelectorAll('.jp-OutputArea-output')]
                         .some((o) => o.innerText.includes(claim))""",
        arg=claim,
        timeout=RUN_ALL_TIMEOUT,
    )
    stderr = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
    unexpected = [t for t in stderr.all_inner_texts() if EXPECTED_STDERR.sub("", t).strip()]
    assert unexpected == []


def _wait(page: Any, selector: str) -> None:
    page.wait_for_selector(selector, state="attached", timeout=DOM_TIMEOUT)


@pytest.mark.lab
@pytest.mark.browser
@pytest.mark.timeout(LAB_TEST_TIMEOUT)
def test_run_all_manual_close_in_jupyterlab(jupyter_lab: Lab, page: Any) -> None:
    lab = jupyter_lab
    _run_all(lab, page, "01-manual-close")
    _wait(page, ".sse-nb-status[data-state=CLOSED]")
    _wait(page, ".sse-nb-table[data-last-id='5']")
    _wait(page, ".sse-nb-server[data-published='11']")
    # The browser's own EventSource was closed by a cell; reopened now, it receives live events.
    lab.execute(page, "page.open('')")
    _wait(page, ".sse-nb-browser[data-state=OPEN]")
    lab.execute(page, "server.publish('seen by the browser')")
    _wait(page, ".sse-nb-browser[data-last-id='12']")


@pytest.mark.lab
@pytest.mark.browser
@pytest.mark.timeout(LAB_TEST_TIMEOUT)
def test_run_all_detecting_disconnects_in_jupyterlab(jupyter_lab: Lab, page: Any) -> None:
    lab = jupyter_lab
    _run_all(lab, page, "02-detecting-disconnects")
    _wait(page, ".sse-nb-status[data-state=CLOSED]")
    _wait(page, ".sse-nb-status[data-state=OPEN]")
    _wait(page, ".sse-nb-timeline")
    # A dropped browser connection comes back by itself, sending Last-Event-ID itself.
    _wait(page, ".sse-nb-browser[data-state=OPEN]")
    lab.execute(page, "last = server.publish('for the browser')")
    _wait(page, ".sse-nb-browser[data-received='1']")
    out = lab.execute(
        page,
        "cid = page.client_id\n"
        "server.disconnect(cid)\n"
        "wait_until(lambda: any(c.id == cid and c.state == 'open' and c.resumed_from == last "
        "for c in server.clients))\n"
        "print('browser resumed from', last)",
    )
    assert out.startswith("browser resumed from")
    _wait(page, ".sse-nb-browser[data-state=OPEN]")


@pytest.mark.lab
@pytest.mark.browser
@pytest.mark.timeout(LAB_TEST_TIMEOUT)
def test_run_all_resume_in_jupyterlab(jupyter_lab: Lab, page: Any) -> None:
    lab = jupyter_lab
    _run_all(lab, page, "03-resume-with-last-event-id")
    _wait(page, ".sse-nb-table[data-last-id='14']")
    # After close(), the page's new EventSource carries the id in ?lastEventId=: no gap.
    _wait(page, ".sse-nb-browser[data-state=OPEN]")
    first_id = lab.execute(page, "first = server.publish('for the browser')\nprint(first)").strip()
    _wait(page, ".sse-nb-browser[data-received='1']")
    missed = lab.execute(
        page,
        "page.close()\nmissed = [server.publish(f'missed {n}') for n in range(3)]\nprint(*missed)",
    ).split()
    _wait(page, ".sse-nb-browser[data-state=CLOSED]")
    lab.execute(page, "page.open()")
    # Wait in the page, not in the kernel: the page's reports reach the kernel between requests.
    _wait(page, f".sse-nb-browser[data-last-id='{missed[-1]}'][data-received='4']")
    out = lab.execute(
        page,
        "print([r[1] for r in page.history][-4:], server.clients[-1].resumed_from == first)",
    )
    assert out.strip() == f"{[first_id, *missed]} True", out


@pytest.mark.lab
@pytest.mark.browser
@pytest.mark.timeout(LAB_TEST_TIMEOUT)
def test_run_all_magics_tour_in_jupyterlab(jupyter_lab: Lab, page: Any) -> None:
    _run_all(jupyter_lab, page, "04-magics-tour")
    _wait(page, ".sse-nb-server[data-published]")
    # The last cell unloads the extension: the magics' client ends CLOSED.
    _wait(page, ".sse-nb-status[data-state=CLOSED]")
    _wait(page, ".sse-nb-table .sse-nb-row")
