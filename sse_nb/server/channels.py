"""Channels and the publish pipeline: number events on any thread, hand them out on the loop.

Theory of operation
-------------------
``add()`` may run on any thread: it numbers and encodes the event under a lock and appends it
to a pending list. The first ``add()`` after a drain tells its caller to schedule ONE drain on
the loop, whatever number of events piles up meanwhile. ``drain()`` (loop thread) appends them to
the log, commits once, and sends each channel's batch, joined once, to every subscriber. When
more than :data:`MAX_PENDING_EVENTS` wait, the publishing thread waits for a drain
(``wait_drained``): that is the backpressure.

A log that fails to store a batch (a full disk) does not stop it: the batch still goes out live,
the failure is kept as ``log_error``, logged once, and raised by the next ``add()``.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from ..errors import EventLogError
from ..protocol import check_id, encode_event
from .connection import Connection
from .log import EventLog, StoredEvent
from .reasons import CloseReason
from .shared import SharedLog

__all__ = ["CHANNEL_PATTERN", "MAX_PENDING_EVENTS", "Accepted", "Channel", "Pipeline"]

#: Channel names: one URL path segment of safe characters, so ``url_for()`` needs no quoting.
CHANNEL_PATTERN = r"[A-Za-z0-9_.:~-]{1,128}"
#: Events published but not yet handed to the sockets, beyond which ``publish()`` from another
#: thread waits for the loop to hand them out. Without it a publisher in a tight loop outruns the
#: loop without bound (memory) and, holding the GIL, starves it (each ``send()`` lets the GIL go).
MAX_PENDING_EVENTS = 2_000

_CHANNEL_RE = re.compile(CHANNEL_PATTERN)

logger = logging.getLogger("sse_nb.server")


def valid_channel(name: object) -> bool:
    return isinstance(name, str) and _CHANNEL_RE.fullmatch(name) is not None


def check_channel(name: str, known: Mapping[str, object] = {}) -> None:
    """Refuse a channel name that is not one URL path segment of safe characters."""
    if isinstance(name, str) and name in known:
        return  # the common case: a channel already in use was checked when first used
    if not valid_channel(name):
        raise ValueError(f"channel {name!r} is not a valid name: 1-128 of A-Z a-z 0-9 _ . : ~ -")


def event_text(data: Any) -> str:
    """``data`` as sent: a ``str`` as is, anything else as JSON."""
    if isinstance(data, str):
        return data
    try:
        return json.dumps(data)
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"data must be a str or JSON-serialisable, not {type(data).__name__}: {exc}"
        ) from None


class Channel:
    """One channel's numbering, subscribers and whether it was closed for good."""

    __slots__ = ("closed", "last_id", "name", "seq", "subscribers")

    def __init__(self, name: str, seq: int, last_id: str | None) -> None:
        self.name = name
        self.seq = seq
        self.last_id = last_id
        self.subscribers: dict[Connection, None] = {}
        self.closed = False


class Accepted(NamedTuple):
    """What ``Pipeline.add()`` tells the publishing thread to do next."""

    #: The event's id.
    id: str
    #: True for the first event since the last drain: schedule a drain on the loop.
    schedule: bool
    #: True when :data:`MAX_PENDING_EVENTS` wait: wait for the drain counted by ``drains``.
    backlog: bool
    drains: int


class Pipeline:
    """The channels of one server and the events on their way from ``publish()`` to sockets."""

    def __init__(
        self, log: EventLog, shared: SharedLog | None, on_drained: Callable[[], None]
    ) -> None:
        self.log = log
        #: A log many processes share numbers the events and feeds subscribers by its tail:
        #: ``add()`` then only appends to it (see ``shared.py``).
        self.shared = shared
        self.channels: dict[str, Channel] = {}
        self.published = 0
        self._on_drained = on_drained
        self._lock = threading.Lock()  # guards numbering, pending, counters
        self._pending: list[tuple[Channel, StoredEvent]] = []
        # Notified when a drain has handed its events to the sockets (see MAX_PENDING_EVENTS).
        self._drained = threading.Condition(self._lock)
        self._drains = 0
        self._drain_scheduled = False
        #: The log's last write failure, ``None`` once a later write succeeded.
        self.log_error: Exception | None = None
        self._log_error_unraised = False

    @property
    def error(self) -> Exception | None:
        """The log's failure: the last write's, or a shared log's "unavailable since ..."."""
        return self.shared.error if self.shared is not None else self.log_error

    @property
    def count(self) -> int:
        """Events published by this process, all channels."""
        return self.shared.published if self.shared is not None else self.published

    def last_id(self, channel: str) -> str | None:
        """The newest id of ``channel`` this process knows (also from an earlier run's log)."""
        if self.shared is not None:
            return self.shared.last_id(channel)
        return self.channel(channel).last_id

    @property
    def pending(self) -> int:
        """Events published and not yet drained."""
        return len(self._pending)

    def channel(self, name: str) -> Channel:
        """The channel ``name``, created (numbered on from the log) on first use."""
        with self._lock:
            return self._channel(name)

    def _channel(self, name: str) -> Channel:
        ch = self.channels.get(name)
        if ch is None:
            last = self.log.last(name)
            ch = Channel(name, last.seq if last else 0, last.id if last else None)
            self.channels[name] = ch
        return ch

    def add(self, channel: str, data: Any, event: str | None, id: str | None) -> Accepted:
        """Check, number, encode and queue one event; any thread (``publish()``'s first half)."""
        text = event_text(data)
        if self.shared is not None:
            if self.channel(channel).closed:
                raise RuntimeError(f"channel {channel!r} is closed; nothing more can be published")
            return Accepted(self.shared.publish(channel, text, event, id), False, False, 0)
        if id is not None:
            check_id(id)
        with self._lock:
            if self._log_error_unraised and self.log_error is not None:
                self._log_error_unraised = False
                raise EventLogError(
                    f"this event was not published: {self.log_error}; earlier events were "
                    "delivered live (see server.log_error)"
                ) from self.log_error
            ch = self._channel(channel)
            if ch.closed:
                raise RuntimeError(f"channel {channel!r} is closed; nothing more can be published")
            seq = ch.seq + 1
            eid = id if id is not None else str(seq)
            frame = encode_event(text, event=event, id=eid)
            ch.seq = seq
            ch.last_id = eid
            self.published += 1
            self._pending.append((ch, StoredEvent(seq, eid, frame)))
            schedule = not self._drain_scheduled
            self._drain_scheduled = True
            backlog = len(self._pending) >= MAX_PENDING_EVENTS
            return Accepted(eid, schedule, backlog, self._drains)

    def wait_drained(self, drains: int, timeout: float) -> None:
        """Wait (GIL released) until a drain after the one counted by ``drains`` has run."""
        with self._drained:
            self._drained.wait_for(lambda: self._drains != drains, timeout)

    def drain(self) -> None:
        """Log the pending events and send each channel's batch to its subscribers; loop thread."""
        with self._lock:
            pending, self._pending = self._pending, []
            self._drain_scheduled = False
        batches: dict[Channel, list[StoredEvent]] = {}
        failure: Exception | None = None
        for ch, ev in pending:
            try:
                self.log.append(ch.name, ev)
            except Exception as exc:
                failure = failure or exc
            batches.setdefault(ch, []).append(ev)
        try:
            self.log.commit()
        except Exception as exc:
            failure = failure or exc
        # The batch has left the pending list: it goes out live whatever the log said.
        self.log_result(failure)
        for ch, events in batches.items():
            if not ch.subscribers:
                continue
            data = events[0].frame if len(events) == 1 else b"".join(e.frame for e in events)
            last = events[-1].id
            for conn in list(ch.subscribers):
                conn.send(data, len(events), last)
        with self._drained:
            self._drains += 1
            self._drained.notify_all()
        self._on_drained()

    def log_result(self, failure: Exception | None) -> None:
        """Record a log write: a failure is kept, logged once, raised by the next ``add()``."""
        if failure is None:
            if self.log_error is not None:
                logger.warning("sse_nb: the event log is writable again")
                self.log_error = None
            return
        first = self.log_error is None
        with self._lock:
            self.log_error = failure
            self._log_error_unraised = True
        if first:
            logger.error("sse_nb: %s; the events were still delivered live", failure)

    # -- what a shared log asks of its host (shared.LogHost), on the loop thread ------------

    def deliver(self, channel: str, data: bytes, count: int, last_id: str) -> None:
        """Send events a shared log's tail read to the channel's subscribers."""
        ch = self.channels.get(channel)
        if ch is not None:
            for conn in list(ch.subscribers):
                conn.send(data, count, last_id)
        self._on_drained()

    def resync(self, channel: str) -> int:
        """End the channel's live streams (returns how many); their clients resume."""
        ch = self.channels.get(channel)
        if ch is None:
            return 0
        return sum(c.close(CloseReason.DROPPED_BY_SERVER) for c in list(ch.subscribers))

    def changed(self) -> None:
        self._on_drained()

    def subscribers(self) -> list[Connection]:
        """Every open subscriber of every channel; loop thread."""
        return [c for ch in list(self.channels.values()) for c in list(ch.subscribers)]
