"""Serving a recording back: each connection attempt gets the next recorded response, byte for byte.

``EventServer.play(recording)`` registers a recording under ``/play/<name>``; a request there is
answered with the recorded status, headers and body chunks, each chunk written and flushed at
its recorded time (divided by ``speed``; ``speed=None`` sends them as fast as possible). The
n-th request gets the n-th recorded response (the last one again once they run out), so a
recording of a client that reconnected replays its reconnects too. The body's bytes are those
the client read; headers that describe the old transfer rather than the content
(``Content-Length``, ``Transfer-Encoding``, ``Content-Encoding``, ``Connection``, ``Date``,
``Server``) are left to this server, since the body is sent decoded and freshly framed.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tornado.iostream
import tornado.web

from ..protocol.recording import Recording
from .tokens import authorized

__all__ = ["MAX_SPEED", "PLAY_PREFIX", "PlayHandler", "Player"]

#: Path under which recordings are served: ``/play/<name>``.
PLAY_PREFIX = "/play"
#: Fastest replay factor accepted: beyond this the waits are below the loop's resolution anyway.
MAX_SPEED = 1e6

_TRANSFER_HEADERS = frozenset(
    {"content-length", "transfer-encoding", "content-encoding", "connection", "date", "server"}
)


@dataclass
class _Entry:
    recording: Recording
    speed: float | None
    attempts: int = 0
    served: list[int] = field(default_factory=list)  # response index per attempt


class Player:
    """The recordings one server plays, by name; thread-safe to add to."""

    def __init__(self) -> None:
        self._entries: dict[str, _Entry] = {}
        self._lock = threading.Lock()
        self._names = itertools.count(1)

    def add(self, recording: Recording | str | Path, speed: float | None, name: str | None) -> str:
        if not isinstance(recording, Recording):
            recording = Recording.load(recording)
        if not recording.responses:
            raise ValueError("the recording holds no response to play")
        if speed is not None and not 0 < speed <= MAX_SPEED:
            raise ValueError(f"speed must be > 0 and <= {MAX_SPEED:g}, or None, not {speed!r}")
        with self._lock:
            name = name or f"r{next(self._names)}"
            if not name.isidentifier():
                raise ValueError(f"a recording's name must be letters, digits and _: {name!r}")
            self._entries[name] = _Entry(recording, speed)
        return name

    def take(self, name: str) -> tuple[Recording, int, float | None] | None:
        """The recording, the response index for this attempt, and the speed."""
        with self._lock:
            entry = self._entries.get(name)
            if entry is None:
                return None
            index = min(entry.attempts, len(entry.recording.responses) - 1)
            entry.attempts += 1
            return entry.recording, index, entry.speed

    def attempts(self, name: str) -> int:
        with self._lock:
            entry = self._entries.get(name)
            return entry.attempts if entry is not None else 0

    def handlers(self, token: str | None) -> list[tuple[str, type, dict[str, Any]]]:
        return [(rf"{PLAY_PREFIX}/(\w+)", PlayHandler, {"player": self, "token": token})]


class PlayHandler(tornado.web.RequestHandler):
    """Answers one request with one recorded response."""

    def initialize(self, player: Player, token: str | None) -> None:
        self.player = player
        self.token = token

    async def get(self, name: str) -> None:
        if not authorized(self.request, self.token):
            raise tornado.web.HTTPError(401)
        taken = self.player.take(name)
        if taken is None:
            raise tornado.web.HTTPError(404, "no such recording")
        recording, index, speed = taken
        response = recording.responses[index]
        self.set_status(response.status)
        self.clear_header("Content-Type")
        for key, value in response.headers:
            if key.lower() not in _TRANSFER_HEADERS:
                self.add_header(key, value)
        start = response.time
        loop = asyncio.get_running_loop()
        began = loop.time()
        try:
            for t, data in response.chunks:
                if speed is not None:
                    wait = (t - start) / speed - (loop.time() - began)
                    if wait > 0:
                        await asyncio.sleep(wait)
                self.write(data)
                await self.flush()
        except tornado.iostream.StreamClosedError:
            return  # the client went away: nothing left to play to
        self.finish()
