"""The versions pyproject.toml says it supports are tested: its lower bounds, together.

Every runtime dependency is installed at the version its lower bound names (``tornado>=6.3``
becomes ``tornado==6.3``), all in one environment built once and cached (``tests/_venvs.py``),
with the test tools beside them. The core suite (protocol, server and client tests; not the
browser or JupyterLab ones) then runs there against this checkout, from a pytest of its own.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests._venvs import BUILD_TIMEOUT, bin_path, cached_venv, clean_env

tomllib = pytest.importorskip("tomllib")  # Python 3.11+: the suite's interpreter

ROOT = Path(__file__).resolve().parent.parent
#: Seconds for the core suite in the lower-bound environment, on a loaded 2-core machine.
SUITE_TIMEOUT = 900
#: The core suite: everything below the widgets, whose tests need no browser.
CORE = ["tests/test_protocol_*.py", "tests/test_server_*.py", "tests/test_client_*.py"]
#: Tests of optional extras (``sse_nb[redis]``), whose packages the bounds above do not cover.
EXTRAS = {"tests/test_server_redis.py"}

_BOUND = re.compile(r"^([A-Za-z0-9_.-]+)\s*>=\s*([0-9][^,;\s]*)")


def lower_bounds() -> list[str]:
    """``name==lower`` for each runtime dependency of pyproject.toml."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pins = []
    for spec in project["dependencies"]:
        match = _BOUND.match(spec)
        assert match, f"{spec!r} has no lower bound: say which versions are supported"
        pins.append(f"{match[1]}=={match[2]}")
    return pins


def _test_tools() -> list[str]:
    """The test extra's tools the core suite uses, as pyproject.toml asks for them."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = ("pytest", "pytest-timeout", "hypothesis", "trio")
    return [s for s in project["optional-dependencies"]["test"] if _name(s) in wanted]


def _name(spec: str) -> str:
    return re.split(r"[<>=!~;\[ ]", spec, maxsplit=1)[0]


def test_every_runtime_dependency_has_a_lower_bound() -> None:
    assert [_name(p) for p in lower_bounds()] == [
        "tornado",
        "httpx",
        "anyio",
        "ipywidgets",
        "anywidget",
        "ipykernel",
        "ipython",
    ]


@pytest.mark.timeout(BUILD_TIMEOUT + SUITE_TIMEOUT + 60)
def test_core_suite_passes_with_every_dependency_at_its_lower_bound(tmp_path: Path) -> None:
    pins = lower_bounds()
    venv = cached_venv("lower-bounds", [*pins, *_test_tools()])
    python = str(bin_path(venv, "python"))
    installed = subprocess.run(
        [python, "-m", "pip", "freeze"], capture_output=True, text=True, check=True, timeout=60
    ).stdout.lower()
    for pin in pins:
        assert pin.lower().replace("_", "-") in installed.replace("_", "-"), pin
    env = {**clean_env(), "PYTHONPATH": str(ROOT)}
    where = subprocess.run(
        [python, "-c", "import sse_nb; print(sse_nb.__file__)"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.strip()
    assert Path(where).resolve().is_relative_to(ROOT), where  # this checkout runs
    files = sorted({str(p.relative_to(ROOT)) for pattern in CORE for p in ROOT.glob(pattern)})
    files = [f for f in files if f not in EXTRAS]
    cmd = [python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "not browser and not lab"]
    cmd += ["--basetemp", str(tmp_path / "basetemp"), *files]
    done = subprocess.run(
        cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=SUITE_TIMEOUT
    )
    assert done.returncode == 0, f"{' '.join(pins)}:\n{done.stdout[-6000:]}\n{done.stderr[-2000:]}"
