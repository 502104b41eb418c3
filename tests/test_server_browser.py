"""A real browser against EventServer: Chromium's native EventSource receives, closes, resumes.

The page comes from a second Tornado server on another 127.0.0.1 port, so the stream is
cross-origin and the server's CORS answer is part of what is tested.
"""

from __future__ import annotations

from typing import Any

import pytest
from conftest import wait_until

from sse_nb.server import EventServer

pytestmark = pytest.mark.browser


def closed_reason(server: EventServer, client_id: str) -> str | None:
    return next((c.close_reason for c in server.clients if c.id == client_id), None)


def test_browser_eventsource_closes_then_resumes_with_every_id_once(
    page: Any, page_origin: str
) -> None:
    with EventServer(heartbeat=None, cors=[page_origin]) as server:
        page.goto(page_origin + "/")
        page.evaluate("url => window.connect(url)", server.url + "?client=tab-1")
        wait_until(lambda: page.evaluate("window.opened") == 1, what="EventSource open")
        for i in range(5):
            server.publish(f"first {i}")
        wait_until(lambda: len(page.evaluate("window.ids")) == 5, what="first five")

        page.evaluate("window.source.close()")
        # The acceptance bar: the registry shows the close within one second.
        wait_until(
            lambda: closed_reason(server, "tab-1") == "client closed",
            timeout=1.0,
            what="close seen by the server",
        )

        for i in range(5):
            server.publish(f"missed {i}")
        last = page.evaluate("window.ids[window.ids.length - 1]")
        assert last == "5"
        page.evaluate("url => window.connect(url)", f"{server.url}?client=tab-2&lastEventId={last}")
        wait_until(lambda: page.evaluate("window.opened") == 2, what="second EventSource open")
        for i in range(3):
            server.publish(f"live {i}")
        wait_until(lambda: len(page.evaluate("window.ids")) >= 13, what="all events")
        ids = page.evaluate("window.ids")
        page.evaluate("window.source.close()")

    assert ids == [str(i) for i in range(1, 14)]
    resumed = next(c for c in server.clients if c.id == "tab-2")
    assert resumed.resumed_from == "5" and resumed.gap is None


def test_browser_stops_reconnecting_when_the_channel_is_closed(page: Any, page_origin: str) -> None:
    """End of stream makes a browser reconnect; the 204 that answers it makes it stop."""
    with EventServer(heartbeat=None, retry=50, cors=[page_origin]) as server:
        page.goto(page_origin + "/")
        page.evaluate("url => window.connect(url)", server.url_for("news"))
        wait_until(lambda: page.evaluate("window.opened") == 1, what="EventSource open")
        server.close_channel("news")
        wait_until(lambda: page.evaluate("window.source.readyState") == 2, what="CLOSED")
        assert page.evaluate("window.opened") == 1


def test_browser_reconnects_by_itself_after_a_drop_and_resumes_by_header(
    page: Any, page_origin: str
) -> None:
    """The whole story: drop, the browser reconnects with Last-Event-ID, nothing lost or twice."""
    with EventServer(heartbeat=None, retry=100, cors=[page_origin]) as server:
        page.goto(page_origin + "/")
        page.evaluate("url => window.connect(url)", server.url)
        wait_until(lambda: page.evaluate("window.opened") == 1, what="EventSource open")
        for i in range(3):
            server.publish(f"before {i}")
        wait_until(lambda: len(page.evaluate("window.ids")) == 3, what="first three")
        assert server.disconnect() == 1
        for i in range(3):
            server.publish(f"while away {i}")
        wait_until(lambda: page.evaluate("window.opened") == 2, what="reconnected")
        server.publish("after")
        wait_until(lambda: len(page.evaluate("window.ids")) >= 7, what="all seven")
        ids = page.evaluate("window.ids")
        page.evaluate("window.source.close()")
    assert ids == [str(i) for i in range(1, 8)]
    first, second = server.clients[:2]
    assert first.close_reason == "dropped by server"
    assert second.resumed_from == "3" and second.gap is None
