"""The event log: what the server keeps so a reconnecting client can be replayed what it missed.

Theory of operation
-------------------
Every published event gets a per-channel sequence number ``seq`` (1, 2, 3, ...) and an id (by
default ``str(seq)``; a caller may choose its own). The log stores ``(seq, id, frame)`` where
``frame`` is the event already encoded as event-stream bytes, so a replay is a ``b"".join`` of
stored bytes: nothing is re-encoded and the replay goes out in one large write.

:class:`MemoryLog` is a ring of ``history`` slots per channel indexed by ``seq % history`` plus a
dict from id to ``seq``; finding where a replay starts is one dict lookup, never a scan.
:class:`SQLiteLog` writes every event to a SQLite file as well (one transaction per batch) and,
when opened, loads the newest ``history`` events of each channel back into its ring, so a
restarted server replays (and goes on numbering) exactly where the previous one stopped. A write
that fails (full disk, a lock held elsewhere) raises after the ring has the events, so the server
still delivers them live and reports the failure; the rows are written with the next batch.

A replay request names the last id the client saw. Three answers are possible:

* the id is held: replay everything after it, no gap;
* the id is the one just evicted from the ring: everything after it is still held, no gap;
* anything else (unknown, expired, from a previous server's memory, malformed): a gap. The caller
  tells the client so explicitly and replays everything still held.

The log is used from one thread only (the server's event-loop thread); it takes no locks.
"""

from __future__ import annotations

import collections
import contextlib
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple, Protocol, runtime_checkable

from ..errors import EventLogError

__all__ = [
    "DEFAULT_HISTORY",
    "SQLITE_BUSY_TIMEOUT",
    "EventLog",
    "MemoryLog",
    "Replay",
    "SQLiteLog",
    "StoredEvent",
    "open_log",
]

#: Events kept per channel by default: a few minutes of a fast ticker, a few MB at most.
DEFAULT_HISTORY = 10_000

#: SQLite rows beyond ``history`` are deleted once this many accumulate, so trimming costs one
#: indexed DELETE now and then instead of one per event.
_SQLITE_TRIM_EVERY = 1_000
#: Seconds a write waits for a lock another program holds on the file: the write runs on the
#: event loop, so waiting longer (SQLite's default is 5 s) would stall every client meanwhile.
SQLITE_BUSY_TIMEOUT = 0.05
#: The log holds every event's data: readable by its owner only.
_SQLITE_FILE_MODE = 0o600
#: SQLite's "database is locked" / "database table is locked" codes (SQLITE_BUSY, SQLITE_LOCKED).
_BUSY_CODES = (5, 6)


class StoredEvent(NamedTuple):
    """One event as held by a log (a ``NamedTuple``: built on every publish, cheaply)."""

    seq: int
    id: str
    frame: bytes


@dataclass(frozen=True, slots=True)
class Replay:
    """The answer to "what came after ``requested``?"."""

    #: The encoded events to send, oldest first.
    frames: list[bytes]
    #: Number of events in ``frames``.
    count: int
    #: Id of the last event in ``frames`` (``None`` when empty).
    last_id: str | None
    #: True when events after ``requested`` may be missing (unknown or expired id).
    gap: bool
    #: The oldest id the log still holds for the channel (for the gap signal).
    oldest: str | None


@runtime_checkable
class EventLog(Protocol):
    """The small interface a log implements (memory, SQLite; a Redis Streams log could too)."""

    def append(self, channel: str, event: StoredEvent) -> None:
        """Store ``event``; ``event.seq`` is one more than the channel's previous one."""

    def commit(self) -> None:
        """Make the events appended so far durable (called once per batch of publishes).

        Raises :class:`~sse_nb.errors.EventLogError` when they cannot be stored; what was
        appended is still replayed from memory.
        """

    def last(self, channel: str) -> StoredEvent | None:
        """The newest event of ``channel``."""

    def replay(self, channel: str, after: str | None) -> Replay:
        """Everything after id ``after`` (``None``: everything held, no gap)."""

    def close(self) -> None:
        """Release files and connections."""


class _Ring:
    """One channel's ring buffer: slots by ``seq % size`` plus an id index."""

    __slots__ = ("evicted_id", "first", "index", "last", "size", "slots")

    def __init__(self, size: int) -> None:
        self.size = size
        self.slots: list[StoredEvent | None] = [None] * size
        self.index: dict[str, int] = {}
        self.first = 0  # seq of the oldest held event (0: empty)
        self.last = 0  # seq of the newest held event
        self.evicted_id: str | None = None  # id of the event just before ``first``

    def append(self, ev: StoredEvent) -> None:
        pos = ev.seq % self.size
        old = self.slots[pos]
        if old is not None:
            self.evicted_id = old.id
            if self.index.get(old.id) == old.seq:
                del self.index[old.id]
        self.slots[pos] = ev
        # A repeated caller-given id points at its newest use.
        self.index[ev.id] = ev.seq
        self.last = ev.seq
        if self.first == 0:
            self.first = ev.seq
        elif self.last - self.first >= self.size:
            self.first = self.last - self.size + 1

    def trim(self, keep: int) -> int:
        """Forget all but the newest ``keep`` (>= 1) events; returns how many were dropped."""
        if not self.first:
            return 0
        start = max(self.first, self.last - keep + 1)
        for seq in range(self.first, start):
            ev = self.get(seq)
            if self.index.get(ev.id) == seq:
                del self.index[ev.id]
            self.slots[seq % self.size] = None
            self.evicted_id = ev.id
        dropped, self.first = start - self.first, start
        return dropped

    def get(self, seq: int) -> StoredEvent:
        ev = self.slots[seq % self.size]
        assert ev is not None and ev.seq == seq
        return ev

    def replay(self, after: str | None) -> Replay:
        oldest = self.get(self.first).id if self.first else None
        if after is None or after == self.evicted_id:
            start, gap = self.first, False
        elif after in self.index:
            start, gap = self.index[after] + 1, False
        else:
            start, gap = self.first, True
        if start == 0 or start > self.last:
            return Replay([], 0, None, gap, oldest)
        frames = [self.get(s).frame for s in range(start, self.last + 1)]
        return Replay(frames, len(frames), self.get(self.last).id, gap, oldest)


class MemoryLog:
    """A bounded in-memory ring per channel: O(1) lookup of where a replay starts."""

    def __init__(self, history: int = DEFAULT_HISTORY) -> None:
        if isinstance(history, bool) or not isinstance(history, int) or history < 1:
            raise ValueError(f"history must be a positive int, not {history!r}")
        self.history = history
        self._rings: dict[str, _Ring] = {}

    def _ring(self, channel: str) -> _Ring:
        ring = self._rings.get(channel)
        if ring is None:
            ring = self._rings[channel] = _Ring(self.history)
        return ring

    def append(self, channel: str, event: StoredEvent) -> None:
        """Keep ``event`` in the channel's ring; the oldest beyond ``history`` is forgotten."""
        self._ring(channel).append(event)

    def commit(self) -> None:
        """Nothing to do: memory is as durable as it gets."""

    def last(self, channel: str) -> StoredEvent | None:
        """The newest event of ``channel`` (``None``: nothing published there yet)."""
        ring = self._rings.get(channel)
        return ring.get(ring.last) if ring is not None and ring.last else None

    def replay(self, channel: str, after: str | None) -> Replay:
        """Everything held after id ``after``, with the gap flag when ``after`` is not held
        (``None``: everything held, no gap); finding the start is one dict lookup."""
        ring = self._rings.get(channel)
        if ring is None:
            return Replay([], 0, None, after is not None, None)
        return ring.replay(after)

    def trim(self, channel: str, keep: int) -> int:
        """Forget all but the newest ``keep`` events of ``channel`` (a fault: a resume from an
        older id then gets the gap signal); returns how many were dropped."""
        if keep < 1:
            raise ValueError(f"keep must be >= 1, not {keep!r}")
        ring = self._rings.get(channel)
        return ring.trim(keep) if ring is not None else 0

    def close(self) -> None:
        """Forget every event (memory holds nothing else to release)."""
        self._rings.clear()


class SQLiteLog(MemoryLog):
    """A :class:`MemoryLog` backed by a SQLite file, so a restarted server still replays.

    The file is claimed for this log alone (SQLite's exclusive locking mode): a second server on
    the same file gets :class:`~sse_nb.errors.EventLogError` ("log file in use") instead of
    numbering over the first one's rows. Rows are written at :meth:`commit`, once per batch; a
    failed write raises :class:`~sse_nb.errors.EventLogError` naming the file, and its rows are
    kept (up to ``history`` per channel) to be written with the next batch. The memory ring is
    updated first either way, so live delivery and replay in this process never depend on the
    disk.
    """

    def __init__(self, path: str | Path, history: int = DEFAULT_HISTORY) -> None:
        super().__init__(history)
        self.path = Path(path)
        self._unwritten: dict[str, collections.deque[StoredEvent]] = {}
        self._since_trim: dict[str, int] = {}
        self._db: sqlite3.Connection | None = None
        try:
            self._db = self._open()
            self._load()
        except BaseException:
            if self._db is not None:
                self._db.close()
            raise

    def _open(self) -> sqlite3.Connection:
        where = str(self.path)
        try:
            # Created here, owner-only, before SQLite sees it: SQLite would create it (and its
            # -wal file, which copies the file's mode) readable by every local user.
            fd = os.open(where, os.O_RDWR | os.O_CREAT, _SQLITE_FILE_MODE)
            os.close(fd)
        except OSError as exc:
            raise EventLogError(f"cannot open the event log {where}: {exc.strerror}") from None
        db: sqlite3.Connection | None = None
        try:
            # The log is only touched by the server's loop thread, but that thread is chosen
            # after the log is opened (at start()), so the same-thread check would get in the way.
            db = sqlite3.connect(
                where,
                timeout=SQLITE_BUSY_TIMEOUT,
                isolation_level=None,
                check_same_thread=False,
            )
            # Exclusive before WAL: the lock taken by the first write below is then held until
            # close, and the WAL index lives in this process's memory (no -shm file).
            db.execute("PRAGMA locking_mode=EXCLUSIVE")
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("BEGIN IMMEDIATE")
            db.execute(
                "CREATE TABLE IF NOT EXISTS events ("
                " channel TEXT NOT NULL, seq INTEGER NOT NULL, id TEXT NOT NULL,"
                " frame BLOB NOT NULL, PRIMARY KEY (channel, seq))"
            )
            db.execute("COMMIT")
        except sqlite3.Error as exc:
            if db is not None:
                db.close()
            if getattr(exc, "sqlite_errorcode", None) in _BUSY_CODES:
                raise EventLogError(
                    f"log file in use: {where} is held by another server (or another program); "
                    "give each server its own file"
                ) from None
            raise EventLogError(f"cannot open the event log {where}: {exc}") from None
        return db

    def _load(self) -> None:
        assert self._db is not None
        try:
            channels = [r[0] for r in self._db.execute("SELECT DISTINCT channel FROM events")]
            for channel in channels:
                rows = self._db.execute(
                    "SELECT seq, id, frame FROM events WHERE channel = ? ORDER BY seq DESC LIMIT ?",
                    (channel, self.history + 1),
                ).fetchall()
                # Only the newest run of consecutive seqs: the ring needs them without holes.
                held = 1
                while held < len(rows) and rows[held][0] == rows[held - 1][0] - 1:
                    held += 1
                ring = self._ring(channel)
                for seq, eid, frame in reversed(rows[:held]):
                    ring.append(StoredEvent(seq, eid, bytes(frame)))
        except sqlite3.Error as exc:
            raise EventLogError(f"cannot read the event log {self.path}: {exc}") from None

    def append(self, channel: str, event: StoredEvent) -> None:
        """Keep ``event`` in memory at once; it reaches the file at the next :meth:`commit`."""
        super().append(channel, event)
        rows = self._unwritten.get(channel)
        if rows is None:
            # What a reload reads back (``history`` events and the one evicted just before
            # them); older rows would be trimmed anyway, so a long outage keeps no more.
            rows = self._unwritten[channel] = collections.deque(maxlen=self.history + 1)
        rows.append(event)

    def commit(self) -> None:
        """Write the rows appended since the last successful commit, in one transaction."""
        if not self._unwritten or self._db is None:
            return
        db = self._db
        try:
            db.execute("BEGIN")
            for channel, rows in self._unwritten.items():
                db.executemany(
                    "INSERT OR REPLACE INTO events (channel, seq, id, frame) VALUES (?, ?, ?, ?)",
                    [(channel, ev.seq, ev.id, ev.frame) for ev in rows],
                )
            db.execute("COMMIT")
        except sqlite3.Error as exc:
            if db.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    db.execute("ROLLBACK")
            kept = sum(len(rows) for rows in self._unwritten.values())
            raise EventLogError(
                f"cannot write to the event log {self.path}: {exc} "
                f"({kept} event(s) not stored yet; retried with the next batch)"
            ) from None
        written, self._unwritten = self._unwritten, {}
        for channel, rows in written.items():
            self._trim(channel, rows[-1].seq, len(rows))

    def _trim(self, channel: str, last_seq: int, added: int) -> None:
        # Counted per channel: one counter for all would let every channel but the one that
        # happens to reach the threshold grow without bound.
        count = self._since_trim.get(channel, 0) + added
        if count < _SQLITE_TRIM_EVERY:
            self._since_trim[channel] = count
            return
        self._since_trim[channel] = 0
        assert self._db is not None
        # A failed trim costs disk space, never events: it is tried again next time.
        with contextlib.suppress(sqlite3.Error):
            self._db.execute(
                "DELETE FROM events WHERE channel = ? AND seq < ?",
                (channel, last_seq - self.history),
            )

    def trim(self, channel: str, keep: int) -> int:
        """Forget all but the newest ``keep`` events of ``channel``, in the file too, so a
        restarted server does not bring them back; returns how many were dropped."""
        dropped = super().trim(channel, keep)
        ring = self._rings.get(channel)
        if not dropped or ring is None or self._db is None:
            return dropped
        first = ring.first
        rows = self._unwritten.get(channel)
        if rows is not None:  # not written yet: they must not reach the file at the next commit
            self._unwritten[channel] = collections.deque(
                (ev for ev in rows if ev.seq >= first), maxlen=rows.maxlen
            )
        try:
            self._db.execute("DELETE FROM events WHERE channel = ? AND seq < ?", (channel, first))
        except sqlite3.Error as exc:
            raise EventLogError(f"cannot trim the event log {self.path}: {exc}") from None
        return dropped

    def close(self) -> None:
        """Write what is left and release the file (also when that last write fails)."""
        if self._db is None:
            return
        try:
            self.commit()
        finally:
            db, self._db = self._db, None
            db.close()
            super().close()


def open_log(log: EventLog | str | Path | None, history: int | None) -> EventLog:
    """The log a server keeps: ``log`` itself, or one it makes of ``history`` events per channel
    (``None``: :data:`DEFAULT_HISTORY`), in memory (``log=None``) or in the SQLite file ``log``.

    A log object was sized when it was made, so a ``history`` given with one is refused: a size
    that silently did nothing would shorten (or lengthen) replay behind the caller's back.
    """
    if log is None or isinstance(log, (str, Path)):
        size = DEFAULT_HISTORY if history is None else history
        return MemoryLog(size) if log is None else SQLiteLog(log, size)
    if history is not None:
        raise ValueError(
            f"history={history!r} sizes the log the server makes itself (log=None or a file "
            f"path); {_own_size(log)}"
        )
    return log


def _own_size(log: EventLog) -> str:
    """Where the size of the log object ``log`` is given, in words."""
    name = type(log).__name__
    if isinstance(log, SQLiteLog):
        return f"give {name}(path, history=N) its size"
    if isinstance(log, MemoryLog):
        return f"give {name}(history=N) its size"
    if hasattr(log, "maxlen"):  # RedisEventLog, which log.py cannot import (it imports log.py)
        return f"give {name}(..., maxlen=N) its size"
    return f"size the {name} itself"
