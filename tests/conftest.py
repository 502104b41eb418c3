"""Shared test fixtures: waiting on conditions, started servers, and a headless Chromium."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from IPython.core.interactiveshell import InteractiveShell
    from odd_server import OddServer

    from sse_nb.server import EventServer

CHROMIUM = os.environ.get("SSE_NB_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def wait_until(
    predicate: Callable[[], Any], timeout: float = 10.0, interval: float = 0.01, what: str = ""
) -> Any:
    """Poll ``predicate`` until it returns something truthy; fail the test after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what or predicate}")
        time.sleep(interval)


#: What a test's server is unless it says otherwise: no heartbeats, so a test that reads the
#: stream sees events only (tests that need heartbeats ask for them).
SERVER_DEFAULTS: dict[str, Any] = {"heartbeat": None}


@pytest.fixture()
def serve() -> Iterator[Callable[..., EventServer]]:
    """``serve(**options)`` starts an ``EventServer`` on a free 127.0.0.1 port.

    Options are ``EventServer``'s keywords over :data:`SERVER_DEFAULTS`; every server started
    is closed (stopped, its log released) when the test ends.
    """
    from sse_nb.server import EventServer

    started: list[EventServer] = []

    def start(**options: Any) -> EventServer:
        server = EventServer(**{**SERVER_DEFAULTS, **options}).start()
        started.append(server)
        return server

    try:
        yield start
    finally:
        for server in reversed(started):
            server.close()


@pytest.fixture()
def server(request: pytest.FixtureRequest, serve: Callable[..., EventServer]) -> EventServer:
    """One started server; a module or test sets its options with ``@pytest.mark.server(...)``."""
    marker = request.node.get_closest_marker("server")
    return serve(**(marker.kwargs if marker else {}))


@pytest.fixture()
def odd() -> Iterator[OddServer]:
    """A server of odd cases for the client tests (``tests/odd_server.py``)."""
    from odd_server import odd_server

    with odd_server() as server:
        yield server


@pytest.fixture()
def shell() -> Iterator[InteractiveShell]:
    """IPython's shell with the ``%sse_*`` magics loaded (unloaded again when the test ends)."""
    from IPython.core.interactiveshell import InteractiveShell

    ip = InteractiveShell.instance()
    ip.run_line_magic("load_ext", "sse_nb")
    try:
        yield ip
    finally:
        ip.run_line_magic("unload_ext", "sse_nb")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """A headless Chromium driven by Playwright (the system's /usr/bin/chromium).

    Module scope, not session: Playwright's sync API keeps an asyncio loop running on this
    thread while it lives, and the anyio-based tests of other modules need the thread free.
    """
    if not shutil.which(CHROMIUM) and not os.path.exists(CHROMIUM):
        pytest.fail(f"Chromium not found at {CHROMIUM}; scripts/test.sh installs it")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture()
def page_origin() -> Iterator[str]:
    """Another origin on 127.0.0.1 whose ``/`` is ``tests.tornado_site.EVENTSOURCE_PAGE``."""
    from tornado_site import EVENTSOURCE_PAGE, page_origin

    with page_origin(EVENTSOURCE_PAGE) as origin:
        yield origin


@pytest.fixture()
def page(browser: Any) -> Iterator[Any]:
    ctx = browser.new_context()
    p = ctx.new_page()
    try:
        yield p
    finally:
        ctx.close()
