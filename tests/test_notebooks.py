"""The teaching notebooks as stored: one per step of the story, each with a claim, no outputs.

They are executed by ``tests/test_binder.py``, in the environment Binder builds from
``binder/requirements.txt``; the claims and the checks of an executed notebook live in
``tests/notebook_checks.py``.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from tests.notebook_checks import CLAIMS, notebook_paths

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
