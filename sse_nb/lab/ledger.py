"""The exactly-once ledger: ids expected against ids received, across every reconnect, live.

The ledger follows one client (``EventSource``, ``AsyncEventSource`` or the page's
``BrowserEventSource``) and books every event id it delivers, numbering connections as they
open. With integer ids (``EventServer``'s default: ``1``, ``2``, ...) it knows what it should
have seen: every id from the first one received up to the highest one sent (the server's
``last_id`` when the ledger is given the server, else the highest received). So it reports:

- *lost*: ids in that range never received (an id skipped when a later one arrives is booked
  as lost at that connection; it is struck off again if it turns up late);
- *duplicated*: an id received a second time;
- *out of order*: an id lower than one already received, the first time it arrives.

Events without an id (the gap signal, plain messages) are counted, not booked. ``verdict()`` is
the check a notebook ends with: ``"0 lost, 0 duplicated, 0 out of order"`` or what went wrong.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anywidget
import traitlets

from ..protocol import GAP_EVENT, ReadyState
from ..widgets import Flusher, Follower, stop_following

__all__ = ["MAX_ANOMALIES", "Book", "Ledger", "Verdict"]

#: Anomalies listed one by one; beyond this they are only counted (a wrong server can lose
#: millions of ids, and the view must stay small).
MAX_ANOMALIES = 200


@dataclass(frozen=True)
class Verdict:
    """The ledger's account at one moment."""

    received: int
    expected: int
    lost: int
    duplicated: int
    out_of_order: int
    connections: int
    gaps: int
    #: (kind, id or "first-last" range, connection number), oldest first, at most MAX_ANOMALIES.
    anomalies: tuple[tuple[str, str, int], ...]

    @property
    def ok(self) -> bool:
        return not (self.lost or self.duplicated or self.out_of_order)

    def __str__(self) -> str:
        return (
            f"{self.lost} lost, {self.duplicated} duplicated, {self.out_of_order} out of order "
            f"({self.received} of {self.expected} expected ids received over "
            f"{self.connections} connection(s))"
        )


class Book:
    """The accounting alone, fed ids by whoever follows the client; thread-safe, no widget."""

    def __init__(self, expected_last: Callable[[], int | None] | None = None) -> None:
        self._lock = threading.Lock()
        self._expected_last = expected_last
        self.connection = 0
        self.received = 0
        self.gaps = 0
        self._seen: set[int] = set()
        self._first: int | None = None
        self._max: int | None = None
        self._missing: dict[int, int] = {}  # id -> connection at which it was skipped
        self.duplicated = 0
        self.out_of_order = 0
        self._anomalies: list[tuple[str, str, int]] = []
        self.version = 0

    def opened(self) -> None:
        with self._lock:
            self.connection += 1
            self.version += 1

    def gap(self) -> None:
        with self._lock:
            self.gaps += 1
            self._note("gap signal", "", self.connection)

    def event(self, event_id: str | None) -> None:
        with self._lock:
            self.received += 1
            self.version += 1
            if not event_id or not event_id.isdigit():
                return
            n = int(event_id)
            conn = self.connection
            if n in self._seen:
                self.duplicated += 1
                self._note("duplicated", event_id, conn)
                return
            self._seen.add(n)
            if self._first is None or self._max is None:
                self._first = self._max = n
                return
            if n < self._max:
                self.out_of_order += 1
                self._note("out of order", event_id, conn)
                if self._missing.pop(n, None) is not None:
                    return
                if n < self._first:
                    self._first = n
                return
            if n > self._max + 1:
                skipped = range(self._max + 1, n)
                for k in skipped:
                    self._missing[k] = conn
                span = f"{skipped[0]}" if len(skipped) == 1 else f"{skipped[0]}-{skipped[-1]}"
                self._note("lost", span, conn)
            self._max = n

    def _note(self, kind: str, what: str, conn: int) -> None:
        if len(self._anomalies) < MAX_ANOMALIES:
            self._anomalies.append((kind, what, conn))

    def verdict(self) -> Verdict:
        last = self._expected_last() if self._expected_last is not None else None
        with self._lock:
            top = self._max if self._max is not None else 0
            tail = max(0, (last or 0) - top) if self._first is not None else 0
            expected = (top - self._first + 1 if self._first is not None else 0) + tail
            anomalies = list(self._anomalies)
            if tail:
                span = f"{top + 1}" if tail == 1 else f"{top + 1}-{top + tail}"
                anomalies.append(("not received (yet)", span, self.connection))
            return Verdict(
                received=self.received,
                expected=expected,
                lost=len(self._missing) + tail,
                duplicated=self.duplicated,
                out_of_order=self.out_of_order,
                connections=self.connection,
                gaps=self.gaps,
                anomalies=tuple(anomalies[:MAX_ANOMALIES]),
            )


def _int_or_none(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


class Ledger(anywidget.AnyWidget):
    """``Ledger(es, server=server)``: lost, duplicated and out-of-order ids of ``es``, live.

    ``es`` is an ``EventSource``, an ``AsyncEventSource`` or a ``BrowserEventSource``; follow it
    from before it connects to book every event. ``server`` (optional) says what was sent:
    ids up to ``server.last_id(channel)`` are expected.
    """

    _esm = Path(__file__).parent / "static" / "ledger.js"

    summary = traitlets.Dict().tag(sync=True)
    anomalies = traitlets.List(traitlets.List()).tag(sync=True)

    def __init__(
        self,
        source: Any,
        *,
        server: Any = None,
        channel: str = "default",
        flusher: Flusher | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        expected = (lambda: _int_or_none(server.last_id(channel))) if server is not None else None
        self.book = Book(expected)
        self.follower = Follower(self._flush, flusher)
        self.flusher = self.follower.flusher
        self._shown = -1
        if hasattr(source, "tap"):  # a Python client
            self.follower.follow(source.on("state", self._state))
            self.follower.follow(source.on("*", self._event))
            if source.ready_state == ReadyState.OPEN:
                self.book.opened()
        else:  # the page's BrowserEventSource: its view's traits and history rows report
            self._rows = 0
            view = source.view
            view.observe(self._browser_state, names="ready_state")
            view.observe(self._browser_events, names="events_received")
            self.follower.follow(lambda: view.unobserve(self._browser_state, names="ready_state"))
            self.follower.follow(
                lambda: view.unobserve(self._browser_events, names="events_received")
            )
            self._browser = source
            if source.ready_state == ReadyState.OPEN:
                self.book.opened()
        self.flusher.request()

    def verdict(self) -> Verdict:
        """The account now: ``str(ledger.verdict())`` reads "0 lost, 0 duplicated, ..."."""
        return self.book.verdict()

    def _state(self, transition: Any) -> None:
        if transition.state == ReadyState.OPEN:
            self.book.opened()
        self.flusher.request()

    def _event(self, event: Any) -> None:
        if event.type == GAP_EVENT:
            self.book.gap()
        else:
            self.book.event(event.id)
        self.flusher.request()

    def _browser_state(self, change: Any) -> None:
        if change["new"] == int(ReadyState.OPEN):
            self.book.opened()
        self.flusher.request()

    def _browser_events(self, _change: Any) -> None:
        rows = self._browser.history  # [n, id, type, data, time], numbered by the page
        for row in rows:
            if row[0] > self._rows:
                self._rows = row[0]
                if row[2] == GAP_EVENT:
                    self.book.gap()
                else:
                    self.book.event(row[1] or None)
        self.flusher.request()

    def _flush(self) -> None:
        v = self.book.verdict()
        summary = {
            "received": v.received,
            "expected": v.expected,
            "lost": v.lost,
            "duplicated": v.duplicated,
            "out_of_order": v.out_of_order,
            "connections": v.connections,
            "gaps": v.gaps,
            "text": str(v),
        }
        if summary == self.summary:
            return
        with self.hold_sync():
            self.summary = summary
            self.anomalies = [list(a) for a in v.anomalies]

    def close(self) -> None:
        """Stop following the client."""
        stop_following(self)
        super().close()
