"""The hub route: sse_nb's client reaches an EventServer through jupyter-server-proxy.

A hub's Jupyter Server (jupyter_server + jupyter-server-proxy, on tornado 6.4, 6.5 and 6.6, in
environments built by the tests and cached) is served under ``/user/student/``; the client
connects to ``<base>proxy/<port>/events`` with the server's token, as a page on Binder or a
JupyterHub does. Each tornado must pass events on at once, pass ``Last-Event-ID`` on, and carry
a drop and a resume without losing or repeating an event.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from conftest import wait_until

from sse_nb import EventServer, EventSource, ReadyState, ReconnectPolicy
from tests._routes import HUB_TORNADOS, Hub, hub_venv, start_hub, stop_hub
from tests._venvs import BUILD_TIMEOUT
from tests.lab import LAB_START_TIMEOUT

#: Seconds from ``publish()`` to the client through the proxy: the issue's promise.
FIRST_EVENT_WITHIN = 1.0
#: Seconds for a client to connect through the proxy (a cold hub process, a loaded machine).
CONNECT_TIMEOUT = 20.0
#: Reconnect quickly after a drop: the test is about loss, not the delay.
FAST_RECONNECT = ReconnectPolicy(delay=0.1, backoff=1.0, jitter=0.0)

pytestmark = pytest.mark.timeout(BUILD_TIMEOUT + LAB_START_TIMEOUT + 120)


@pytest.fixture(scope="module", params=HUB_TORNADOS, ids=lambda v: f"tornado-{v}")
def hub(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    venv = hub_venv(request.param)
    hub = start_hub(venv, tmp_path_factory.mktemp(f"hub-{request.param}"))
    try:
        yield hub
    finally:
        stop_hub(hub)


@pytest.fixture()
def server() -> Iterator[EventServer]:
    with EventServer(heartbeat=1.0) as s:
        yield s


def test_first_event_reaches_the_client_within_a_second_of_publish(
    hub: Hub, server: EventServer
) -> None:
    with EventSource(hub.proxy_url(server.port), headers=hub.auth) as es:
        es.wait_for(ReadyState.OPEN, CONNECT_TIMEOUT)
        wait_until(lambda: server.clients, what="the proxy's connection registered")
        start = time.monotonic()
        server.publish("first")
        event = es.next(timeout=CONNECT_TIMEOUT)
        took = time.monotonic() - start
    assert (event.id, event.data) == ("1", "first")
    assert took < FIRST_EVENT_WITHIN, f"{took:.3f} s from publish() to the client"


def test_last_event_id_passes_through_and_the_server_replays_after_it(
    hub: Hub, server: EventServer
) -> None:
    for i in range(5):
        server.publish(f"e{i + 1}")
    with EventSource(hub.proxy_url(server.port), headers=hub.auth, last_event_id="2") as es:
        got = [es.next(timeout=CONNECT_TIMEOUT) for _ in range(3)]
    assert [(e.id, e.data) for e in got] == [("3", "e3"), ("4", "e4"), ("5", "e5")]
    assert [c.resumed_from for c in server.clients] == ["2"]


def test_a_drop_and_a_resume_through_the_proxy_lose_nothing(hub: Hub, server: EventServer) -> None:
    total = 60
    received: list[str] = []
    stop = threading.Event()

    def publisher() -> None:
        for i in range(total):
            if stop.wait(0.02):
                return
            server.publish(f"tick {i + 1}")

    es = EventSource(
        hub.proxy_url(server.port),
        headers=hub.auth,
        reconnect=FAST_RECONNECT,
        listeners={"message": lambda ev: received.append(ev.id)},
    )
    thread = threading.Thread(target=publisher)
    try:
        es.wait_for(ReadyState.OPEN, CONNECT_TIMEOUT)
        wait_until(lambda: server.clients, what="the proxy's connection registered")
        thread.start()
        wait_until(lambda: len(received) >= 10, timeout=CONNECT_TIMEOUT, what="ten events")
        assert server.disconnect() == 1
        wait_until(lambda: len(server.clients) == 2, timeout=CONNECT_TIMEOUT, what="a resume")
        thread.join(30)
        wait_until(lambda: len(received) >= total, timeout=CONNECT_TIMEOUT, what="every event")
    finally:
        stop.set()
        es.close()
    dropped, resumed = server.clients
    assert dropped.close_reason == "dropped by server"
    assert resumed.resumed_from is not None and int(resumed.resumed_from) >= 10
    assert received == [str(i) for i in range(1, total + 1)]
    assert es.duplicates == 0
