"""Faults on demand: break a server's connections in a chosen way, for teaching and for tests.

``server.faults`` (a :class:`Faults`) does what a bad network, a proxy or a crashing server
would, each on purpose and recorded with its time in ``faults.history`` (the server's timeline
draws them):

- ``reset(client)`` / ``close(client)``: end one connection, or all, with a TCP RST (a network
  failure) or a FIN (a clean end of stream);
- ``stall(client)``: stop sending but keep the socket, a half-open link as the client sees it
  (live events queue up, and a stall long enough cuts the client as a slow consumer);
  ``resume(client)`` lets the bytes go again;
- ``throttle(client, bytes_per_second)``: let bytes through at that rate only;
- ``answer_next(n, kind)``: answer the next ``n`` connection attempts with ``204``, ``500``, a
  wrong content type (``"content-type"``) or a ``"redirect"`` (to the same URL, so a client
  that follows it is answered by the stream);
- ``trim(keep)``: forget all but the newest ``keep`` events of a channel, so a client resuming
  from an older id gets the gap signal;
- ``restart()``: stop the server and start it again on the same port (with a SQLite or Redis log,
  resumes still replay).

Everything runs on the server's loop thread; the methods may be called from any thread.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, NamedTuple

from .connection import Connection
from .log import EventLog
from .loop import LoopHandle
from .reasons import CloseReason

__all__ = ["ANSWERS", "MAX_FAULTS", "THROTTLE_TICK", "Answer", "Fault", "Faults"]

#: Faults kept in ``history`` (newest): a long session must not grow it without bound.
MAX_FAULTS = 500
#: Seconds between two releases of a throttled connection's bytes: smooth enough to watch,
#: coarse enough to cost nothing.
THROTTLE_TICK = 0.1
#: What ``answer_next`` can answer with.
ANSWERS = ("204", "500", "content-type", "redirect")


class Fault(NamedTuple):
    """One fault as it was made."""

    time: float
    #: ``reset``, ``close``, ``stall``, ``resume``, ``throttle``, ``answer``, ``trim``,
    #: ``restart``.
    kind: str
    #: The client id, or ``"all"``, or the channel.
    target: str
    detail: str


@dataclass(frozen=True)
class Answer:
    """What the handler sends instead of a stream, for an ``answer_next`` fault."""

    status: int
    headers: dict[str, str]
    body: bytes


class Faults:
    """The fault switches of one server (``server.faults``)."""

    def __init__(
        self,
        loop: LoopHandle,
        connections: Callable[[str | None], list[Connection]],
        log: EventLog,
        restart: Callable[[], None],
        changed: Callable[[], None],
    ) -> None:
        self._loop = loop
        self._connections = connections
        self._log = log
        self._restart = restart
        self._changed = changed
        self._lock = threading.Lock()
        self._answers: list[str] = []  # one entry per attempt still to answer
        self._throttled: dict[Connection, int] = {}
        self._ticking = False
        self.history: list[Fault] = []

    # -- recording ---------------------------------------------------------------------

    def _note(self, kind: str, target: str | None, detail: str = "") -> None:
        with self._lock:
            self.history.append(Fault(time.time(), kind, target or "all", detail))
            del self.history[:-MAX_FAULTS]
        self._changed()

    def _each(self, client: str | None, act: Callable[[Connection], object]) -> int:
        return self._loop.call(lambda: sum(1 for c in self._connections(client) if act(c)))

    # -- connections -------------------------------------------------------------------

    def reset(self, client: str | None = None) -> int:
        """Abort one connection (or all) with a TCP RST; returns how many."""
        n = self._each(client, lambda c: c.close(CloseReason.DROPPED_BY_SERVER, reset=True))
        self._note("reset", client, f"{n} connection(s), RST")
        return n

    def close(self, client: str | None = None) -> int:
        """End one connection (or all) cleanly, with a FIN; returns how many."""
        n = self._each(client, lambda c: c.close(CloseReason.DROPPED_BY_SERVER))
        self._note("close", client, f"{n} connection(s), FIN")
        return n

    def stall(self, client: str | None = None) -> int:
        """Send nothing more to one connection (or all), socket kept open; returns how many."""

        def hold(c: Connection) -> bool:
            self._throttled.pop(c, None)
            c.held = True
            return True

        n = self._each(client, hold)
        self._note("stall", client, f"{n} connection(s) stalled")
        return n

    def throttle(self, client: str | None, bytes_per_second: int) -> int:
        """Let only ``bytes_per_second`` through to one connection (or all); returns how many."""
        if bytes_per_second < 1:
            raise ValueError(f"bytes_per_second must be >= 1, not {bytes_per_second!r}")

        def hold(c: Connection) -> bool:
            c.held = True
            self._throttled[c] = bytes_per_second
            return True

        n = self._each(client, hold)
        self._loop.call(self._start_ticking)
        self._note("throttle", client, f"{n} connection(s) at {bytes_per_second} B/s")
        return n

    def resume(self, client: str | None = None) -> int:
        """End a stall or throttle: the held bytes go out at once; returns how many."""

        def free(c: Connection) -> bool:
            self._throttled.pop(c, None)
            was = c.held
            c.held = False
            c.release()
            return was

        n = self._each(client, free)
        self._note("resume", client, f"{n} connection(s) released")
        return n

    def _start_ticking(self) -> None:
        if not self._ticking:
            self._ticking = True
            self._loop.get().call_later(THROTTLE_TICK, self._tick)

    def _tick(self) -> None:
        for conn, rate in list(self._throttled.items()):
            if not conn.open or not conn.held:
                del self._throttled[conn]
                continue
            conn.release(max(1, int(rate * THROTTLE_TICK)))
        if self._throttled:
            self._loop.get().call_later(THROTTLE_TICK, self._tick)
        else:
            self._ticking = False

    # -- connection attempts -----------------------------------------------------------

    def answer_next(self, n: int, kind: str) -> None:
        """Answer the next ``n`` connection attempts with ``kind`` (one of ``ANSWERS``)."""
        if kind not in ANSWERS:
            raise ValueError(f"kind must be one of {', '.join(ANSWERS)}, not {kind!r}")
        if n < 1:
            raise ValueError(f"n must be >= 1, not {n!r}")
        with self._lock:
            self._answers.extend([kind] * n)
        self._note("answer", None, f"next {n} attempt(s): {kind}")

    def pending_answers(self) -> int:
        with self._lock:
            return len(self._answers)

    def take_answer(self, url: str) -> Answer | None:
        """Called by the handler for each attempt: the answer to send instead, if any."""
        with self._lock:
            if not self._answers:
                return None
            kind = self._answers.pop(0)
        if kind == "204":
            return Answer(204, {}, b"")
        if kind == "500":
            return Answer(500, {"Content-Type": "text/plain"}, b"injected fault: 500\n")
        if kind == "content-type":
            return Answer(200, {"Content-Type": "text/html"}, b"<p>not an event stream</p>\n")
        return Answer(307, {"Location": url}, b"")

    # -- history and the whole server --------------------------------------------------

    def trim(self, keep: int, channel: str = "default") -> int:
        """Keep only the newest ``keep`` events of ``channel``; returns how many were dropped."""
        trim: Callable[[str, int], int] | None = getattr(self._log, "trim", None)
        if trim is None:
            raise TypeError(f"{type(self._log).__name__} cannot trim its history")
        dropped = self._loop.call(lambda: trim(channel, keep))
        self._note("trim", channel, f"kept the last {keep}, dropped {dropped}")
        return dropped

    def restart(self) -> None:
        """Stop the server and start it again on the same port."""
        self._restart()
        self._note("restart", None, "stopped and started on the same port")

    def marks(self) -> Iterable[dict[str, Any]]:
        """The faults as timeline marks."""
        with self._lock:
            faults = list(self.history)
        for f in faults:
            label = f"{f.kind} {f.target}"
            yield {"t": f.time, "kind": "fault", "label": label, "detail": f.detail}
