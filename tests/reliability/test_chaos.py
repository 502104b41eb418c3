"""Clients streaming through random faults (cuts, resets, stalls, refusals) lose nothing.

A short run of what ``bench/soak.py`` does for minutes: clients behind the chaos proxy, a
publisher at a fixed rate, every client must end with every event exactly once, in order.
"""

from __future__ import annotations

import asyncio
import threading

import anyio
import pytest

from sse_nb.client import AsyncEventSource
from sse_nb.protocol import ReconnectPolicy
from sse_nb.server import EventServer

from .chaos import ChaosProxy

CLIENTS = 20
EVENTS = 600
#: Events per second: the run lasts EVENTS / RATE seconds of faults.
RATE = 200
#: Idle timeout of the clients: notices a stalled connection (heartbeats every HEARTBEAT s).
IDLE = 1.0
HEARTBEAT = 0.2
SEED = 20_261_124
LIMIT = 40.0


pytestmark = pytest.mark.server(heartbeat=HEARTBEAT)


def test_clients_behind_a_faulty_network_get_every_event_once(server: EventServer) -> None:
    received: list[list[str]] = [[] for _ in range(CLIENTS)]
    duplicates: list[int] = []

    async def main() -> ChaosProxy:
        proxy = ChaosProxy(server.port, SEED, lifetime=(0.1, 0.8))
        await proxy.start()
        url = f"http://127.0.0.1:{proxy.port}/events"
        policy = ReconnectPolicy(delay=0.02, backoff=2.0, max_delay=0.2, jitter=0.1)
        everyone_in = asyncio.Event()

        async def listen(i: int) -> None:
            async with AsyncEventSource(url, reconnect=policy, idle_timeout=IDLE) as es:
                async for event in es:
                    if event.id is None:
                        continue
                    received[i].append(event.id)
                    if event.id == "1":
                        if sum(bool(r) for r in received) == CLIENTS:
                            everyone_in.set()
                    elif event.id == str(EVENTS + 1):
                        break
                duplicates.append(es.duplicates)

        def publish() -> None:
            pace = threading.Event()
            for i in range(2, EVENTS + 2):
                server.publish(str(i))
                pace.wait(1 / RATE)

        listeners = [asyncio.ensure_future(listen(i)) for i in range(CLIENTS)]
        try:
            with anyio.fail_after(LIMIT):
                await anyio.to_thread.run_sync(
                    lambda: _wait(server, CLIENTS), abandon_on_cancel=True
                )
                server.publish("start")  # id "1": every client then has an id to resume from
                await everyone_in.wait()
                proxy.faults = True
                await anyio.to_thread.run_sync(publish, abandon_on_cancel=True)
                await asyncio.gather(*listeners)
        finally:
            for task in listeners:
                task.cancel()
            await asyncio.gather(*listeners, return_exceptions=True)
            await proxy.stop()
        return proxy

    proxy = asyncio.run(main())
    expected = [str(i) for i in range(1, EVENTS + 2)]
    for i, ids in enumerate(received):
        assert ids == expected, f"client {i}: {len(ids)} of {len(expected)}"
    assert sum(proxy.injected.values()) >= CLIENTS, proxy.injected
    print(f"faults injected: {dict(proxy.injected)}; duplicates suppressed: {sum(duplicates)}")


def _wait(server: EventServer, clients: int) -> None:
    from tests.conftest import wait_until

    wait_until(lambda: sum(c.state == "open" for c in server.clients) >= clients, timeout=20)
