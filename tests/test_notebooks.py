"""The teaching notebooks as stored: one per step of the story, each with a claim, no outputs.

English in ``notebooks/``, Chinese in ``notebooks/zh/`` with the same code cells. They are
executed by ``tests/test_binder.py``, in the environment Binder builds from
``binder/requirements.txt``; the claims and the checks of an executed notebook live in
``tests/notebook_checks.py``.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from tests.notebook_checks import CLAIMS, NOTEBOOKS, ZH, notebook_id, notebook_paths

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

#: A Chinese character: every prose cell of a translated notebook has some.
CJK = re.compile(r"[\u4e00-\u9fff]")


def code_cells(path: Path) -> list[str]:
    nb = nbformat.read(path, as_version=4)
    return [c.source for c in nb.cells if c.cell_type == "code"]


def js_blocks(markdown: str) -> list[str]:
    """The JavaScript code blocks of a Markdown cell."""
    return re.findall(r"```(?:js|javascript)\n(.*?)```", markdown, re.DOTALL)


def top_level_ready_state_checks(js: str) -> list[str]:
    """Lines of ``js`` that read ``readyState`` outside every function body.

    Such a read runs once, right after ``new EventSource(url)``, while the state is CONNECTING:
    it never sees a change. The state is worth reading in a handler (``onerror``), which runs
    when it has just changed. A ``{`` opens a function body when ``=>`` or a ``function (...)``
    head comes right before it.
    """
    code = re.sub(r"//[^\n]*|/\*.*?\*/", "", js, flags=re.DOTALL)  # comments say anything
    code = re.sub(r'"(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])*\'|`(?:\\.|[^`\\])*`', '""', code)
    bodies: list[bool] = []  # for each open brace: does it open a function body?
    found: list[str] = []
    for line in code.splitlines():
        for i, ch in enumerate(line):
            if ch == "{":
                head = line[:i].rstrip()
                bodies.append(head.endswith("=>") or bool(re.search(r"function\b[^{]*\)$", head)))
            elif ch == "}" and bodies:
                bodies.pop()
            elif line.startswith("readyState", i) and not any(bodies):
                found.append(line.strip())
    return found


def test_every_notebook_has_a_claim_in_story_order() -> None:
    assert [p.stem for p in sorted(NOTEBOOKS.glob("*.ipynb"))] == ORDER == list(CLAIMS)


def test_every_notebook_has_a_chinese_translation_with_the_same_code() -> None:
    assert [p.stem for p in sorted(ZH.glob("*.ipynb"))] == ORDER
    for stem in ORDER:
        en, zh = NOTEBOOKS / f"{stem}.ipynb", ZH / f"{stem}.ipynb"
        assert code_cells(zh) == code_cells(en), f"the code of zh/{stem} drifted from {stem}"


@pytest.mark.parametrize("stem", ORDER)
def test_chinese_notebook_translates_every_prose_cell(stem: str) -> None:
    en = nbformat.read(NOTEBOOKS / f"{stem}.ipynb", as_version=4)
    zh = nbformat.read(ZH / f"{stem}.ipynb", as_version=4)
    assert [c.cell_type for c in zh.cells] == [c.cell_type for c in en.cells]
    for cell in zh.cells:
        if cell.cell_type == "markdown":
            assert CJK.search(cell.source), cell.source[:80]


@pytest.mark.parametrize("path", notebook_paths(), ids=notebook_id)
def test_notebook_is_stored_without_outputs(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, cell.source[:60]


@pytest.mark.parametrize("path", notebook_paths(), ids=notebook_id)
def test_notebook_credits_the_article_and_ends_with_an_assert(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    assert ARTICLE_URL in nb.cells[0].source
    code = [c.source for c in nb.cells if c.cell_type == "code"]
    checks = [src for src in code if re.search(r"^assert ", src, re.MULTILINE)]
    assert checks, "no cell checks the claim"
    # The check is the summary: after it, at most a clean-up cell that prints nothing.
    after = code[code.index(checks[-1]) + 1 :]
    assert all("print(" not in src for src in after), after


@pytest.mark.parametrize("path", notebook_paths(), ids=notebook_id)
def test_event_source_snippets_read_ready_state_only_in_a_handler(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for js in js_blocks(cell.source):
                if "EventSource" in js:
                    assert top_level_ready_state_checks(js) == [], js


@pytest.mark.parametrize("path", notebook_paths(), ids=notebook_id)
def test_notebook_waits_with_the_package_helper_never_with_sleep(path: Path) -> None:
    code = "\n".join(code_cells(path))
    assert re.search(r"^from sse_nb\.lab import .*\bwait_until\b", code, re.MULTILINE)
    assert not re.search(r"^\s*def wait_until\b", code, re.MULTILINE), "a copied helper"
    assert "sleep(" not in code


def test_a_top_level_ready_state_check_is_caught() -> None:
    snippet = """
        const source = new EventSource("/sse");
        source.onmessage = (event) => { show(event.data); };
        if (source.readyState === EventSource.CLOSED) { reconnect(); }
    """
    assert top_level_ready_state_checks(snippet) == [
        "if (source.readyState === EventSource.CLOSED) { reconnect(); }"
    ]


def test_a_ready_state_check_in_a_handler_passes() -> None:
    snippet = """
        const source = new EventSource("/sse");
        source.onerror = () => {
          if (source.readyState === EventSource.CLOSED) { show("gave up"); }  // readyState
        };
        source.addEventListener("error", function (event) {
          console.log(source.readyState, "readyState");
        });
    """
    assert top_level_ready_state_checks(snippet) == []
