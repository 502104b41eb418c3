"""A client that stops reading while 50 MB are published: bounded memory, cut, full resume."""

from __future__ import annotations

import threading

import pytest

from sse_nb.server import EventServer
from tests.conftest import wait_until

from ._net import StreamReader, open_stream, rss

#: Data per event and events published: 50 MB in all, as the requirement states it.
EVENT_BYTES = 10_000
EVENTS = 5_000
#: The server's per-client bound under test (bytes a client may fall behind).
QUEUE_LIMIT = 4 * 1024 * 1024
#: Events read before the client stops reading, so it has an id to resume from.
FIRST = 10
#: Growth of the process's RSS allowed beyond the log itself (which holds every event for the
#: resume) and one queue: encoding buffers, the allocator's slack on a busy 2-core machine.
RSS_SLACK = 48 * 1024 * 1024


pytestmark = pytest.mark.server(history=EVENTS + FIRST, queue_limit=QUEUE_LIMIT)


def test_a_stalled_reader_is_cut_as_slow_consumer_and_resumes_without_loss(
    server: EventServer,
) -> None:
    peak_queue = 0

    def sample_queue() -> None:
        # Runs on the loop thread after every publish batch; reads the connection's queue.
        nonlocal peak_queue
        for conn in server._registry.open():
            peak_queue = max(peak_queue, conn.queued_bytes)

    server.on_change(sample_queue)
    # A small receive buffer so the kernel does not absorb the stall for the server.
    reader = StreamReader(open_stream(server.port, "/events?client=stalled", rcvbuf=4096))
    assert reader.read_head() == 200
    wait_until(lambda: server.clients, what="client registered")
    for i in range(FIRST):
        server.publish(f"first {i}")
    reader.read_until(lambda: len(reader.events) >= FIRST)
    seen = reader.parser.last_event_id
    assert seen == str(FIRST)

    peak_rss = start_rss = rss()
    sampling = threading.Event()

    def sample_rss() -> None:
        nonlocal peak_rss
        while not sampling.wait(0.01):
            peak_rss = max(peak_rss, rss())

    sampler = threading.Thread(target=sample_rss, daemon=True)
    sampler.start()
    payload = "x" * EVENT_BYTES
    try:
        for _ in range(EVENTS):  # the client reads nothing meanwhile
            server.publish(payload)
        info = wait_until(
            lambda: next((c for c in server.clients if c.state == "closed"), None),
            timeout=30,
            what="the stalled client cut",
        )
    finally:
        sampling.set()
        sampler.join(5)
        reader.sock.close()

    assert info.close_reason == "slow consumer"
    # The queue never held more than the bound plus the one batch that crossed it.
    assert peak_queue <= QUEUE_LIMIT + 2 * (EVENT_BYTES + 100), peak_queue
    log_bytes = EVENTS * (EVENT_BYTES + 20)
    grown = peak_rss - start_rss
    assert grown < log_bytes + QUEUE_LIMIT + RSS_SLACK, f"RSS grew by {grown / 1e6:.0f} MB"

    # Resume from the last event it saw: every missed event arrives, once, in order.
    last = str(FIRST + EVENTS)
    resumed = StreamReader(
        open_stream(server.port, "/events?client=stalled", {"Last-Event-ID": seen})
    )
    try:
        assert resumed.read_head() == 200
        assert b"X-SSE-NB-Gap" not in resumed.head
        resumed.read_until(lambda: resumed.parser.last_event_id == last, timeout=60)
    finally:
        resumed.sock.close()
    assert resumed.ids() == [str(i) for i in range(FIRST + 1, FIRST + EVENTS + 1)]
    assert all(e.data == payload for e in resumed.events)
