"""The README's first command opens the notebooks, root in a container included.

From a fresh clone of this repository (its committed state), the launch part of the README's
first command (``JUPYTER_CONFIG_PATH=etc/jupyter .venv/bin/jupyter lab notebooks/``) runs as
written, in the clone. ``.venv`` is the environment the command's first two steps make
(``python3 -m venv .venv && .venv/bin/pip install ".[lab]"``): the same requirements, built once
and cached (``tests/_venvs.py``), linked into the clone. The port, token and Jupyter's own
directories come from the environment variables Jupyter reads, so the command's text is not
changed. The server must answer and notebook 01 must open in Chromium; when the test runs as
root, the same launch without the repository's configuration must still be refused, so the
permission reaches no further than the command.
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests._venvs import BUILD_TIMEOUT, cached_venv, clean_env
from tests.lab import LAB_START_TIMEOUT, LAB_STOP_TIMEOUT, NOTEBOOK_TIMEOUT, private_dirs
from tests.processes import free_port, stop_process

tomllib = pytest.importorskip("tomllib")  # Python 3.11+: the suite's interpreter

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"

pytestmark = [pytest.mark.lab, pytest.mark.timeout(BUILD_TIMEOUT + LAB_START_TIMEOUT + 120)]


def readme_first_command() -> list[str]:
    """The README's first shell command, split at ``&&``, its trailing comment removed."""
    text = README.read_text(encoding="utf-8")
    block = re.search(r"```bash\n(.*?)```", text, re.S)
    assert block is not None, "the README opens with a bash block"
    line = block.group(1).splitlines()[0].split("  #", 1)[0].strip()
    return [part.strip() for part in line.split("&&")]


def _lab_requirements() -> list[str]:
    """What ``pip install ".[lab]"`` installs besides the package itself."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return [*project["dependencies"], *project["optional-dependencies"]["lab"]]


class Launch:
    """The launch part of the README's command, running in a clone."""

    def __init__(self, clone: Path, command: str, tmp: Path) -> None:
        self.port = free_port()
        self.token = secrets.token_hex(16)
        self.url = f"http://127.0.0.1:{self.port}/"
        env = clean_env()
        env.update({name: str(d) for name, d in private_dirs(tmp).items()})
        env.pop("JUPYTER_CONFIG_PATH", None)
        # Read by Jupyter Server itself: where to listen, the token, no browser to open.
        env.update(JUPYTER_PORT=str(self.port), JUPYTER_TOKEN=self.token, BROWSER="true")
        self.log_path = tmp / "jupyter.log"
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                ["bash", "-c", command], cwd=clone, env=env, stdout=log, stderr=subprocess.STDOUT
            )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_answering(self) -> None:
        deadline = time.monotonic() + LAB_START_TIMEOUT
        req = urllib.request.Request(
            self.url + "api/status", headers={"Authorization": f"token {self.token}"}
        )
        while True:
            assert self.process.poll() is None, f"jupyter exited:\n{self.log()[-4000:]}"
            try:
                with urllib.request.urlopen(req, timeout=5) as resp:
                    assert resp.status == 200
                    return
            except (urllib.error.URLError, ConnectionError, OSError):
                assert time.monotonic() < deadline, f"no answer:\n{self.log()[-4000:]}"
                time.sleep(0.2)  # polling a starting process: there is no event to wait on

    def wait_exit(self) -> int:
        return self.process.wait(LAB_START_TIMEOUT)

    def stop(self) -> None:
        stop_process(self.process, LAB_STOP_TIMEOUT)


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh clone with ``.venv`` made as the command's first two steps would make it."""
    where = tmp_path_factory.mktemp("clone") / "sse_nb"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(where)], check=True, timeout=120)
    venv = cached_venv("readme-lab", _lab_requirements())
    (where / ".venv").symlink_to(venv, target_is_directory=True)
    return where


@pytest.fixture()
def launch(clone: Path, tmp_path: Path) -> Iterator[list[Launch]]:
    started: list[Launch] = []
    try:
        yield started
    finally:
        for one in started:
            one.stop()


def test_readme_first_command_is_venv_install_then_launch() -> None:
    venv, install, run = readme_first_command()
    assert venv == "python3 -m venv .venv"
    assert install == '.venv/bin/pip install ".[lab]"'
    assert run == "JUPYTER_CONFIG_PATH=etc/jupyter .venv/bin/jupyter lab notebooks/"


@pytest.mark.browser
def test_readme_command_serves_the_notebooks_and_opens_notebook_01(
    clone: Path, launch: list[Launch], tmp_path: Path, page: Any
) -> None:
    run = readme_first_command()[2]
    lab = Launch(clone, run, tmp_path)
    launch.append(lab)
    lab.wait_answering()
    assert "Running as root is not recommended" not in lab.log()
    page.goto(f"{lab.url}lab/tree/01-manual-close.ipynb?token={lab.token}")
    page.wait_for_selector(
        ".jp-Notebook .jp-MarkdownCell h1:has-text('A client closes the connection')",
        state="attached",
        timeout=NOTEBOOK_TIMEOUT,
    )
    assert page.locator(".jp-Notebook .jp-CodeCell").count() > 3


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root")
def test_as_root_jupyter_still_refuses_without_the_repository_configuration(
    clone: Path, launch: list[Launch], tmp_path: Path
) -> None:
    run = readme_first_command()[2].replace("JUPYTER_CONFIG_PATH=etc/jupyter ", "")
    lab = Launch(clone, run, tmp_path)
    launch.append(lab)
    assert lab.wait_exit() != 0
    assert "Running as root is not recommended" in lab.log()
