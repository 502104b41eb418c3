"""Virtual environments that tests build once and keep: other tornado versions, lower bounds.

A test that needs packages this checkout's ``.venv`` does not have (a hub's Jupyter server on
tornado 6.4, the oldest versions ``pyproject.toml`` allows) asks :func:`cached_venv` for an
environment made from a list of requirements. It lives outside the checkout, under
``${XDG_CACHE_HOME:-~/.cache}/sse_nb-tests/<name>-<digest>/``, where ``<digest>`` covers the
interpreter's version and the requirement lines, so a fresh clone (CI) reuses what an earlier
run built and a changed list builds a new one. A file lock lets one process build while the
others wait; a stamp written last marks an environment as complete, so a build cut short is
rebuilt, never used.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

__all__ = ["BUILD_TIMEOUT", "CACHE", "bin_path", "cached_venv", "clean_env"]

#: Where the environments live (outside any checkout, shared by every clone on the machine).
CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "sse_nb-tests"

#: Seconds for one environment's build: a download of Jupyter's dependencies on a slow link;
#: from pip's cache it takes well under a minute.
BUILD_TIMEOUT = 900

#: Written last into a complete environment: the digest it was built for.
_STAMP = "sse-nb-venv.sha256"


def bin_path(venv: Path, name: str) -> Path:
    """A program of the environment (``python``, ``jupyter``, ...)."""
    return venv / ("Scripts" if os.name == "nt" else "bin") / name


def clean_env() -> dict[str, str]:
    """This process's environment minus what would make another interpreter import this one's
    packages or this checkout (``PYTHONPATH``, ``VIRTUAL_ENV``)."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def cached_venv(name: str, requirements: list[str], python: str = sys.executable) -> Path:
    """An environment with ``requirements`` installed by ``python``'s ``venv`` and pip.

    ``requirements`` are pip arguments, one requirement each (``"tornado==6.4.2"``). Built on
    first use, then reused by every test run until the list (or the interpreter) changes.
    """
    version = subprocess.run(
        [python, "-c", "import sys; print(sys.version)"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.strip()
    digest = hashlib.sha256("\n".join([version, *requirements]).encode()).hexdigest()[:16]
    venv = CACHE / f"{name}-{digest}"
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / f"{name}-{digest}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        stamp = venv / _STAMP
        if stamp.exists() and stamp.read_text() == digest:
            return venv
        shutil.rmtree(venv, ignore_errors=True)
        subprocess.run([python, "-m", "venv", str(venv)], check=True, timeout=120)
        cmd = [str(bin_path(venv, "python")), "-m", "pip", "install", "-q", *requirements]
        done = subprocess.run(
            cmd, env=clean_env(), capture_output=True, text=True, timeout=BUILD_TIMEOUT
        )
        if done.returncode != 0:
            shutil.rmtree(venv, ignore_errors=True)
            raise RuntimeError(f"{' '.join(cmd)} failed:\n{done.stdout}\n{done.stderr}")
        stamp.write_text(digest)
    return venv
