"""Replays that clients do not read: memory stays bounded, the stalled are cut and can resume.

The finding: every request with an unknown ``Last-Event-ID`` got the whole history joined into
one private ``bytes`` (about 40 MB here); 20 clients with small receive windows that read
nothing held 20 copies. Now a replay is streamed from the stored frames piece by piece as the
socket drains, at most ``MAX_REPLAYS_IN_FLIGHT`` at once. Memory is measured from ``/proc``.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable

import pytest

from sse_nb.server import EventServer, connection
from sse_nb.server.app import MAX_REPLAYS_IN_FLIGHT
from tests.conftest import wait_until

from ._net import STEP_TIMEOUT, StreamReader, open_stream, rss

#: The finding's log: 10,000 events of 4 KB (about 40 MB).
EVENTS = 10_000
EVENT_BYTES = 4_000
#: Clients that ask for the whole history and read nothing.
STALLED = 20
#: RSS growth allowed while they hang on: one joined copy of the history alone is 40 MB.
RSS_SLACK = 24 * 1024 * 1024
#: Seconds without progress before a stalled replay is cut (30 s by default).
STALL = 1.0


@pytest.fixture()
def server(monkeypatch: pytest.MonkeyPatch, serve: Callable[..., EventServer]) -> EventServer:
    monkeypatch.setattr(connection, "REPLAY_STALL", STALL)
    srv = serve(history=EVENTS)
    payload = "x" * EVENT_BYTES
    srv._loop.call(lambda: [srv.publish(payload) for _ in range(EVENTS)])
    return srv


def test_stalled_replays_hold_no_copy_of_the_history_and_are_cut(server: EventServer) -> None:
    before = peak = rss()
    stalled = [
        open_stream(server.port, f"/events?client=s{i}", {"Last-Event-ID": "unknown"}, 4096)
        for i in range(STALLED)
    ]
    sampling = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not sampling.wait(0.01):
            peak = max(peak, rss())

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        wait_until(lambda: len(server.clients) == STALLED, what="all registered")
        assert len(server._admission.replays_active) <= MAX_REPLAYS_IN_FLIGHT
        # Nobody reads: each replay stalls, is cut as a slow consumer, and the next starts.
        wait_until(
            lambda: all(c.state == "closed" for c in server.clients),
            timeout=STALL * 10 + STEP_TIMEOUT,
            what="every stalled replay cut",
        )
    finally:
        sampling.set()
        sampler.join(STEP_TIMEOUT)
        for s in stalled:
            s.close()
    assert {c.close_reason for c in server.clients} == {"slow consumer"}
    assert peak - before < RSS_SLACK, f"RSS grew by {(peak - before) / 2**20:.0f} MB"

    # A client that reads gets the whole replay, then live events, each once.
    reader = StreamReader(open_stream(server.port, headers={"Last-Event-ID": "unknown"}))
    try:
        assert reader.read_head() == 200
        server.publish("live")
        reader.read_until(lambda: reader.ids()[-1:] == [str(EVENTS + 1)], timeout=30)
        assert reader.ids() == [str(i) for i in range(1, EVENTS + 2)]
    finally:
        reader.sock.close()


def test_a_client_cut_during_its_replay_resumes_where_it_stopped(server: EventServer) -> None:
    reader = StreamReader(
        open_stream(server.port, "/events?client=slow", {"Last-Event-ID": "unknown"}, 4096)
    )
    assert reader.read_head() == 200
    reader.read_until(lambda: len(reader.events) >= 100)  # reads a little, then stops
    wait_until(
        lambda: server.clients[0].close_reason == "slow consumer",
        timeout=STALL * 10 + STEP_TIMEOUT,
        what="cut",
    )
    reader.read_to_end(timeout=30)  # what the kernel already holds
    reader.sock.close()
    seen = reader.ids()
    assert seen == [str(i) for i in range(1, len(seen) + 1)]
    again = StreamReader(open_stream(server.port, headers={"Last-Event-ID": seen[-1]}))
    try:
        assert again.read_head() == 200
        assert b"X-SSE-NB-Gap" not in again.head
        again.read_until(lambda: again.ids()[-1:] == [str(EVENTS)], timeout=30)
        assert seen + again.ids() == [str(i) for i in range(1, EVENTS + 1)]
    finally:
        again.sock.close()


def test_live_events_wait_behind_a_replay_in_order() -> None:
    with EventServer(heartbeat=None) as srv:
        for _ in range(3_000):
            srv.publish("y" * 1_000)
        reader = StreamReader(open_stream(srv.port, headers={"Last-Event-ID": "10"}))
        assert reader.read_head() == 200
        for _ in range(50):  # published while the replay is still going out
            srv.publish("live")
        reader.read_until(lambda: reader.ids()[-1:] == ["3050"], timeout=30)
        assert reader.ids() == [str(i) for i in range(11, 3051)]
        reader.sock.close()


def test_an_event_larger_than_queue_limit_reaches_healthy_readers() -> None:
    limit = 64 * 1024
    with EventServer(heartbeat=None, queue_limit=limit) as srv:
        readers = [StreamReader(open_stream(srv.port, rcvbuf=8192)) for _ in range(2)]
        for r in readers:
            assert r.read_head() == 200
        wait_until(lambda: len(srv.clients) == 2, what="both registered")
        # A first large event is still going out (the readers have not read yet) when a
        # second one, four times the limit, comes: it waits alone in the queue.
        srv._loop.call(lambda: srv.publish("a" * (4 * 1024 * 1024)))
        wait_until(lambda: all(c._waiting for c in srv._registry.open()), what="writes in progress")
        srv._loop.call(lambda: srv.publish("b" * (4 * limit)))
        for r in readers:
            r.read_until(lambda r=r: len(r.events) == 2, timeout=30)
            r.sock.close()
        assert [[len(e.data) for e in r.events] for r in readers] == [
            [4 * 1024 * 1024, 4 * limit]
        ] * 2
        assert "slow consumer" not in {c.close_reason for c in srv.clients}


def test_a_second_request_never_closes_another_clients_stream() -> None:
    with EventServer(heartbeat=None) as srv:
        victim = StreamReader(open_stream(srv.port, "/events?client=tab-1"))
        assert victim.read_head() == 200
        wait_until(lambda: srv.clients, what="victim registered")
        intruder = StreamReader(open_stream(srv.port, "/events?client=tab-1"))
        assert intruder.read_head() == 200
        wait_until(lambda: len(srv.clients) == 2, what="both listed")
        srv.publish("still here")
        victim.read_until(lambda: len(victim.events) == 1)
        assert [c.state for c in srv.clients] == ["open", "open"]
        claim = socket.create_connection(("127.0.0.1", srv.port), timeout=STEP_TIMEOUT)
        claim.sendall(b"GET /events?client=c1 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert claim.recv(12).endswith(b"400")
        for s in (victim.sock, intruder.sock, claim):
            s.close()


def test_a_short_resume_does_not_wait_behind_replays_to_clients_that_stopped_reading(
    monkeypatch: pytest.MonkeyPatch, serve: Callable[..., EventServer]
) -> None:
    # Stalled replays keep their places until they are cut (seconds: TCP_USER_TIMEOUT, or
    # REPLAY_STALL); a short resume that waited behind them would wait as long.
    srv = serve(history=EVENTS)
    payload = "x" * EVENT_BYTES
    srv._loop.call(lambda: [srv.publish(payload) for _ in range(EVENTS)])
    stalled = [
        open_stream(srv.port, f"/events?client=s{i}", {"Last-Event-ID": "unknown"}, 4096)
        for i in range(MAX_REPLAYS_IN_FLIGHT + 2)
    ]
    try:
        wait_until(
            lambda: len(srv._admission.replays_active) == MAX_REPLAYS_IN_FLIGHT,
            what="every place held by a stalled replay",
        )
        reader = StreamReader(open_stream(srv.port, headers={"Last-Event-ID": str(EVENTS - 5)}))
        try:
            assert reader.read_head() == 200
            reader.read_until(lambda: reader.ids()[-1:] == [str(EVENTS)], timeout=STEP_TIMEOUT)
            assert reader.ids() == [str(i) for i in range(EVENTS - 4, EVENTS + 1)]
            # It did not wait for a place: every stalled replay still holds one (they are cut
            # only after seconds, by TCP_USER_TIMEOUT or REPLAY_STALL).
            assert len(srv._admission.replays_active) == MAX_REPLAYS_IN_FLIGHT
        finally:
            reader.sock.close()
    finally:
        for s in stalled:
            s.close()
