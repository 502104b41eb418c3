"""What becomes of parsed events: duplicates dropped, history kept, listeners told, inbox fed.

Per chunk of bytes, not per event: one duplicate check (``dedupe.RecentIds``), one history entry
(made into ``Received`` records only when read), the gap signal read into ``gap`` before any
listener sees it, the listeners (the event's type, then ``"*"``), and one ``put`` into the inbox.

A listener may call ``close()`` (or ``reconnect()``). HTML "Server-sent events" §9.2.6 queues
each event's dispatch as a task that does nothing once readyState is CLOSED, so the events parsed
behind the one whose listener closed are not dispatched: ``deliver`` checks after each event's
listeners and keeps only what was dispatched, in history, in the counts, in the ids remembered
for duplicate suppression and in the inbox. ``last_event_id`` then stays at the last event
dispatched, so a ``reconnect()`` gets the rest again from the server.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from operator import itemgetter
from typing import Any, NamedTuple

from ..protocol import GAP_EVENT, Event, read_gap
from .dedupe import DEDUP_WINDOW, RecentIds
from .inbox import Inbox
from .options import Listener

__all__ = ["Delivery", "Received"]

logger = logging.getLogger("sse_nb.client")

_type_of = itemgetter(0)  # Event.type; itemgetter is faster than the NamedTuple's property


class Received(NamedTuple):
    """One delivered event and when it arrived (epoch seconds)."""

    time: float
    event: Event


class Delivery:
    """The receiving end of one source's events, whatever connection brought them."""

    def __init__(self, url: str, inbox: Inbox, *, history: int, dedupe: bool) -> None:
        self.url = url
        self.inbox = inbox
        self.dedupe = dedupe
        self.events_received = 0
        #: The server's last gap signal (``{"requested": ..., "oldest": ...}``), or ``None``.
        self.gap: dict[str, Any] | None = None
        #: The bytes of the current connection named the gap type: look for it in the events.
        self.gap_pending = False
        self.recent = RecentIds(DEDUP_WINDOW)
        self._listeners: dict[str, list[Listener]] = {}
        # History is kept per chunk, (arrival time, events), and made into ``Received`` records
        # only when read: the receive path then costs O(1) per chunk instead of O(1) per event.
        self._history_size = history
        self._chunks: deque[tuple[float, list[Event]]] = deque()
        self._chunked = 0  # events held in _chunks

    @property
    def history(self) -> list[Received]:
        """The last ``history`` events delivered, oldest first."""
        chunks = list(self._chunks)  # one C-level copy: safe to read from another thread
        out: list[Received] = []
        for t, events in reversed(chunks):
            out.extend(Received(t, ev) for ev in reversed(events))
            if len(out) >= self._history_size:
                break
        out.reverse()
        return out[-self._history_size :] if self._history_size else []

    def on(self, type: str, callback: Listener) -> Callable[[], None]:
        """Add a listener; returns the function that removes it."""
        self._listeners.setdefault(type, []).append(callback)

        def unsubscribe() -> None:
            callbacks = self._listeners.get(type, [])
            if callback in callbacks:
                callbacks.remove(callback)

        return unsubscribe

    def emit(self, type: str, arg: Any) -> None:
        """Call the listeners of ``type``; one that raises is logged and the rest still run."""
        callbacks = self._listeners.get(type)
        if not callbacks:
            return
        for cb in tuple(callbacks):
            try:
                cb(arg)
            except Exception:  # one bad listener must not stop the stream
                logger.exception("an %r listener of %s raised", type, self.url)

    def deliver(self, events: list[Event], current: Callable[[], bool]) -> list[Event]:
        """Deliver a chunk; returns the events dispatched (fewer when a listener closed).

        ``current()`` is false once the source was closed or restarted since the chunk was read.
        """
        if self.dedupe:
            events = self.recent.fresh(events)
            if not events:
                return events
        if self._history_size:
            chunks = self._chunks
            chunks.append((time.time(), events))
            self._chunked += len(events)
            # Drop whole chunks that lie entirely beyond the last ``history`` events.
            while self._chunked - len(chunks[0][1]) >= self._history_size:
                self._chunked -= len(chunks.popleft()[1])
        self.events_received += len(events)
        if self.gap_pending and GAP_EVENT in map(_type_of, events):
            self.gap_pending = False
            for ev in events:
                if ev.type == GAP_EVENT:
                    self._take_gap(ev)
        if self._listeners:
            emit = self.emit
            for n, ev in enumerate(events, 1):
                emit(ev.type, ev)
                emit("*", ev)
                if not current():
                    self._undeliver(events, n)
                    break
        if events:
            self.inbox.put(events)
        return events

    def _undeliver(self, events: list[Event], kept: int) -> None:
        """Forget the events after the first ``kept``: a listener closed the source."""
        extra = len(events) - kept
        if not extra:
            return
        del events[kept:]  # the history entry holds this very list
        if self._history_size:
            self._chunked -= extra
        self.events_received -= extra
        if self.dedupe:
            self.recent.forget(extra)

    def _take_gap(self, ev: Event) -> None:
        self.gap = read_gap(ev.data)
        logger.warning(
            "event source %s: the server could not replay everything: %s", self.url, self.gap
        )
