"""The README's Python example runs as written."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def test_readme_story_example_runs_and_loses_nothing() -> None:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## The story in a dozen lines") :]
    code = re.search(r"```python\n(.*?)```", section, re.S)
    assert code is not None
    namespace: dict[str, object] = {"print": lambda *a: None}
    exec(compile(code.group(1), str(README), "exec"), namespace)
    es = namespace["es"]
    data = [r.event.data for r in es.history]  # type: ignore[attr-defined]
    assert data == ['{"n": 1}', "while away 0", "while away 1", "while away 2"]
    es.close()  # type: ignore[attr-defined]
