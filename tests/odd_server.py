"""Purpose-built Tornado servers for the client tests: the odd cases a real server rarely shows.

``OddServer`` runs on sse_nb's runtime thread (its own asyncio loop), so tests on asyncio, on
trio and sync tests all reach it over 127.0.0.1. Every handler records the request headers it
saw, which is how the tests check ``Accept`` and ``Last-Event-ID`` on each (re)connect.
"""

from __future__ import annotations

import asyncio
import json
import socket
import zlib
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field

import tornado.httpserver
import tornado.iostream
import tornado.web

from sse_nb import _runtime
from sse_nb.protocol import encode_comment, encode_event

#: Longest a "silent" handler keeps a connection open: past any test's timeout, bounded anyway.
SILENT_FOR = 30.0


@dataclass
class Seen:
    """One request as a handler saw it."""

    path: str
    method: str
    headers: dict[str, str]
    body: bytes = b""

    @property
    def last_event_id(self) -> str | None:
        return self.headers.get("Last-Event-Id")


@dataclass
class State:
    """Shared between the handlers of one server: what they saw and what they serve."""

    seen: list[Seen] = field(default_factory=list)
    log: list[tuple[str, str]] = field(default_factory=list)  # (id, data) of /replay
    stop: asyncio.Event | None = None
    gate: asyncio.Event | None = None

    def requests(self, path: str) -> list[Seen]:
        return [s for s in self.seen if s.path == path]


class Base(tornado.web.RequestHandler):
    def initialize(self, state: State) -> None:
        self.state = state

    def prepare(self) -> None:
        self.state.seen.append(
            Seen(
                self.request.path,
                self.request.method or "",
                dict(self.request.headers),
                self.request.body,
            )
        )

    def start_stream(self) -> None:
        self.set_header("Content-Type", "text/event-stream")
        self.set_header("Cache-Control", "no-cache")

    async def send(self, data: bytes) -> None:
        self.write(data)
        await self.flush()

    async def stay_silent(self) -> None:
        assert self.state.stop is not None
        with suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self.state.stop.wait(), SILENT_FOR)


class Replay(Base):
    """Replays ``state.log`` after ``Last-Event-ID``; ``?per=N`` ends the stream after N events.

    ``?retry=MS`` sends a ``retry:`` first, ``?bulk=1`` writes all in one go, ``?hold=1`` keeps
    the stream open afterwards.

    A resumable server in miniature: each connection ends after ``per`` events, so a client
    only gets everything by reconnecting with the right ``Last-Event-ID``.
    """

    async def get(self) -> None:
        self.start_stream()
        per = int(self.get_argument("per", "1000000"))
        retry = self.get_argument("retry", None)
        if retry is not None:
            await self.send(f"retry: {retry}\n\n".encode())
        last = self.request.headers.get("Last-Event-ID")
        ids = [i for i, _ in self.state.log]
        start = ids.index(last) + 1 if last in ids else 0
        chosen = self.state.log[start : start + per]
        if self.get_argument("bulk", None):  # one write: a fast producer
            await self.send(b"".join(encode_event(data, id=ev_id) for ev_id, data in chosen))
            return
        for ev_id, data in chosen:
            await self.send(encode_event(data, id=ev_id))
        if self.get_argument("hold", None):  # keep the stream open, quiet
            await self.stay_silent()


class Gated(Base):
    """Sends ``state.log`` only once the test opens ``state.gate``: nothing can arrive early."""

    async def get(self) -> None:
        self.start_stream()
        await self.flush()
        assert self.state.gate is not None
        with suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self.state.gate.wait(), SILENT_FOR)
        for ev_id, data in self.state.log:
            await self.send(encode_event(data, id=ev_id))
        await self.stay_silent()


class Gzipped(Base):
    """A gzip-encoded stream, flushed after each event (as compressing proxies do)."""

    async def get(self) -> None:
        self.start_stream()
        self.set_header("Content-Encoding", "gzip")
        gz = zlib.compressobj(wbits=31)
        for ev_id, data in self.state.log:
            raw = gz.compress(encode_event(data, id=ev_id)) + gz.flush(zlib.Z_SYNC_FLUSH)
            await self.send(raw)
        await self.stay_silent()


class Status(Base):
    async def get(self, code: str) -> None:
        self.set_status(int(code))
        if int(code) != 204:
            self.write("the server is having a bad day")


class WrongType(Base):
    async def get(self) -> None:
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.write(b'{"not": "a stream"}')


class SlowHeaders(Base):
    """Never answers: the client stays CONNECTING with its request open."""

    async def get(self) -> None:
        await self.stay_silent()


class Redirect(Base):
    async def get(self) -> None:
        self.redirect("/replay?per=2", permanent=False)


class Silent(Base):
    """One event, then nothing at all (a half-open connection, as seen from the client)."""

    async def get(self) -> None:
        self.start_stream()
        await self.send(encode_event("only one", id="s1"))
        await self.stay_silent()


class Heartbeats(Base):
    """Comments only, every 20 ms, for ``?n=`` beats: a live but quiet stream."""

    async def get(self) -> None:
        self.start_stream()
        for _ in range(int(self.get_argument("n", "25"))):
            await self.send(encode_comment("hb"))
            await asyncio.sleep(0.02)  # the beats' pace, which the client must see as alive
        await self.send(encode_event("after the beats", id="hb-done"))
        await self.stay_silent()


class Echo(Base):
    """POST: streams back the JSON body's ``items`` as events, with the method it saw."""

    def check_xsrf_cookie(self) -> None:
        pass

    async def post(self) -> None:
        body = json.loads(self.request.body)
        self.start_stream()
        for i, item in enumerate(body["items"]):
            payload = json.dumps({"method": self.request.method, "item": item})
            await self.send(encode_event(payload, event="echo", id=str(i)))
        await self.stay_silent()


class Raw(Base):
    """Sends the ``state.raw`` bytes of the request's number, then ends (or stays silent)."""

    def initialize(self, state: State, raw: list[bytes], then_silent: bool = False) -> None:
        super().initialize(state)
        self.raw = raw
        self.then_silent = then_silent

    async def get(self) -> None:
        self.start_stream()
        n = len(self.state.requests(self.request.path)) - 1
        await self.send(self.raw[min(n, len(self.raw) - 1)])
        if self.then_silent:
            await self.stay_silent()


class Pieces(Base):
    """Sends the pieces named by ``?cut=`` of ``state``'s stream, each its own HTTP chunk."""

    def initialize(self, state: State, streams: dict[str, list[bytes]]) -> None:
        super().initialize(state)
        self.streams = streams

    async def get(self) -> None:
        self.start_stream()
        for piece in self.streams[self.get_argument("cut")]:
            await self.send(piece)
        await self.stay_silent()


#: The gap signal then one event, cut where the client's look for the gap type could miss it:
#: inside the type, right after it, and after a CR line end.
GAP_STREAM = encode_event(
    json.dumps({"requested": "5", "oldest": "10"}), event="sse_nb.gap"
) + encode_event("ten", id="10")
GAP_CUTS = {
    "in-type": [GAP_STREAM[:14], GAP_STREAM[14:]],
    "one-byte-each": [GAP_STREAM[i : i + 1] for i in range(40)] + [GAP_STREAM[40:]],
    "after-type": [GAP_STREAM[:17], GAP_STREAM[17:]],
    "cr": [b"event: sse_nb.gap\r", b"data: {}\r\r" + encode_event("ten", id="10")],
}


class OddServer:
    """A Tornado app of odd-case handlers on 127.0.0.1, on the runtime thread."""

    def __init__(self) -> None:
        self.state = State()
        self.port = 0
        self._server: tornado.httpserver.HTTPServer | None = None
        s = self.state
        raw_nul = [
            encode_event("first", id="good-1") + b"id: bad\x00id\ndata: nul id\n\n",
        ]
        raw_long = [encode_event("before", id="l1") + b"data: " + b"x" * 5000]
        raw_unicode = [encode_event("first", id="café-☕") + encode_event("second", id="ünï")]
        raw_gap = [
            encode_event(json.dumps({"requested": "5", "oldest": "10"}), event="sse_nb.gap")
            + encode_event("ten", id="10")
        ]
        raw_dupes = [
            encode_event("a", id="a") + encode_event("b", id="b"),
            encode_event("b", id="b") + encode_event("c", id="c") + encode_event("x"),
        ]
        self.app = tornado.web.Application(
            [
                (r"/replay", Replay, {"state": s}),
                (r"/gated", Gated, {"state": s}),
                (r"/gzip", Gzipped, {"state": s}),
                (r"/status/(\d+)", Status, {"state": s}),
                (r"/wrong-type", WrongType, {"state": s}),
                (r"/redirect", Redirect, {"state": s}),
                (r"/silent", Silent, {"state": s}),
                (r"/slow-headers", SlowHeaders, {"state": s}),
                (r"/heartbeats", Heartbeats, {"state": s}),
                (r"/echo", Echo, {"state": s}),
                (r"/nul-id", Raw, {"state": s, "raw": raw_nul}),
                (r"/long-line", Raw, {"state": s, "raw": raw_long, "then_silent": True}),
                (r"/unicode-id", Raw, {"state": s, "raw": raw_unicode}),
                (r"/gap", Raw, {"state": s, "raw": raw_gap, "then_silent": True}),
                (r"/dupes", Raw, {"state": s, "raw": raw_dupes, "then_silent": False}),
                (r"/gap-cut", Pieces, {"state": s, "streams": GAP_CUTS}),
            ]
        )

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def start(self) -> OddServer:
        async def start() -> None:
            self.state.stop = asyncio.Event()
            self.state.gate = asyncio.Event()
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(("127.0.0.1", 0))
            sock.listen(128)
            sock.setblocking(False)
            self.port = sock.getsockname()[1]
            self._server = tornado.httpserver.HTTPServer(self.app)
            self._server.add_sockets([sock])

        _runtime.run(start())
        return self

    def open_gate(self) -> None:
        """Let ``/gated`` responses send their events."""
        assert self.state.gate is not None
        _runtime.call_soon(self.state.gate.set)

    def stop(self) -> None:
        async def stop() -> None:
            assert self._server is not None and self.state.stop is not None
            self.state.stop.set()
            self._server.stop()
            await self._server.close_all_connections()

        _runtime.run(stop())


@contextmanager
def odd_server() -> Iterator[OddServer]:
    """An ``OddServer`` for the length of a ``with`` block (the ``odd`` fixture of conftest)."""
    server = OddServer().start()
    try:
        yield server
    finally:
        server.stop()
