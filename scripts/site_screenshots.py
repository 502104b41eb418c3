"""Retake the documentation site's screenshots in docs/img/: the home page and an API page.

One command: ``.venv/bin/python scripts/site_screenshots.py`` (after ``pip install -e
".[docs,test]"``). It builds the site strictly into a temporary directory, serves it on
127.0.0.1 and shoots it with headless Chromium; requests that would leave 127.0.0.1 (the Binder
badge) are refused, so the pictures show the site as it is built here.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from playwright.sync_api import ViewportSize

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # for the browser tests' Chromium and its flags, used here too
from tests.conftest import CHROMIUM, CHROMIUM_ARGS  # noqa: E402

#: The pages shot, each with its picture: the site's path and the file under docs/img/.
SHOTS = {"": "site-home.png", "api/sse_nb/": "site-api.png"}
#: A laptop-sized window: the navigation, the page and its table of contents side by side.
VIEWPORT: ViewportSize = {"width": 1280, "height": 860}
#: How long one page may take to load and render, in ms; far above what a local page needs.
LOAD_TIMEOUT_MS = 30_000


class QuietHandler(SimpleHTTPRequestHandler):
    """Serves the built site without a log line per request."""

    def log_message(self, format: str, *args: Any) -> None:
        pass


def build(site_dir: Path) -> None:
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    mkdocs = [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet"]
    subprocess.run([*mkdocs, "--site-dir", str(site_dir)], cwd=ROOT, env=env, check=True)


def refuse_outside(route: Any) -> None:
    if urlsplit(route.request.url).hostname == "127.0.0.1":
        route.continue_()
    else:
        route.abort()


def shoot(base_url: str) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport=VIEWPORT)
            page.route("**/*", refuse_outside)
            for path, name in SHOTS.items():
                page.goto(base_url + path, wait_until="load", timeout=LOAD_TIMEOUT_MS)
                page.wait_for_selector("article h1", timeout=LOAD_TIMEOUT_MS)
                page.screenshot(path=str(ROOT / "docs" / "img" / name))
                print(f"docs/img/{name}: {base_url}{path}")
        finally:
            browser.close()


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        site_dir = Path(tmp) / "site"
        build(site_dir)
        handler = partial(QuietHandler, directory=str(site_dir))
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            shoot(f"http://127.0.0.1:{server.server_address[1]}/")
        finally:
            server.shutdown()
            server.server_close()
            thread.join(timeout=10)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
