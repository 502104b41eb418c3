"""The client against the project's EventServer: the whole story, drop to resume to gap."""

from __future__ import annotations

import itertools
import json
import threading
import time

import anyio
import pytest
from conftest import wait_until

from sse_nb import EventServer
from sse_nb.client import AsyncEventSource, EventSource
from sse_nb.protocol import Event, ReadyState, ReconnectPolicy

FAST = ReconnectPolicy(delay=0.01, backoff=1.0, jitter=0.0)
LIMIT = 10.0


pytestmark = pytest.mark.server(history=10, heartbeat=0.05)


def test_a_dropped_client_resumes_and_misses_nothing(server: EventServer) -> None:
    opened = threading.Event()
    with EventSource(server.url, reconnect=FAST) as es:
        es.on("open", lambda _: opened.set())
        assert opened.wait(LIMIT)
        for i in range(3):
            server.publish(f"before {i}")
        wait_until(lambda: es.events_received == 3, LIMIT)
        assert server.disconnect() == 1  # the "network failure" button
        wait_until(lambda: es.ready_state is not ReadyState.OPEN or es.reconnects, LIMIT)
        for i in range(3):
            server.publish(f"after {i}")  # published while the client may be away
        wait_until(lambda: es.events_received == 6, LIMIT, what="six events")
        got = [es.next(timeout=LIMIT).data for _ in range(6)]
    assert got == [f"before {i}" for i in range(3)] + [f"after {i}" for i in range(3)]
    assert es.reconnects >= 1
    resumed = [c.resumed_from for c in server.clients if c.resumed_from]
    assert resumed and resumed[0] == "3"


def test_a_resume_older_than_the_log_surfaces_the_gap(server: EventServer) -> None:
    for i in range(30):
        server.publish(str(i))
    with EventSource(server.url, last_event_id="2", reconnect=FAST) as es:
        gap = es.next(timeout=LIMIT)
        first = es.next(timeout=LIMIT)
    assert gap.type == "sse_nb.gap"
    assert es.gap == json.loads(gap.data)
    assert es.gap is not None and es.gap["requested"] == "2"
    assert first.data == "20"  # the oldest the 10-event log still holds


def test_heartbeats_from_the_server_keep_the_idle_timeout_quiet(server: EventServer) -> None:
    # Heartbeats every 0.05 s against a 2 s idle timeout: a 40x margin on a loaded machine.
    with EventSource(server.url, reconnect=FAST, idle_timeout=2.0) as es:
        wait_until(lambda: es.ready_state is ReadyState.OPEN, LIMIT)
        time.sleep(3.0)  # the point of the test: a stream quiet for longer than the timeout
        server.publish("still here")
        assert es.next(timeout=LIMIT).data == "still here"
    assert es.reconnects == 0


def test_a_final_stop_answers_204_and_the_client_stops(server: EventServer) -> None:
    es = EventSource(server.url, reconnect=FAST)
    try:
        wait_until(lambda: es.ready_state is ReadyState.OPEN, LIMIT)
        server.stop(final=True, linger=1.0)
        wait_until(lambda: es.ready_state is ReadyState.CLOSED, LIMIT)
        assert es.error is None
        assert "204" in es.transitions[-1].reason
    finally:
        es.close()


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio", "trio"])
async def test_async_source_streams_from_the_server_on_both_backends(
    server: EventServer, anyio_backend: str
) -> None:
    got: list[Event] = []
    async with AsyncEventSource(server.url, reconnect=FAST) as es:
        es.on("open", lambda _: [server.publish(str(i)) for i in range(5)])
        with anyio.fail_after(LIMIT):
            async for event in es:
                got.append(event)
                if len(got) == 5:
                    break
    assert [e.data for e in got] == [str(i) for i in range(5)]
    assert [e.id for e in got] == [str(i + 1) for i in range(5)]


def test_after_each_drop_of_a_working_connection_the_wait_is_the_base_delay_again() -> None:
    """The backoff counts failed attempts since the last OPEN, whatever ended that connection.

    ``server.disconnect()`` resets working connections (an error, not a clean end of stream);
    with ``retry: 100`` every one comes back after about 0.1 s (x 0.9-1.1 jitter), not after
    0.1, 0.2, 0.4, 0.8, 1.6, 3.2 s as a backoff that never restarted would wait.
    """
    drops = 6
    with EventServer(retry=100, heartbeat=60) as srv, EventSource(srv.url) as es:
        for _ in range(drops):
            es.wait_for(ReadyState.OPEN, timeout=LIMIT)
            opens = sum(t.state is ReadyState.OPEN for t in es.transitions)
            assert srv.disconnect() == 1
            es.wait_for(
                lambda s, n=opens: sum(t.state is ReadyState.OPEN for t in s.transitions) > n,
                timeout=LIMIT,
            )
        log = es.transitions
    assert es.retry == 100
    attempts = [t.reason for t in log if t.reason.startswith("reconnect attempt")]
    assert attempts == ["reconnect attempt 1"] * drops
    # The wait itself: from the drop (CONNECTING with the error) to the attempt after it.
    waits = [
        after.time - before.time
        for before, after in itertools.pairwise(log)
        if after.reason.startswith("reconnect attempt")
    ]
    assert len(waits) == drops
    assert all(0.08 <= w < 1.0 for w in waits), waits  # generous: 0.11 at most without load
