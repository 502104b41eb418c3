"""Which event ids were seen lately: duplicate suppression across a replay overlap.

Ids are opaque strings in HTML "Server-sent events" (§9.2.6 only says the field sets the last
event ID buffer), so "already seen" cannot be "id <= last id": integer, UUID and arbitrary string
ids must all work. ``RecentIds`` remembers the ids themselves, bounded by ``window``.

Where duplicates come from: a reconnect whose replay starts before the last event delivered (a
server resuming from an older id, a proxy re-sending, several servers behind one name). So the
check sits where the overlap can be: at the start of each connection.

- It keeps the ids of the last ``window`` delivered events in a bounded deque (one C-level
  ``extend`` per chunk drops the oldest; the events themselves, and their data, are not held).
- When a connection opens (``connected()``), the ids of those events become a set, and each of
  the first ``window`` events of the new connection is checked against it (and added to it). A
  chunk is checked with set operations in C (``isdisjoint``), the common case of no duplicate;
  only a chunk that holds one is filtered event by event.
- Past its first ``window`` events a connection is streaming live, not replaying, and its events
  are not checked: the receive path then costs nothing per event.

Events without an ``id:`` field are never duplicates.
"""

from __future__ import annotations

from collections import deque
from operator import itemgetter

from ..protocol import Event

__all__ = ["DEDUP_WINDOW", "RecentIds"]

#: Events remembered, and events checked after each (re)connect: a replay overlap longer than
#: this goes undetected. 10,000 covers the replay window of a default server log; building the
#: set costs about a millisecond per reconnect.
DEDUP_WINDOW = 10_000

_id_of = itemgetter(3)  # Event.id; itemgetter is faster than the NamedTuple's property


class RecentIds:
    """Drops events whose id was delivered recently, near a (re)connect; counts the drops."""

    __slots__ = ("_check", "_checked", "_ids", "duplicates", "window")

    def __init__(self, window: int = DEDUP_WINDOW) -> None:
        if window < 1:
            raise ValueError("window must be >= 1")
        self.window = window
        self.duplicates = 0
        self._ids: deque[str | None] = deque(maxlen=window)  # the last ``window`` ids
        self._check: set[str | None] | None = None  # ids to check against, while replaying
        self._checked = 0

    def connected(self) -> None:
        """A new connection opened: its first ``window`` events may overlap what came before."""
        ids = set(self._ids)
        ids.discard(None)
        self._check = ids
        self._checked = 0

    def fresh(self, events: list[Event]) -> list[Event]:
        """The events whose ids were not seen before (all of them, usually), remembering them."""
        check = self._check
        if check is not None:
            events = self._unseen(events, check)
            self._checked += len(events)
            if self._checked >= self.window:
                self._check = None  # live streaming now; stop paying for the check
        self._ids.extend(map(_id_of, events))
        return events

    def forget(self, n: int) -> None:
        """Forget the last ``n`` ids remembered: those events were not delivered after all."""
        pop = self._ids.pop
        for _ in range(min(n, len(self._ids))):
            pop()

    def _unseen(self, events: list[Event], check: set[str | None]) -> list[Event]:
        ids = list(map(_id_of, events))
        if check.isdisjoint(ids):
            batch = set(ids)
            batch.discard(None)
            if len(batch) == len(ids) - ids.count(None):  # no id twice within the chunk either
                check |= batch
                return events
        kept: list[Event] = []
        for ev in events:
            ev_id = ev.id
            if ev_id is not None:
                if ev_id in check:
                    self.duplicates += 1
                    continue
                check.add(ev_id)
            kept.append(ev)
        return kept
