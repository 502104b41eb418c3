"""A loopback TCP proxy that injects random network faults into event streams (seeded).

Each proxied connection lives for a random time, then suffers one fault, chosen at random:

* ``fin``: the response is cut mid-chunk (a random prefix of the next chunk passes) and the
  connection is closed cleanly;
* ``rst``: the same cut, then a TCP reset;
* ``stall``: nothing more passes either way, and nothing is closed: the client must notice the
  silence itself (an idle timeout longer than the server's heartbeat);
* ``refuse``: the next connection attempt is reset at once.

Faults start only when :attr:`ChaosProxy.faults` is set, so clients can first connect and learn
an event id to resume from. Used by ``bench/soak.py`` and ``test_chaos.py``; only 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import random
import socket
import struct

__all__ = ["FAULTS", "ChaosProxy"]

FAULTS = ("fin", "rst", "stall", "refuse")
#: Bytes read at a time from either side.
_CHUNK = 65536
#: Longest a stalled connection is held before the proxy gives up on it (the client should have
#: closed it long before, on its idle timeout).
_STALL_LIMIT = 30.0
_LINGER_RESET = struct.pack("ii", 1, 0)


def _abort(writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_RESET)
    writer.transport.abort()


class ChaosProxy:
    """Forwards 127.0.0.1:``port`` to 127.0.0.1:``upstream_port``, with random faults."""

    def __init__(
        self, upstream_port: int, seed: int, lifetime: tuple[float, float] = (0.5, 8.0)
    ) -> None:
        self.upstream_port = upstream_port
        self.rng = random.Random(seed)
        self.lifetime = lifetime
        #: Faults are injected only while this is True.
        self.faults = False
        #: How many of each fault were injected.
        self.injected: collections.Counter[str] = collections.Counter()
        self.connections = 0
        self.port = 0
        self._refuse_next = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0, backlog=1024)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _handle(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            await self._proxy(client_r, client_w)
        except asyncio.CancelledError:
            # Only stop() cancels these tasks. Ending normally keeps asyncio's stream callback
            # (which asks the task for its exception) from logging every cancelled connection.
            pass
        finally:
            self._tasks.discard(task)

    async def _proxy(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        self.connections += 1
        if self._refuse_next > 0:
            self._refuse_next -= 1
            _abort(client_w)
            return
        try:
            up_r, up_w = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        except OSError:
            _abort(client_w)
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.rng.uniform(*self.lifetime)
        fault = self.rng.choice(FAULTS)
        fault_done = asyncio.Event()

        async def upstream() -> None:
            while data := await client_r.read(_CHUNK):
                if fault_done.is_set():
                    continue
                up_w.write(data)
                await up_w.drain()

        async def downstream() -> str:
            kind = fault
            while data := await up_r.read(_CHUNK):
                if self.faults and loop.time() >= deadline:
                    self.injected[kind] += 1
                    if kind == "refuse":  # this connection is reset, the next one refused
                        self._refuse_next += 1
                        kind = "rst"
                    if kind == "stall":
                        fault_done.set()
                        return kind
                    client_w.write(data[: self.rng.randint(0, len(data))])
                    await client_w.drain()
                    return kind
                client_w.write(data)
                await client_w.drain()
            return "fin"

        up_task = asyncio.ensure_future(upstream())
        down_task = asyncio.ensure_future(downstream())
        ending = "fin"
        try:
            done, _ = await asyncio.wait([up_task, down_task], return_when=asyncio.FIRST_COMPLETED)
            if down_task in done and not down_task.cancelled() and down_task.exception() is None:
                ending = down_task.result()
            if ending == "stall":
                # Both sides stay open and silent until the client gives up on its own (its
                # close ends ``upstream``); the server's heartbeats are read and dropped.
                await asyncio.wait_for(up_task, _STALL_LIMIT)
        except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError):
            pass
        finally:
            for t in (up_task, down_task):
                t.cancel()
            await asyncio.gather(up_task, down_task, return_exceptions=True)
            if ending == "rst":
                _abort(client_w)
            else:
                client_w.close()
            up_w.close()
