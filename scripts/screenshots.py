"""Retake the screenshots in docs/img/ (each widget and lab tool, two notebooks) from a real Lab.

One command: ``.venv/bin/python scripts/screenshots.py``. It runs the browser tests of the
widgets, the lab tools, the doctor and the Binder notebooks with ``SSE_NB_SCREENSHOTS=1``, so
the pictures show the state those tests leave behind (a close, a drop, resumes, a hostile string
shown as text).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    env = {**os.environ, "SSE_NB_SCREENSHOTS": "1"}
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        str(ROOT / "tests" / "test_lab_widgets.py"),
        str(ROOT / "tests" / "test_lab_bench.py"),
        str(ROOT / "tests" / "test_lab_doctor.py"),
        str(ROOT / "tests" / "test_binder.py"),
    ]
    return subprocess.call(cmd, cwd=ROOT, env=env)


if __name__ == "__main__":
    raise SystemExit(main())
