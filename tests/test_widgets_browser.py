"""BrowserEventSource, Python side: route choice, urls given to the page, what the server is told.

The page's part (the native EventSource) is tested in Chromium in ``test_lab_widgets.py``; here
the page's messages are delivered as the comm delivers them.
"""

from __future__ import annotations

import pytest

from sse_nb import EventServer, EventSource, ReadyState
from sse_nb.widgets import BrowserEventSource
from sse_nb.widgets.browser import choose_route
from tests.conftest import wait_until
from tests.widget_messages import page_message, record_messages

HELLO_LOCAL = {
    "kind": "hello",
    "origin": "http://127.0.0.1:8888",
    "hostname": "127.0.0.1",
    "base_url": "/",
}
HELLO_BINDER = {
    "kind": "hello",
    "origin": "https://hub.example.org",
    "hostname": "hub.example.org",
    "base_url": "/user/someone/",
}


@pytest.mark.parametrize(
    ("mode", "page", "server_host", "route"),
    [
        ("auto", "127.0.0.1", "127.0.0.1", "direct"),
        ("auto", "localhost", "127.0.0.1", "direct"),
        ("auto", "hub.example.org", "127.0.0.1", "proxy"),
        ("auto", "box.lan", "box.lan", "direct"),
        ("proxy", "127.0.0.1", "127.0.0.1", "proxy"),
        ("direct", "hub.example.org", "127.0.0.1", "direct"),
    ],
)
def test_route_choice(mode: str, page: str, server_host: str, route: str) -> None:
    assert choose_route(mode, page, server_host) == route


def test_unknown_mode_is_refused() -> None:
    with pytest.raises(ValueError):
        choose_route("tunnel", "a", "b")
    with pytest.raises(ValueError):
        BrowserEventSource("http://127.0.0.1:1/events", mode="tunnel")


def test_a_url_that_is_not_http_is_refused() -> None:
    with pytest.raises(ValueError):
        BrowserEventSource("ftp://127.0.0.1/events")


def test_direct_route_allows_the_page_origin_then_opens(
    server: EventServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    b = BrowserEventSource(server)
    sent = record_messages(b.view, monkeypatch)
    assert sent == []  # nothing before the page has said where it is
    assert server.cors_origin_for(HELLO_LOCAL["origin"]) is None
    page_message(b.view, HELLO_LOCAL)
    assert b.route == "direct"
    assert server.cors_origin_for(HELLO_LOCAL["origin"]) == HELLO_LOCAL["origin"]
    (msg,) = sent
    assert msg["kind"] == "open" and msg["last_event_id"] is None
    assert msg["url"] == f"{server.url}?client={b.client_id}"


def test_proxy_route_goes_through_the_page_base_url(
    server: EventServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    b = BrowserEventSource(server, last_event_id="41")
    sent = record_messages(b.view, monkeypatch)
    page_message(b.view, HELLO_BINDER)
    assert b.route == "proxy"
    assert sent[-1]["url"] == f"/user/someone/proxy/{server.port}/events?client={b.client_id}"
    assert sent[-1]["last_event_id"] == "41"


def test_reopen_resumes_from_the_browser_own_id_with_a_new_registry_id(
    server: EventServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    b = BrowserEventSource(server)
    sent = record_messages(b.view, monkeypatch)
    page_message(b.view, HELLO_LOCAL)
    first = b.client_id
    b.close()
    b.open()
    assert [m["kind"] for m in sent] == ["open", "close", "open"]
    assert sent[-1]["last_event_id"] is None  # null: the page uses its own lastEventId
    assert b.client_id != first and b.client_ids == [first, b.client_id]
    b.open(last_event_id="")
    assert sent[-1]["last_event_id"] == ""


def test_the_page_can_ask_to_reopen(server: EventServer, monkeypatch: pytest.MonkeyPatch) -> None:
    b = BrowserEventSource(server, open=False)
    sent = record_messages(b.view, monkeypatch)
    page_message(b.view, HELLO_LOCAL)
    assert sent == []
    page_message(b.view, {"kind": "reopen"})
    assert sent[-1]["kind"] == "open"


def test_a_close_in_the_page_is_told_to_the_server(server: EventServer) -> None:
    # A Python client stands in for the page's connection, under the id the widget gave it:
    # what matters here is that the widget tells the server, as it must behind a proxy.
    b = BrowserEventSource(server)
    page_message(b.view, HELLO_LOCAL)
    es = EventSource(f"{server.url}?client={b.client_id}")
    try:
        wait_until(lambda: [(c.id, c.state) for c in server.clients] == [(b.client_id, "open")])
        page_message(b.view, {"kind": "closed", "client": b.client_id, "reason": "close() called"})
        (info,) = server.clients
        assert (info.state, info.close_reason) == ("closed", "client closed")
    finally:
        es.close()


def test_close_from_python_tells_the_server(server: EventServer) -> None:
    b = BrowserEventSource(server)
    page_message(b.view, HELLO_LOCAL)
    es = EventSource(f"{server.url}?client={b.client_id}")
    try:
        wait_until(lambda: es.ready_state == ReadyState.OPEN)
        wait_until(lambda: server.clients)
        b.close()
        assert server.clients[0].close_reason == "client closed"
    finally:
        es.close()


def test_page_reports_are_kept_bounded_in_history() -> None:
    b = BrowserEventSource("http://127.0.0.1:9/events")
    page_message(b.view, {"kind": "events", "rows": [[1, "1", "message", "<b>x</b>", 0.0]]})
    assert b.history == [[1, "1", "message", "<b>x</b>", 0.0]]


def test_display_shows_the_page_view() -> None:
    b = BrowserEventSource("http://127.0.0.1:9/events")
    bundle = b._repr_mimebundle_()
    data = bundle[0] if isinstance(bundle, tuple) else bundle
    assert data["application/vnd.jupyter.widget-view+json"]["model_id"] == b.view.model_id
    assert b.ready_state == ReadyState.CONNECTING and "BrowserEventSource" in repr(b)


def test_a_reloaded_page_resumes_from_the_id_the_last_page_reported(
    server: EventServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    b = BrowserEventSource(server)
    sent = record_messages(b.view, monkeypatch)
    page_message(b.view, HELLO_LOCAL)
    b.view.last_event_id = "12"  # as the page reports it (a trait the page writes)
    page_message(b.view, HELLO_LOCAL)  # the page reloaded
    assert sent[-1]["last_event_id"] == "12"
