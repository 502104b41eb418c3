"""The server restarts on the same port with its SQLite log while clients stream: 0 lost.

Five clients (sse_nb's ``AsyncEventSource``) stream from a server with a SQLite log. Midway the
server stops and a new one starts on the same port with the same file: the clients reconnect
with ``Last-Event-ID`` and the new server replays from the file, then numbering goes on. Every
client must end with every event exactly once, in order.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import anyio

from sse_nb.client import AsyncEventSource
from sse_nb.protocol import ReconnectPolicy
from sse_nb.server import EventServer
from tests.conftest import wait_until

CLIENTS = 5
#: Events before and after the restart.
BEFORE = 500
AFTER = 500
#: Publish pace, so the restart falls while events are really streaming.
RATE = 2_000
#: The whole run is bounded.
LIMIT = 30.0


def test_every_client_resumes_after_a_restart_with_the_sqlite_log(tmp_path: Path) -> None:
    log = tmp_path / "events.sqlite"
    first = EventServer(log=log, history=BEFORE + AFTER, heartbeat=None).start()
    port = first.port
    url = first.url
    policy = ReconnectPolicy(delay=0.02, backoff=1.0, jitter=0.0)
    streams: list[list[tuple[str | None, str]]] = [[] for _ in range(CLIENTS)]
    sources: list[AsyncEventSource] = []
    restarted: list[EventServer] = []
    closed: list[EventServer] = []

    async def listen(index: int) -> None:
        async with AsyncEventSource(url, reconnect=policy) as es:
            sources.append(es)
            async for event in es:
                streams[index].append((event.id, event.data))
                if event.id == str(BEFORE + AFTER):
                    return

    def publish() -> None:
        wait_until(lambda: sum(c.state == "open" for c in first.clients) == CLIENTS)
        pace = threading.Event()
        for i in range(BEFORE):
            first.publish(f"event {i + 1}")
            pace.wait(1 / RATE)
        closed.append(first)
        first.close()  # stop + close the log file: as a process that ends
        second = EventServer(port=port, log=log, history=BEFORE + AFTER, heartbeat=None)
        restarted.append(second.start())
        for i in range(BEFORE, BEFORE + AFTER):
            second.publish(f"event {i + 1}")
            pace.wait(1 / RATE)

    async def main() -> None:
        publisher = threading.Thread(target=publish, daemon=True)
        publisher.start()
        try:
            with anyio.fail_after(LIMIT):
                await asyncio.gather(*(listen(i) for i in range(CLIENTS)))
        finally:
            publisher.join(LIMIT)

    try:
        asyncio.run(main())
    finally:
        if not closed:
            first.close()
        for server in restarted:
            server.close()

    expected = [(str(i), f"event {i}") for i in range(1, BEFORE + AFTER + 1)]
    for index, got in enumerate(streams):
        assert got == expected, f"client {index}: {len(got)} events"
    assert all(es.reconnects >= 1 for es in sources)
    assert all(es.duplicates == 0 for es in sources)
    assert restarted[0].last_id() == str(BEFORE + AFTER)
