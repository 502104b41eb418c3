"""The reverse-proxy route: a real nginx (its defaults, buffering on) in front of EventServer.

nginx is started by each test on a free port with a config in a temporary directory (see
``tests/_nginx.py``); it talks HTTP/1.0 to the server (nginx's default: a close-delimited body)
or HTTP/1.1 (a chunked body). Nothing in the config turns buffering off: the server's
``X-Accel-Buffering: no`` must. With buffering on, nginx still passes small events on at once to
a reader that keeps up, until the site compresses event streams (``gzip on`` for
``text/event-stream``, common where gzip is set up for every text type): then only the header
keeps them one by one. The controls ignore the header and see the burst, or drop the heartbeat
and see nginx's read timeout cut the stream, so the tests can tell.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from conftest import wait_until
from streams import Stream

from sse_nb import EventServer, EventSource, ReadyState, ReconnectPolicy
from tests._nginx import Nginx, start_nginx, stop_nginx

#: Events published one by one, this far apart (seconds): far more than loopback needs.
GAP = 0.3
#: An event passed on at once arrives within this of its publish() (a loaded machine).
ONE_BY_ONE_WITHIN = 0.2
#: nginx's proxy_read_timeout in the heartbeat tests (seconds): short, to be outlived.
SHORT_READ_TIMEOUT = 1.0
#: The server's heartbeat under that timeout.
HEARTBEAT = 0.25
#: Lines a site adds to compress text, event streams included.
GZIP = ("gzip on;", "gzip_types text/event-stream;")
#: Reconnect quickly after a drop: the test is about loss, not the delay.
FAST_RECONNECT = ReconnectPolicy(delay=0.1, backoff=1.0, jitter=0.0)


@pytest.fixture(params=["1.0", "1.1"], ids=lambda v: f"upstream-http{v}")
def http_version(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@contextlib.contextmanager
def _nginx(
    tmp: Path,
    server: EventServer,
    http_version: str,
    *,
    read_timeout: float = 60.0,
    directives: tuple[str, ...] = (),
) -> Iterator[Nginx]:
    nginx = start_nginx(
        tmp / "nginx",
        server.port,
        http_version=http_version,
        read_timeout=read_timeout,
        directives=directives,
    )
    try:
        yield nginx
    finally:
        stop_nginx(nginx)


def _arrival_delays(
    nginx: Nginx, server: EventServer, count: int, *, end: bool = False
) -> list[float]:
    """Publish ``count`` events ``GAP`` apart; return each one's publish-to-arrival time.

    ``end``: close the channel once they are published, which ends the response.
    """
    published: dict[str, float] = {}
    arrived: dict[str, float] = {}

    def on_message(ev: object) -> None:
        arrived[ev.id] = time.monotonic()  # type: ignore[attr-defined]

    with EventSource(nginx.url + "events", listeners={"message": on_message}):
        # Not OPEN: a buffering proxy may hold even the headers back.
        wait_until(lambda: server.clients, what="nginx's connection registered")
        for i in range(count):
            if i:
                time.sleep(GAP)  # the publisher's pace, not a wait for a condition
            published[server.publish(f"e{i}")] = time.monotonic()
        if end:
            server.close_channel()
        wait_until(lambda: len(arrived) == count, timeout=30, what="every event")
    return [arrived[eid] - at for eid, at in published.items()]


@pytest.mark.parametrize("site", [(), GZIP], ids=["defaults", "gzip"])
def test_events_pass_through_nginx_one_by_one(
    tmp_path: Path, http_version: str, site: tuple[str, ...]
) -> None:
    with (
        EventServer(heartbeat=None) as server,
        _nginx(tmp_path, server, http_version, directives=site) as nginx,
    ):
        delays = _arrival_delays(nginx, server, 5)
    assert max(delays) < ONE_BY_ONE_WITHIN, delays


def test_nginx_with_the_header_ignored_buffers_into_a_burst(tmp_path: Path) -> None:
    """The control: the gzip site again, with nginx told to ignore ``X-Accel-Buffering``."""
    forced = (*GZIP, "proxy_ignore_headers X-Accel-Buffering;")
    with (
        EventServer(heartbeat=None) as server,
        _nginx(tmp_path, server, "1.1", directives=forced) as nginx,
    ):
        # Only the response's end flushes nginx's buffer.
        delays = _arrival_delays(nginx, server, 5, end=True)
    assert delays[0] > 3 * GAP, delays  # the first event waited for the end


def test_heartbeats_keep_the_stream_open_past_nginx_read_timeout(
    tmp_path: Path, http_version: str
) -> None:
    with (
        EventServer(heartbeat=HEARTBEAT) as server,
        _nginx(tmp_path, server, http_version, read_timeout=SHORT_READ_TIMEOUT) as nginx,
        Stream(nginx.url + "events") as s,
    ):
        # Three read timeouts' worth of heartbeats on one connection.
        beats = int(3 * SHORT_READ_TIMEOUT / HEARTBEAT)
        s.read_until(lambda s: s.raw.count(b":\n") >= beats, timeout=30)
        server.publish("still here")
        s.read_until(lambda s: len(s.events) == 1)
        assert [c.state for c in server.clients] == ["open"]  # one connection throughout
    assert s.events[0].data == "still here"


def test_without_heartbeats_nginx_ends_the_stream_at_its_read_timeout(tmp_path: Path) -> None:
    """The control: the same timeout cuts a silent stream, so the test above means something."""
    with (
        EventServer(heartbeat=None) as server,
        _nginx(tmp_path, server, "1.1", read_timeout=SHORT_READ_TIMEOUT) as nginx,
    ):
        start = time.monotonic()
        with Stream(nginx.url + "events") as s, contextlib.suppress(httpx.RemoteProtocolError):
            s.read_to_end(timeout=30)  # a cut chunked body raises: as much an end as a clean one
        took = time.monotonic() - start
    assert SHORT_READ_TIMEOUT * 0.8 < took < 20, took


def test_a_drop_and_a_resume_through_nginx_replay_everything(
    tmp_path: Path, http_version: str
) -> None:
    total = 60
    received: list[str] = []
    stop = threading.Event()
    with EventServer(heartbeat=1.0) as server:

        def publisher() -> None:
            for i in range(total):
                if stop.wait(0.02):
                    return
                server.publish(f"tick {i + 1}")

        with _nginx(tmp_path, server, http_version) as nginx:
            es = EventSource(
                nginx.url + "events",
                reconnect=FAST_RECONNECT,
                listeners={"message": lambda ev: received.append(ev.id)},
            )
            thread = threading.Thread(target=publisher)
            try:
                es.wait_for(ReadyState.OPEN)
                wait_until(lambda: server.clients, what="nginx's connection registered")
                thread.start()
                wait_until(lambda: len(received) >= 10, what="ten events")
                assert server.disconnect() == 1
                wait_until(lambda: len(server.clients) == 2, what="a resume")
                thread.join(30)
                wait_until(lambda: len(received) >= total, what="every event")
            finally:
                stop.set()
                es.close()
        dropped, resumed = server.clients
    assert dropped.close_reason == "dropped by server"
    assert resumed.resumed_from is not None and int(resumed.resumed_from) >= 10
    assert received == [str(i) for i in range(1, total + 1)]
    assert es.duplicates == 0
