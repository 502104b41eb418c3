"""Chaos: a proxy cuts the stream at random bytes; the client still delivers everything once.

Between the client and the project's ``EventServer`` sits a loopback TCP proxy (asyncio, on the
runtime thread) that ends each of its first ``CUTS`` connections after a random number of bytes
of the response (seeded), so the cuts fall in the headers, mid-line, between lines and between
events; half end with a FIN, half with an RST. Meanwhile 10,000 events are published. The
client must deliver all of them exactly once, in order.
"""

from __future__ import annotations

import asyncio
import random
import threading
from functools import partial

import anyio
import pytest
from conftest import wait_until

from sse_nb import EventServer, _runtime
from sse_nb.client import AsyncEventSource
from sse_nb.protocol import Event, ReconnectPolicy

EVENTS = 10_000
#: Connections the proxy cuts; the test requires at least MIN_CUTS of them to have happened.
CUTS = 70
MIN_CUTS = 50
#: Bytes of a response passed on before its cut: past a few events, within a few hundred.
CUT_RANGE = (20, 5_000)
#: The publisher stays at most this many events ahead of the client, so the stream stays live.
AHEAD = 400
SEED = 20_261_124
#: The whole run is bounded; a stuck client fails the test instead of hanging it.
LIMIT = 15.0

pytestmark = [pytest.mark.anyio, pytest.mark.server(history=EVENTS * 2)]


class CuttingProxy:
    """Forwards 127.0.0.1 TCP to ``upstream_port``, cutting responses at seeded random bytes."""

    def __init__(self, upstream_port: int, cuts: int, seed: int) -> None:
        self.upstream_port = upstream_port
        self.rng = random.Random(seed)
        self.cuts_left = cuts
        self.cut_tails: list[bytes] = []  # the last bytes before each cut
        self.connections = 0
        self.port = 0
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()

    async def _handle(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        self.connections += 1
        cut_at: int | None = None
        abort = False
        if self.cuts_left > 0:
            self.cuts_left -= 1
            cut_at = self.rng.randint(*CUT_RANGE)
            abort = self.rng.random() < 0.5
        try:
            up_r, up_w = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        except OSError:
            client_w.close()
            return

        async def upstream() -> None:
            while data := await client_r.read(65536):
                up_w.write(data)
                await up_w.drain()

        async def downstream() -> None:
            sent = 0
            while data := await up_r.read(65536):
                if cut_at is not None and sent + len(data) >= cut_at:
                    part = data[: cut_at - sent]
                    client_w.write(part)
                    await client_w.drain()
                    self.cut_tails.append(part[-2:])
                    return
                client_w.write(data)
                await client_w.drain()
                sent += len(data)

        tasks = [asyncio.ensure_future(upstream()), asyncio.ensure_future(downstream())]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            for w in (client_w, up_w):
                if abort and w is client_w:
                    w.transport.abort()
                else:
                    w.close()


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def test_every_event_arrives_once_in_order_through_a_cutting_proxy(
    server: EventServer,
) -> None:
    proxy = CuttingProxy(server.port, CUTS, SEED)
    _runtime.run(proxy.start())
    received: list[Event] = []
    done_publishing = threading.Event()

    def publish() -> None:
        # Paced by the client so live streaming and replay after a cut interleave.
        def caught_up(i: int) -> bool:
            return i - len(received) <= AHEAD or done_publishing.is_set()

        for i in range(EVENTS):
            if not caught_up(i):
                wait_until(partial(caught_up, i), LIMIT, interval=0.001, what="the client")
            server.publish(str(i))
        done_publishing.set()

    publisher = threading.Thread(target=publish, daemon=True)
    url = server.url.replace(f":{server.port}/", f":{proxy.port}/")
    policy = ReconnectPolicy(delay=0.001, backoff=1.0, jitter=0.0)
    try:
        with anyio.fail_after(LIMIT):
            async with AsyncEventSource(url, reconnect=policy) as es:
                # A client with no Last-Event-ID gets only what is published after it is in.
                stop_listening = es.on("open", lambda _: (publisher.start(), stop_listening()))
                async for event in es:
                    received.append(event)
                    if len(received) == EVENTS:
                        break
    finally:
        done_publishing.set()
        if publisher.is_alive():
            publisher.join(LIMIT)
        _runtime.run(proxy.stop())

    assert [e.data for e in received] == [str(i) for i in range(EVENTS)]
    assert [e.id for e in received] == [str(i + 1) for i in range(EVENTS)]
    cuts = len(proxy.cut_tails)
    assert cuts >= MIN_CUTS, f"only {cuts} cuts happened"
    mid_line = sum(not tail.endswith(b"\n") for tail in proxy.cut_tails)
    between_lines = sum(tail.endswith(b"\n") and tail != b"\n\n" for tail in proxy.cut_tails)
    assert mid_line >= 10 and between_lines >= 1, proxy.cut_tails
    print(
        f"cuts={cuts} mid_line={mid_line} between_lines={between_lines} "
        f"reconnects={es.reconnects} duplicates={es.duplicates}"
    )
    # EventServer resumes exactly after Last-Event-ID: nothing was left for dedupe to hide.
    assert es.duplicates == 0
    assert es.reconnects >= cuts - 1  # a cut after the last event needs no reconnect
