"""A private Jupyter server for browser tests: JupyterLab, Notebook 7 or a bare Jupyter Server.

Usage in a test module::

    from tests.lab import Lab, lab  # noqa: F401  (the fixture)

    def test_something(lab: Lab, page) -> None:
        lab.run_notebook(page, "demo.ipynb", ["x = 1", "display(widget)"])
        page.wait_for_selector("[data-state=OPEN]")
        assert lab.execute(page, "print(x)") == "1\\n"

The server runs from ``sys.executable``'s environment (or another one's interpreter) with its own
config, runtime, settings and workspace directories under a temporary directory, so a
developer's own Jupyter setup plays no part. It binds 127.0.0.1 with a random token. It may be
served under a base URL (``/user/student/``, as a hub does) and opened from another host name
(``page_host``): the browser maps that name to 127.0.0.1 (:data:`HUB_HOST`,
:func:`browser_args`), so a page sees the address a hub's user sees while no byte leaves the
machine. Tests wait on what the notebook's widgets write into the DOM, never on the kernel's
busy/idle indicator; :meth:`Lab.execute` runs more code in the notebook's kernel from the page
while the widgets stay live.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.processes import free_port, stop_process, wait_serving

__all__ = [
    "APPS",
    "HUB_BASE_URL",
    "HUB_HOST",
    "LAB_START_TIMEOUT",
    "LAB_STOP_TIMEOUT",
    "NOTEBOOK_TIMEOUT",
    "Lab",
    "browser_args",
    "lab",
    "private_dirs",
    "start_lab",
    "stop_lab",
]

#: Seconds for ``jupyter lab`` to answer /api/status: it imports a lot on a loaded 2-core box.
LAB_START_TIMEOUT = 90.0
#: Seconds the Jupyter server gets to shut its kernels down and exit after SIGTERM.
LAB_STOP_TIMEOUT = 15.0

#: Milliseconds for the notebook page to load and its kernel to be ready.
NOTEBOOK_TIMEOUT = 60_000

#: Milliseconds for one ``execute`` round trip through the page.
EXECUTE_TIMEOUT = 30_000

#: Settings that keep the page quiet and every cell in the DOM (no windowed notebook).
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
}


#: The servers :func:`start_lab` starts: module run with ``python -m``, the class whose
#: ``expose_app_in_browser`` puts the app on ``window.jupyterapp`` (none for a bare server).
APPS = {
    "jupyterlab": ("jupyterlab", "LabApp"),
    "notebook": ("notebook", "JupyterNotebookApp"),
    "jupyter_server": ("jupyter_server", None),
}

#: A host name a page can be opened from that is not loopback, so a widget choosing its route
#: by the page's host takes the proxy route as on a hub. ``.test`` is reserved (RFC 6761): it
#: never resolves on a network; Chromium maps it to 127.0.0.1 (:func:`browser_args`).
HUB_HOST = "hub.test"

#: The base URL a JupyterHub serves a user's server under.
HUB_BASE_URL = "/user/student/"


def browser_args(port: int | None = None) -> list[str]:
    """Chromium flags that make :data:`HUB_HOST` reach 127.0.0.1; with ``port``, that origin
    also counts as secure (as a hub's https origin would)."""
    args = [f"--host-resolver-rules=MAP {HUB_HOST} 127.0.0.1"]
    if port is not None:
        args.append(f"--unsafely-treat-insecure-origin-as-secure=http://{HUB_HOST}:{port}")
    return args


def private_dirs(tmp: Path) -> dict[str, Path]:
    """Jupyter's and IPython's directories under ``tmp``, by the variable that names each.

    Made, with :data:`LAB_SETTINGS` written: a server started with them reads nothing of the
    user's and leaves nothing behind.
    """
    dirs = {
        name: tmp / sub
        for name, sub in (
            ("JUPYTER_CONFIG_DIR", "config"),
            ("JUPYTER_RUNTIME_DIR", "runtime"),
            ("JUPYTERLAB_SETTINGS_DIR", "settings"),
            ("JUPYTERLAB_WORKSPACES_DIR", "workspaces"),
            ("IPYTHONDIR", "ipython"),
        )
    }
    for d in dirs.values():
        d.mkdir(parents=True, exist_ok=True)
    for rel, value in LAB_SETTINGS.items():
        f = dirs["JUPYTERLAB_SETTINGS_DIR"] / rel
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(json.dumps(value))
    return dirs


@dataclass
class Lab:
    """A running Jupyter server and the helpers to drive notebooks in it."""

    url: str  # "http://127.0.0.1:PORT<base_url>": what Python talks to
    token: str
    root: Path  # the server's root_dir: notebooks are written here
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path
    app: str = "jupyterlab"
    base_url: str = "/"
    page_url: str = ""  # "http://<page_host>:PORT<base_url>": what the browser opens

    def __post_init__(self) -> None:
        self.page_url = self.page_url or self.url

    def log_tail(self, chars: int = 4000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:]

    def api(self, path: str) -> Any:
        """GET a JSON endpoint of the server (with the token)."""
        auth = {"Authorization": f"token {self.token}"}
        req = urllib.request.Request(self.url + path, headers=auth)
        with urllib.request.urlopen(req, timeout=10) as resp:
            return json.loads(resp.read() or b"null")

    def write_notebook(self, name: str, cells: list[str]) -> Path:
        """Write a notebook of code cells (Python 3 kernel) under the root."""
        nb = {
            "nbformat": 4,
            "nbformat_minor": 5,
            "metadata": {
                "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
                "language_info": {"name": "python"},
            },
            "cells": [
                {
                    "cell_type": "code",
                    "id": f"cell-{i}",
                    "metadata": {},
                    "execution_count": None,
                    "outputs": [],
                    "source": src,
                }
                for i, src in enumerate(cells)
            ],
        }
        path = self.root / name
        path.write_text(json.dumps(nb, indent=1))
        return path

    def open_notebook(self, page: Any, name: str) -> None:
        """Open ``name`` in a fresh workspace and wait until its kernel is ready."""
        if self.app == "notebook":
            page.goto(f"{self.page_url}notebooks/{name}?token={self.token}")
        else:
            page.goto(f"{self.page_url}lab/tree/{name}?reset&token={self.token}")
        page.wait_for_function(
            """(name) => {
                const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
                return !!(w && w.context && w.context.path === name && w.sessionContext
                          && w.sessionContext.session && w.sessionContext.session.kernel);
            }""",
            arg=name,
            timeout=NOTEBOOK_TIMEOUT,
        )
        page.evaluate(
            """async () => {
                const w = window.jupyterapp.shell.currentWidget;
                await w.context.ready;
                await w.sessionContext.ready;
            }"""
        )

    def run_all(self, page: Any) -> None:
        """Start running every cell; returns at once (wait on the DOM for results)."""
        page.evaluate("""() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }""")

    def run_notebook(self, page: Any, name: str, cells: list[str]) -> None:
        """Write, open and run a notebook."""
        self.write_notebook(name, cells)
        self.open_notebook(page, name)
        self.run_all(page)

    def start_execute(self, page: Any, code: str) -> None:
        """Start running ``code`` in the kernel and return at once (a cell that blocks).

        ``window.__labExecuteDone`` becomes true in the page when it has finished.
        """
        page.evaluate(
            """(code) => {
                window.__labExecuteDone = false;
                const w = window.jupyterapp.shell.currentWidget;
                const future = w.sessionContext.session.kernel.requestExecute(
                    {code, store_history: false});
                future.done.finally(() => { window.__labExecuteDone = true; });
            }""",
            code,
        )

    def execute(self, page: Any, code: str, timeout: int = EXECUTE_TIMEOUT) -> str:
        """Run ``code`` in the open notebook's kernel; return its printed output.

        Raises ``AssertionError`` with the kernel's error when the code fails.
        """
        result = page.evaluate(
            """async ([code, timeout]) => {
                const w = window.jupyterapp.shell.currentWidget;
                const kernel = w.sessionContext.session.kernel;
                const future = kernel.requestExecute({code, store_history: false});
                let out = "", err = null;
                future.onIOPub = (msg) => {
                    const t = msg.header.msg_type;
                    if (t === "stream") out += msg.content.text;
                    else if (t === "execute_result") out += msg.content.data["text/plain"] + "\\n";
                    else if (t === "error") err = msg.content.ename + ": " + msg.content.evalue
                        + "\\n" + msg.content.traceback.join("\\n");
                };
                const timer = new Promise((_, reject) => setTimeout(
                    () => reject(new Error("execute timed out")), timeout));
                await Promise.race([future.done, timer]);
                return {out, err};
            }""",
            [code, timeout],
        )
        if result["err"]:
            raise AssertionError(f"kernel error running {code!r}:\n{result['err']}")
        return str(result["out"])


def start_lab(
    tmp: Path,
    python: str | None = None,
    base_env: dict[str, str] | None = None,
    *,
    app: str = "jupyterlab",
    base_url: str = "/",
    page_host: str = "127.0.0.1",
    args: tuple[str, ...] = (),
) -> Lab:
    """Start ``app`` (a key of :data:`APPS`) with private directories under ``tmp``; wait until
    it answers.

    By default it runs from this interpreter with this checkout on the kernel's path; give
    ``python`` and ``base_env`` to run it from another environment as it is installed there.
    ``base_url`` is where it serves (``/user/student/``); ``page_host`` is the host name the
    browser will use (the server accepts it as local); ``args`` go to the command line last.
    """
    if not (base_url.startswith("/") and base_url.endswith("/")):
        raise ValueError(f"base_url must start and end with '/': {base_url!r}")
    module, app_class = APPS[app]
    dirs = private_dirs(tmp)
    root = tmp / "root"
    root.mkdir(exist_ok=True)
    token = secrets.token_hex(16)
    port = free_port()
    if base_env is None:
        env = {**os.environ, **{k: str(v) for k, v in dirs.items()}}
        # The kernel must import this checkout, whatever directory the server starts in.
        repo = str(Path(__file__).resolve().parent.parent)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (repo, env.get("PYTHONPATH", "")) if p)
    else:
        env = {**base_env, **{k: str(v) for k, v in dirs.items()}}
    log_path = tmp / "lab.log"
    cmd = [
        python or sys.executable,
        "-m",
        module,
        "--no-browser",
        "--ip=127.0.0.1",
        f"--port={port}",
        "--port-retries=0",
        f"--IdentityProvider.token={token}",
        "--allow-root",
        f"--ServerApp.root_dir={root}",
        f"--ServerApp.base_url={base_url}",
    ]
    if app_class is not None:
        cmd.append(f"--{app_class}.expose_app_in_browser=True")
    if page_host != "127.0.0.1":
        # A Host header other than localhost or a loopback address is refused unless listed.
        cmd += ["--ServerApp.local_hostnames=localhost", f"--ServerApp.local_hostnames={page_host}"]
    cmd += args
    with log_path.open("wb") as log:
        proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=root)
    lab = Lab(
        f"http://127.0.0.1:{port}{base_url}",
        token,
        root,
        port,
        proc,
        log_path,
        app=app,
        base_url=base_url,
        page_url=f"http://{page_host}:{port}{base_url}",
    )

    def answers() -> bool:
        try:
            lab.api("api/status")
            return True
        except (urllib.error.URLError, ConnectionError, OSError):
            return False

    wait_serving(
        proc, answers, what="jupyter lab", timeout=LAB_START_TIMEOUT, log=lab.log_tail, interval=0.2
    )
    return lab


def stop_lab(lab: Lab) -> None:
    stop_process(lab.process, LAB_STOP_TIMEOUT)


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """One JupyterLab per test module."""
    server = start_lab(tmp_path_factory.mktemp("lab"))
    try:
        yield server
    finally:
        stop_lab(server)
