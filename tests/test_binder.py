"""Binder's environment, built from binder/requirements.txt alone, runs every notebook.

The environment is a virtual environment made from that file only (the ``.`` line installs this
checkout as a package, not in editable mode), cached outside the checkout (``tests/_venvs.py``'s
``CACHE``, named after a digest of binder/) and rebuilt when the requirements change; the
package itself is reinstalled whenever its files change, so it is never stale. The kernels,
JupyterLab and Notebook 7 run from it, in a temporary directory, with no ``PYTHONPATH``: what
they import is what Binder would have installed.

1. nbclient executes each notebook headless (no browser), as the environment's own
   ``jupyter execute`` would: under ``NOTEBOOK_LIMIT`` seconds, ending with its claim.
2. JupyterLab, then Notebook 7, from the environment, served under a hub's base URL
   (``/user/student/``) and opened from a host name that is not the kernel's (``hub.test``,
   mapped to 127.0.0.1 by the browser), run notebooks 01 and 04 with *Run All* in headless
   Chromium. So the browser widget takes the proxy route (``<base>proxy/<port>/``), as on Binder
   and every hub; the DOM must show that route, the close (01) and the browser's two resumes
   (04). JupyterLab's screenshots go to ``docs/img/notebook-*.png`` when
   ``SSE_NB_SCREENSHOTS=1``, else to a temporary directory.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest
from conftest import CHROMIUM, CHROMIUM_ARGS

from tests._venvs import CACHE
from tests.lab import HUB_BASE_URL, HUB_HOST, Lab, browser_args, start_lab, stop_lab
from tests.notebook_checks import CLAIMS, NOTEBOOKS, ZH, check_executed, notebook_id, notebook_paths

ROOT = Path(__file__).resolve().parent.parent
BINDER = ROOT / "binder"
#: The cached environment, when set; else one under ``CACHE`` per version of binder/.
VENV = Path(os.environ["SSE_NB_BINDER_VENV"]) if os.environ.get("SSE_NB_BINDER_VENV") else None
#: Written into the environment once it is complete: a digest of what it was built from.
STAMP = "binder-requirements.sha256"
#: Written after each install of the package: a digest of its files at that time.
PACKAGE_STAMP = "sse-nb-package.sha256"

#: Seconds to build the environment: a fresh download of JupyterLab and its dependencies on a
#: slow link; with pip's cache it takes under a minute.
BUILD_TIMEOUT = 900
#: Seconds one notebook may take, top to bottom (the issue's budget for a Binder session).
NOTEBOOK_LIMIT = 60
#: Seconds for the runner process around one notebook: the budget plus interpreter and kernel
#: start-up on a loaded 2-core machine.
RUNNER_TIMEOUT = NOTEBOOK_LIMIT + 60
#: Milliseconds for a Run All to print its summary, lab and machine both loaded.
RUN_ALL_TIMEOUT = 120_000
#: Milliseconds for the browser's side of a notebook to play out after Run All.
STORY_TIMEOUT = 90_000
#: Milliseconds for one widget to show a change in the DOM.
DOM_TIMEOUT = 30_000
#: Seconds for one Run All test, JupyterLab's start included.
LAB_TEST_TIMEOUT = 400

#: Where the screenshots go: docs/img/ when ``SSE_NB_SCREENSHOTS=1``, else a temporary directory.
IMG = ROOT / "docs" / "img"

#: Runs in the environment's interpreter: execute one notebook, save it with its duration.
RUNNER = """
import sys, time
import nbformat
from nbclient import NotebookClient
src, dst, cell_timeout = sys.argv[1], sys.argv[2], int(sys.argv[3])
nb = nbformat.read(src, as_version=4)
start = time.monotonic()
NotebookClient(nb, timeout=cell_timeout, kernel_name="python3", allow_errors=True).execute()
nb.metadata["sse_nb_seconds"] = time.monotonic() - start
nbformat.write(nb, dst)
"""


def _digest(files: list[Path]) -> str:
    h = hashlib.sha256()
    for f in files:
        h.update(str(f.relative_to(ROOT)).encode() + b"\0" + f.read_bytes())
    return h.hexdigest()


def _requirements() -> list[Path]:
    return [BINDER / "requirements.txt", BINDER / "runtime.txt"]


def _package_files() -> list[Path]:
    """What the "." line installs: the package's files and its build configuration."""
    files = [p for p in sorted((ROOT / "sse_nb").rglob("*")) if p.is_file()]
    return [ROOT / "pyproject.toml", *(p for p in files if "__pycache__" not in p.parts)]


def _runtime_python() -> str:
    """The interpreter runtime.txt asks for, when this machine has it; else this one."""
    wanted = (BINDER / "runtime.txt").read_text().strip().removeprefix("python-")
    return shutil.which(f"python{wanted}") or sys.executable


def _bin(venv: Path, name: str) -> Path:
    return venv / ("Scripts" if os.name == "nt" else "bin") / name


def _clean_env() -> dict[str, str]:
    """This process's environment minus what would let the checkout leak into the venv's."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def _pip(venv: Path, *args: str) -> None:
    cmd = [str(_bin(venv, "python")), "-m", "pip", "install", "-q", *args]
    done = subprocess.run(
        cmd, cwd=ROOT, env=_clean_env(), capture_output=True, text=True, timeout=BUILD_TIMEOUT
    )
    assert done.returncode == 0, f"{' '.join(cmd)} failed:\n{done.stdout}\n{done.stderr}"


def build_binder_env(venv: Path | None = VENV) -> Path:
    """The environment Binder would build; reuse the cached one when the requirements match.

    One build at a time (a lock file beside it): several test runs, from several clones, may
    share it. The package is reinstalled whenever its files changed since the last install.
    """
    requirements, package = _digest(_requirements()), _digest(_package_files())
    if venv is None:
        venv = CACHE / f"binder-{requirements[:16]}"
    CACHE.mkdir(parents=True, exist_ok=True)
    key = hashlib.sha256(str(venv.resolve()).encode()).hexdigest()[:16]
    with open(CACHE / f"binder-{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        stamp, package_stamp = venv / STAMP, venv / PACKAGE_STAMP
        if not (stamp.exists() and stamp.read_text() == requirements):
            shutil.rmtree(venv, ignore_errors=True)
            subprocess.run([_runtime_python(), "-m", "venv", str(venv)], check=True, timeout=120)
            _pip(venv, "-r", str(BINDER / "requirements.txt"))  # pip resolves "." from ROOT
            stamp.write_text(requirements)
            package_stamp.write_text(package)
        elif not (package_stamp.exists() and package_stamp.read_text() == package):
            _pip(venv, "--no-deps", "--force-reinstall", ".")
            package_stamp.write_text(package)
    return venv


@pytest.fixture(scope="module")
def binder_env() -> Path:
    return build_binder_env()


@pytest.mark.timeout(BUILD_TIMEOUT + 60)
def test_binder_env_imports_the_installed_package_not_the_checkout(binder_env: Path) -> None:
    code = "import sse_nb, jupyter_server_proxy, jupyterlab; print(sse_nb.__file__)"
    out = subprocess.run(
        [str(_bin(binder_env, "python")), "-c", code],
        cwd=binder_env,
        env=_clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.strip()
    assert Path(out).resolve().is_relative_to(binder_env.resolve()), out


def test_requirements_pin_every_line_but_the_package_itself() -> None:
    lines = [
        line.strip()
        for line in (BINDER / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    assert lines[0] == "."
    for line in lines[1:]:
        assert "==" in line, f"not pinned: {line}"
    proxy = next(line for line in lines if line.startswith("jupyter-server-proxy=="))
    major, minor = (int(x) for x in proxy.split("==")[1].split(".")[:2])
    assert (major, minor) >= (4, 4), proxy
    assert (BINDER / "runtime.txt").read_text().strip().startswith("python-3.")


@pytest.mark.timeout(BUILD_TIMEOUT + RUNNER_TIMEOUT)
@pytest.mark.parametrize("path", notebook_paths(), ids=notebook_id)
def test_notebook_runs_headless_in_the_binder_env(
    binder_env: Path, path: Path, tmp_path: Path
) -> None:
    work = tmp_path / "work"  # the kernel's directory: outside the checkout
    work.mkdir()
    out = tmp_path / path.name
    cmd = [str(_bin(binder_env, "python")), "-c", RUNNER, str(path), str(out), str(NOTEBOOK_LIMIT)]
    done = subprocess.run(
        cmd, cwd=work, env=_clean_env(), capture_output=True, text=True, timeout=RUNNER_TIMEOUT
    )
    assert done.returncode == 0, done.stderr[-4000:]
    nb = nbformat.read(out, as_version=4)
    check_executed(nb, path.stem)
    assert nb.metadata["sse_nb_seconds"] < NOTEBOOK_LIMIT, nb.metadata["sse_nb_seconds"]


# -- JupyterLab from the binder environment: Run All in headless Chromium ------------------------


@pytest.fixture(scope="module")
def binder_ui(
    request: pytest.FixtureRequest, binder_env: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Lab]:
    """JupyterLab or Notebook 7 from the binder environment, as a hub serves a user's server.

    Which one is the test's parameter (``UI_LANGS``); each starts once per module.
    """
    lab = start_lab(
        tmp_path_factory.mktemp(f"binder-{request.param}"),
        python=str(_bin(binder_env, "python")),
        base_env=_clean_env(),
        app=request.param,
        base_url=HUB_BASE_URL,
        page_host=HUB_HOST,
    )
    try:
        yield lab
    finally:
        stop_lab(lab)


@pytest.fixture(scope="module")
def hub_browser(binder_ui: Lab) -> Iterator[Any]:
    """Chromium that reaches ``binder_ui`` as ``http://hub.test:PORT/user/student/``."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        args = [*CHROMIUM_ARGS, *browser_args(binder_ui.port)]
        b = pw.chromium.launch(executable_path=CHROMIUM, args=args, headless=True)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture()
def page(hub_browser: Any) -> Iterator[Any]:
    ctx = hub_browser.new_context()
    p = ctx.new_page()
    try:
        yield p
    finally:
        ctx.close()


@pytest.fixture()
def img(binder_ui: Lab, tmp_path: Path) -> Path:
    """Where JupyterLab's screenshots go (Notebook 7's stay in a temporary directory)."""
    screenshots = os.environ.get("SSE_NB_SCREENSHOTS") == "1" and binder_ui.app == "jupyterlab"
    return IMG if screenshots else tmp_path


#: The notebooks' languages: where each set lives, and the suffix of its screenshots.
LANGS = {"en": (NOTEBOOKS, ""), "zh": (ZH, "-zh")}

#: The front end (``binder_ui``) and the notebooks' language of each Run All test. JupyterLab
#: runs both languages; Notebook 7 the English notebooks only: the languages differ in text,
#: not in route, and a pair that is not generated costs no skip in every run.
UI_LANGS = [
    pytest.param("jupyterlab", "en", id="lab-en"),
    pytest.param("jupyterlab", "zh", id="lab-zh"),
    pytest.param("notebook", "en", id="notebook7-en"),
]
#: One JupyterLab (or Notebook 7) per module, shared by every test that runs in it.
each_ui_and_lang = pytest.mark.parametrize(
    ("binder_ui", "lang"), UI_LANGS, indirect=["binder_ui"], scope="module"
)


def _run_all(lab: Lab, page: Any, stem: str, lang: str = "en") -> None:
    """Open a copy of the notebook, Run All, wait for its summary; no stderr."""
    name = f"{stem}{LANGS[lang][1]}.ipynb"  # each language in its own kernel
    (lab.root / name).write_text((LANGS[lang][0] / f"{stem}.ipynb").read_text())
    page.set_viewport_size({"width": 1400, "height": 1000})
    lab.open_notebook(page, name)
    lab.run_all(page)
    claim = CLAIMS[stem].split(r"\n")[-1]
    page.wait_for_function(
        """(claim) => [...document.querySelectorAll('.jp-OutputArea-output')]
                         .some((o) => new RegExp(claim, 'm').test(o.innerText.trim()))""",
        arg=claim,
        timeout=RUN_ALL_TIMEOUT,
    )
    _assert_nothing_on_stderr(page)


def _assert_nothing_on_stderr(page: Any) -> None:
    """No cell printed a warning or an error (what a thread prints lands in a cell too)."""
    outputs = ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.{}']"
    assert page.locator(outputs.format("stderr")).all_inner_texts() == []
    assert page.locator(outputs.format("error")).count() == 0


def _wait(page: Any, selector: str, timeout: int = DOM_TIMEOUT) -> None:
    page.wait_for_selector(selector, state="attached", timeout=timeout)


def _assert_proxy_route(page: Any) -> None:
    """Every browser widget took the proxy route, under the hub's base URL."""
    widgets = page.locator(".sse-nb-browser")
    assert widgets.count() >= 1
    for i in range(widgets.count()):
        widget = widgets.nth(i)
        assert widget.get_attribute("data-route") == "proxy"
        url = widget.locator(".sse-nb-url").inner_text()
        assert f"{HUB_BASE_URL}proxy/" in url, url


def _published(page: Any) -> int:
    return int(page.locator(".sse-nb-server").first.get_attribute("data-published") or 0)


@pytest.mark.lab
@pytest.mark.browser
@pytest.mark.timeout(BUILD_TIMEOUT + LAB_TEST_TIMEOUT)
@each_ui_and_lang
def test_run_all_manual_close_shows_the_close_and_the_loss(
    binder_ui: Lab, page: Any, img: Path, lang: str
) -> None:
    _run_all(binder_ui, page, "01-manual-close", lang)
    _wait(page, ".sse-nb-status[data-state=CLOSED]")  # the Python client, closed by a cell
    # The browser's client comes alive after the last cell and receives the ticker's events.
    _wait(page, ".sse-nb-browser[data-state=OPEN]", STORY_TIMEOUT)
    _assert_proxy_route(page)
    browser = page.locator(".sse-nb-browser").first
    page.wait_for_function(
        "() => +document.querySelector('.sse-nb-browser').dataset.received >= 2",
        timeout=DOM_TIMEOUT,
    )
    # Its Close button: the browser's source.close(); the server goes on publishing.
    browser.locator(".sse-nb-close").click()
    _wait(page, ".sse-nb-browser[data-state=CLOSED]")
    last = int(browser.get_attribute("data-last-id") or 0)
    page.wait_for_function(
        "(last) => +document.querySelector('.sse-nb-server').dataset.published >= last + 3",
        arg=last,
        timeout=DOM_TIMEOUT,
    )
    assert int(browser.get_attribute("data-last-id") or 0) == last
    assert _published(page) >= last + 3
    _assert_nothing_on_stderr(page)
    browser.evaluate("(el) => el.scrollIntoView({block: 'center'})")
    page.screenshot(path=str(img / f"notebook-01{LANGS[lang][1]}.png"))


@pytest.mark.lab
@pytest.mark.browser
@pytest.mark.timeout(BUILD_TIMEOUT + LAB_TEST_TIMEOUT)
@each_ui_and_lang
def test_run_all_browser_eventsource_shows_both_resumes(
    binder_ui: Lab, page: Any, img: Path, lang: str
) -> None:
    _run_all(binder_ui, page, "04-browser-eventsource", lang)
    # The browser's story plays out after Run All; its last line is the verdict.
    verdict = page.locator(".widget-html", has_text="the browser's story:")
    verdict.wait_for(state="attached", timeout=STORY_TIMEOUT)
    text = verdict.inner_text()
    assert "(Last-Event-ID header)" in text and "(?lastEventId=)" in text, text
    assert text.rstrip().endswith("lost: 0, duplicated: 0"), text
    _wait(page, ".sse-nb-browser[data-state=OPEN]")
    _assert_proxy_route(page)
    # The server's timeline: the browser's first connection resumed by itself after the drop,
    # its second one resumed from the id in its URL.
    page.wait_for_function(
        """() => (document.querySelector('.sse-nb-timeline[data-kind=server]')
                  ?.dataset.marks.match(/resume/g) || []).length >= 4""",
        timeout=DOM_TIMEOUT,
    )
    _assert_nothing_on_stderr(page)
    page.set_viewport_size({"width": 1400, "height": 1300})  # the widget and the timeline
    page.locator(".sse-nb-browser").first.evaluate("(el) => el.scrollIntoView({block: 'start'})")
    page.screenshot(path=str(img / f"notebook-04{LANGS[lang][1]}.png"))
