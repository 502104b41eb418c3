"""``RedisEventLog``: one event log on Redis Streams, shared by many server processes.

``EventServer(log=RedisEventLog("redis://127.0.0.1:6379/0"))``: every process on the same URL
and prefix serves the same channels, so a client can resume on any of them. Needs the extra
``sse_nb[redis]`` and Redis >= 7.0 (or Valkey).

Theory of operation
-------------------
Each channel is one stream, key ``<prefix>:<channel>``; an event is one entry ``{data, event}``
and its id is the entry id Redis assigns (``1717171717171-0``). Stream ids are totally ordered,
the same in every process: that order is what every guarantee below is cut along.

**Publishing** is one ``XADD ... MAXLEN`` on a blocking client, from the caller's thread
(:class:`~sse_nb.server.publisher.RedisPublisher`): it returns the id, or raises
``LogUnavailable`` at once. Nothing is queued, so nothing is dropped silently. Publishing does
not touch local subscribers: entries reach them only through the tail, this process's own
entries included, so that every process delivers the one order Redis decided.

**The tail**: one task per channel per process, on the server's loop. Its position is a pair
(P, A_P): the stream's ``last-generated-id`` and ``entries-added`` (how many entries were ever
appended) at its last read, taken together from one ``XINFO STREAM``. It waits with
``XREAD BLOCK`` (a wake-up only), then reads in one ``MULTI``: ``XINFO STREAM`` and
``XRANGE (P +``. Entries added after P number A - A_P; if fewer are held, some were trimmed
(``MAXLEN``) or deleted before this process read them, and its live clients would miss them
silently. So they are ended instead (``LogHost.resync``): they reconnect with ``Last-Event-ID``
and get the gap signal. Otherwise the batch is encoded once and handed to every subscriber as
shared bytes, and the position moves to (last-generated-id, A).

**Joining, the replay→live seam**: a connection that resumes after R becomes a *joiner* of the
tail in the loop step the handler hands it over, at the tail's position U; from then on each
batch the tail delivers is appended to its buffer as well. Its replay is read in one ``MULTI``:
``XINFO STREAM``, ``XRANGE R R`` (is R held?) and ``XRANGE (R U``. When that arrives, in ONE
loop step, the connection is sent the replay (R, U] and its buffer (U, P], and becomes a
subscriber, so the tail's next batch starts after P. Both halves are cut at ids of one ordered
stream, so each entry goes out once, whatever other processes published during the replay.
A connection without ``Last-Event-ID`` goes live at once, at U. If R is ahead of U (the client
comes from a process whose tail ran ahead), the joiner waits until this tail passes R and
keeps only ids after R.

**The gap rule**: R resumes without a gap when R is held and nothing after it was deleted
(``max-deleted-entry-id`` <= R; ``XDEL`` moves it, trimming only removes the oldest entries).
Anything else (an id older than the trimmed stream, an id this stream never had, a malformed
id) gets the gap signal, then everything held up to U. An id trimmed just now counts as
trimmed: the signal may be given when nothing gone was missed, never withheld when it was.

**Redis going away**: any failed round trip marks the log unavailable: ``error`` says "log
unavailable since ..." (``EventServer.log_error``, the server panel), a warning goes to the log,
and the server's views are told. The tail and pending replays retry with capped
backoff; live streams stay open and heartbeats go on. When Redis answers again the tail reads
on from P, so entries published meanwhile by others still arrive, and a trim past P is caught
by the count check above. Pending joiners wait, connected, until their replay can be read.

Threads: ``publish()`` runs on the caller's thread; everything else on the server's loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from typing import TYPE_CHECKING, Any

from ..errors import LogUnavailable
from ..protocol import encode_event
from .log import DEFAULT_HISTORY, Replay, StoredEvent
from .publisher import (
    DEFAULT_PREFIX,
    LOG_TIMEOUT,
    RedisPublisher,
    now_text,
    parse_stream_id,
    redact_url,
    redis_module,
    stream_key,
    unreachable,
)
from .reasons import CloseReason
from .shared import LogHost, Ready

if TYPE_CHECKING:
    from .connection import Connection

__all__ = [
    "JOIN_BUFFER_LIMIT",
    "RETRY_FIRST",
    "RETRY_MAX",
    "TAIL_BLOCK_MS",
    "RedisEventLog",
]

logger = logging.getLogger("sse_nb.server")

#: How long one ``XREAD BLOCK`` waits (ms): well under ``LOG_TIMEOUT``, so a healthy idle wait
#: never looks like an outage, and a dead connection is noticed within one period.
TAIL_BLOCK_MS = 2_000
#: First wait before a failed tail or replay read is retried (seconds).
RETRY_FIRST = 0.05
#: Longest wait between retries while Redis is away: a returning Redis is noticed quickly.
RETRY_MAX = 2.0
#: Bytes a joiner may buffer while its replay is read; past it the connection is ended
#: ("slow consumer") and the client resumes later, as a live client too slow would.
JOIN_BUFFER_LIMIT = 16 * 1024 * 1024

_Entry = tuple[str, dict[str, str]]


def _frame(entry: _Entry) -> bytes:
    eid, fields = entry
    return encode_event(fields.get("data", ""), event=fields.get("event"), id=eid)


class _Backoff:
    __slots__ = ("delay",)

    def __init__(self) -> None:
        self.delay = RETRY_FIRST

    def next(self) -> float:
        delay, self.delay = self.delay, min(self.delay * 2, RETRY_MAX)
        return delay

    def reset(self) -> None:
        self.delay = RETRY_FIRST


class _Joiner:
    """A connection waiting for its replay; collects what the tail delivers meanwhile."""

    __slots__ = ("buffer", "buffered", "conn", "floor", "ready", "resume", "task", "upto")

    def __init__(self, conn: Connection, resume: str | None, ready: Ready) -> None:
        self.conn = conn
        self.resume = resume
        self.ready = ready
        self.upto: str | None = None  # the tail's position when the replay was cut
        self.floor: tuple[int, int] | None = None  # set when R is ahead of the tail
        self.buffer: list[tuple[tuple[int, int], str, bytes]] = []
        self.buffered = 0
        self.task: asyncio.Task[None] | None = None


class _Tail:
    """One channel's reader: position, subscribers' feed, joiners."""

    __slots__ = ("added", "channel", "joiners", "key", "position", "task")

    def __init__(self, channel: str, key: str) -> None:
        self.channel = channel
        self.key = key
        self.position: str | None = None  # last-generated-id at the last read (None: unknown)
        self.added = 0  # entries-added at the last read
        self.joiners: list[_Joiner] = []
        self.task: asyncio.Task[None] | None = None


def _info_position(info: Any) -> tuple[str, int]:
    """(last-generated-id, entries-added) from ``XINFO STREAM``; a missing stream is (0-0, 0)."""
    if isinstance(info, Exception) or info is None:
        return "0-0", 0
    return str(info.get("last-generated-id", "0-0")), int(info.get("entries-added", 0))


def _missing(info: Any) -> bool:
    return isinstance(info, Exception) and "no such key" in str(info).lower()


class RedisEventLog:
    """An event log on Redis Streams that many server processes share.

    ``url``: ``redis://[user:password@]host:port/db`` (``rediss://`` for TLS); the password is
    never shown. ``prefix``: streams are ``<prefix>:<channel>``. ``maxlen``: entries kept per
    channel (trimmed on every ``XADD``). ``approximate``: trim with ``~`` (cheaper, keeps at
    least ``maxlen``) or exactly. ``timeout``: seconds a round trip may take.
    """

    def __init__(
        self,
        url: str,
        *,
        prefix: str = DEFAULT_PREFIX,
        maxlen: int = DEFAULT_HISTORY,
        approximate: bool = True,
        timeout: float = LOG_TIMEOUT,
    ) -> None:
        self._url = url
        self.url = redact_url(url)
        self.prefix = prefix
        self.maxlen = maxlen
        self.timeout = timeout
        self.publisher = RedisPublisher(
            url, prefix=prefix, maxlen=maxlen, approximate=approximate, timeout=timeout
        )
        self.publisher.on_outcome = self._outcome
        self._state_lock = threading.Lock()
        self._down_since: float | None = None
        self._down_why = ""
        self._host: LogHost | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._client: Any = None  # redis.asyncio.Redis, made on the server's loop
        self._tails: dict[str, _Tail] = {}
        self._background: set[asyncio.Task[Any]] = set()

    # -- availability ---------------------------------------------------------------------

    @property
    def unavailable_since(self) -> float | None:
        """Epoch seconds since Redis stopped answering; ``None`` while it answers."""
        return self._down_since

    @property
    def error(self) -> LogUnavailable | None:
        """``"log unavailable since 12:03:04 UTC (why)"`` while Redis is away, else ``None``.

        What ``EventServer.log_error`` and the server panel show.
        """
        since, why = self._down_since, self._down_why
        if since is None:
            return None
        return LogUnavailable(self.url, why, f"log unavailable since {now_text(since)} ({why})")

    def _outcome(self, error: BaseException | None) -> None:
        """Follow availability from any thread; tell the server when it changes."""
        with self._state_lock:
            if error is None:
                if self._down_since is None:
                    return
                took = time.time() - self._down_since
                self._down_since = None
                logger.warning("sse_nb: event log %s available again after %.1f s", self.url, took)
            else:
                if self._down_since is not None:
                    return
                self._down_since = time.time()
                self._down_why = f"{type(error).__name__}: {error}"
                logger.warning(
                    "sse_nb: event log %s unavailable since %s: %s",
                    self.url,
                    now_text(self._down_since),
                    self._down_why,
                )
        loop, host = self._loop, self._host
        if loop is not None and host is not None and not loop.is_closed():
            loop.call_soon_threadsafe(host.changed)

    # -- the EventLog interface (read-only here: ids are Redis's) ------------------------

    def append(self, channel: str, event: StoredEvent) -> None:
        """Refused: Redis assigns the ids, so events go in through :meth:`publish`."""
        raise TypeError(
            "a RedisEventLog assigns ids itself: publish with EventServer.publish() or "
            "RedisPublisher.publish()"
        )

    def commit(self) -> None:
        """Nothing to do: every ``XADD`` is its own write."""

    def last(self, channel: str) -> StoredEvent | None:
        """The newest id this process knows (no round trip; ``seq`` and ``frame`` unused)."""
        eid = self.last_id(channel)
        return StoredEvent(0, eid, b"") if eid is not None else None

    def replay(self, channel: str, after: str | None) -> Replay:
        """Everything held after ``after``, read now (a blocking round trip; for tools)."""
        client: Any = self.publisher.client
        key = stream_key(self.prefix, channel)
        try:
            if after is None:
                entries = client.xrange(key, "-", "+")
                oldest = entries[0][0] if entries else None
                gap = False
            else:
                gap, oldest, entries = _decide_sync(client, key, after, "+")
        except Exception as exc:
            if unreachable(exc):
                raise LogUnavailable(self.url, f"{type(exc).__name__}: {exc}") from None
            raise
        frames = [_frame(e) for e in entries]
        return Replay(frames, len(frames), entries[-1][0] if entries else None, gap, oldest)

    def trim(self, channel: str, keep: int) -> int:
        """Keep only the newest ``keep`` entries of ``channel``'s stream (exact ``XTRIM MAXLEN``,
        a fault: a resume from a trimmed id then gets the gap signal); returns how many were
        dropped. A blocking round trip, like :meth:`replay`."""
        if keep < 1:
            raise ValueError(f"keep must be >= 1, not {keep!r}")
        client: Any = self.publisher.client
        try:
            dropped = client.xtrim(stream_key(self.prefix, channel), maxlen=keep, approximate=False)
        except Exception as exc:
            if unreachable(exc):
                raise LogUnavailable(self.url, f"{type(exc).__name__}: {exc}") from None
            raise
        return int(dropped)

    def close(self) -> None:
        """Stop the tails and close both connections to Redis; the streams stay for others."""
        self.detach()
        self.publisher.close()

    # -- the SharedLog interface ------------------------------------------------------------

    @property
    def published(self) -> int:
        """Events this process appended (other processes' are not counted)."""
        return self.publisher.published

    def publish(self, channel: str, data: str, event: str | None, id: str | None) -> str:
        """``XADD`` one event; returns the stream id Redis gave it (``LogUnavailable`` when
        Redis does not answer)."""
        return self.publisher.append(channel, data, event, id)

    def last_id(self, channel: str) -> str | None:
        """The newest id this process has seen for ``channel``, by its tail or its own
        ``XADD`` (``None``: none yet)."""
        tail = self._tails.get(channel)
        known = [
            i
            for i in (tail.position if tail else None, self.publisher.last_published(channel))
            if i is not None and i != "0-0"
        ]
        return max(known, key=lambda i: parse_stream_id(i) or (0, 0)) if known else None

    def attach(self, host: LogHost, loop: asyncio.AbstractEventLoop) -> None:
        """Start feeding ``host`` on ``loop`` (the server's); tails start as channels are
        joined. Idempotent."""
        if self._host is not None:
            return
        rd = redis_module()
        self._host, self._loop = host, loop
        self._client = rd.asyncio.Redis.from_url(
            self._url,
            decode_responses=True,
            socket_connect_timeout=self.timeout,
            socket_timeout=self.timeout,
            retry=rd.asyncio.retry.Retry(rd.backoff.NoBackoff(), 0),
        )

    def detach(self) -> None:
        """Stop the tails, end pending joins ("server stopped"), close the async client."""
        tails, self._tails = self._tails, {}
        for tail in tails.values():
            if tail.task is not None:
                tail.task.cancel()
            for j in tail.joiners:
                if j.task is not None:
                    j.task.cancel()
                j.conn.close(CloseReason.SERVER_STOPPED)
            tail.joiners.clear()
        client, self._client = self._client, None
        self._host = None
        if client is not None and self._loop is not None and not self._loop.is_closed():
            with contextlib.suppress(RuntimeError):
                self._spawn(client.aclose())

    def join(self, channel: str, resume: str | None, conn: Connection, ready: Ready) -> None:
        """Read ``conn``'s replay after ``resume`` and call ``ready(replay)`` in the loop step
        where it may go live, so nothing the tail delivers meanwhile is lost or repeated."""
        tail = self._tail(channel)
        joiner = _Joiner(conn, resume, ready)
        tail.joiners.append(joiner)
        if tail.position is not None:
            self._cut(tail, joiner)
        # else: the tail's first read is under way; it cuts every waiting joiner.

    # -- tails ------------------------------------------------------------------------------

    def _spawn(self, coro: Any) -> asyncio.Task[Any]:
        assert self._loop is not None
        task = self._loop.create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return task

    def _tail(self, channel: str) -> _Tail:
        tail = self._tails.get(channel)
        if tail is None:
            if self._host is None:
                raise RuntimeError("the log is not attached to a running server")
            tail = self._tails[channel] = _Tail(channel, stream_key(self.prefix, channel))
            tail.task = self._spawn(self._run_tail(tail))
        return tail

    async def _run_tail(self, tail: _Tail) -> None:
        backoff = _Backoff()
        while True:
            try:
                if tail.position is None:
                    info = await self._xinfo(tail.key)
                    tail.position, tail.added = _info_position(info)
                    self._outcome(None)
                    for j in list(tail.joiners):
                        if j.upto is None:
                            self._cut(tail, j)
                woke = await self._client.xread(
                    {tail.key: tail.position}, count=1, block=TAIL_BLOCK_MS
                )
                self._outcome(None)
                backoff.reset()
                if woke:
                    await self._read(tail)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if not unreachable(exc):
                    logger.exception("sse_nb: the tail of %s failed; retrying", tail.key)
                else:
                    self._outcome(exc)
                await asyncio.sleep(backoff.next())

    async def _xinfo(self, key: str) -> Any:
        async with self._client.pipeline(transaction=True) as pipe:
            pipe.xinfo_stream(key)
            (info,) = await pipe.execute(raise_on_error=False)
        if isinstance(info, Exception) and not _missing(info):
            raise info
        return info

    async def _read(self, tail: _Tail) -> None:
        assert tail.position is not None
        async with self._client.pipeline(transaction=True) as pipe:
            pipe.xinfo_stream(tail.key)
            pipe.xrange(tail.key, "(" + tail.position, "+")
            info, entries = await pipe.execute(raise_on_error=False)
        if isinstance(info, Exception) and not _missing(info):
            raise info
        if isinstance(entries, Exception):
            raise entries
        position, added = _info_position(info)
        if self._host is None or self._tails.get(tail.channel) is not tail:
            return  # detached meanwhile
        # A smaller count means a new stream (Redis restarted without its data, or the key was
        # deleted): it continues this one when it holds everything it was ever given, all after
        # P. Entries the old one took after P and lost with it cannot be seen from here.
        since = added if added < tail.added else added - tail.added
        lost = len(entries) < since
        if lost:
            # Entries after P are gone before this process read them (trimmed, deleted, or the
            # stream was recreated): its clients resume from their own ids and hear of the gap.
            tail.position, tail.added = position, added
            ended = self._fail_joiners(tail, CloseReason.DROPPED_BY_SERVER)
            ended += self._host.resync(tail.channel)
            if ended:  # with no stream open, nobody missed anything
                logger.warning(
                    "sse_nb: %s lost entries before this process read them (%d added, %d held); "
                    "%d streams ended so that their clients resume and get the gap signal",
                    tail.key,
                    since,
                    len(entries),
                    ended,
                )
            return
        tail.position, tail.added = position, added
        if entries:
            self._deliver(tail, entries)

    def _deliver(self, tail: _Tail, entries: list[_Entry]) -> None:
        assert self._host is not None
        frames = [_frame(e) for e in entries]
        data = frames[0] if len(frames) == 1 else b"".join(frames)
        self._host.deliver(tail.channel, data, len(frames), entries[-1][0])
        if not tail.joiners:
            return
        ids = [(parse_stream_id(e[0]) or (0, 0), e[0]) for e in entries]
        size = len(data)
        for j in list(tail.joiners):
            if not j.conn.open:
                tail.joiners.remove(j)
                continue
            if j.upto is None:
                continue  # not cut yet: its replay will cover these
            j.buffer.extend((t, eid, f) for (t, eid), f in zip(ids, frames, strict=True))
            j.buffered += size
            if j.buffered > JOIN_BUFFER_LIMIT:
                tail.joiners.remove(j)
                if j.task is not None:
                    j.task.cancel()
                j.conn.close(CloseReason.SLOW_CONSUMER)
            elif j.floor is not None and j.task is None:
                self._maybe_finish_ahead(tail, j)

    def _fail_joiners(self, tail: _Tail, reason: CloseReason) -> int:
        joiners, tail.joiners = tail.joiners, []
        for j in joiners:
            if j.task is not None:
                j.task.cancel()
        return sum(j.conn.close(reason) for j in joiners)

    # -- joining ----------------------------------------------------------------------------

    def _cut(self, tail: _Tail, j: _Joiner) -> None:
        """Fix the joiner's replay end at the tail's position; go live now if nothing to read."""
        assert tail.position is not None
        j.upto = tail.position
        if j.resume is None:
            self._finish(tail, j, [], False, None)
        else:
            j.task = self._spawn(self._fetch_replay(tail, j))

    async def _fetch_replay(self, tail: _Tail, j: _Joiner) -> None:
        backoff = _Backoff()
        assert j.upto is not None and j.resume is not None
        while j.conn.open:
            try:
                gap, oldest, entries = await _decide_async(self._client, tail.key, j.resume, j.upto)
                self._outcome(None)
                break
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if not unreachable(exc):
                    logger.exception("sse_nb: reading a replay from %s failed", tail.key)
                    self._drop(tail, j, CloseReason.DROPPED_BY_SERVER)
                    return
                self._outcome(exc)
                await asyncio.sleep(backoff.next())
        else:
            self._drop(tail, j, None)
            return
        j.task = None
        if self._tails.get(tail.channel) is not tail or j not in tail.joiners:
            return  # the tail was reset or stopped meanwhile; the joiner was ended with it
        resume_t = parse_stream_id(j.resume)
        upto_t = parse_stream_id(j.upto) or (0, 0)
        if not gap and resume_t is not None and resume_t > upto_t:
            # The client saw ids this tail has not reached yet: wait for it to pass them.
            j.floor = resume_t
            self._maybe_finish_ahead(tail, j)
            return
        self._finish(tail, j, entries, gap, oldest)

    def _maybe_finish_ahead(self, tail: _Tail, j: _Joiner) -> None:
        assert j.floor is not None
        if (parse_stream_id(tail.position) or (0, 0)) < j.floor:
            return
        floor = j.floor
        j.buffer = [b for b in j.buffer if b[0] > floor]
        self._finish(tail, j, [], False, None)

    def _drop(self, tail: _Tail, j: _Joiner, reason: CloseReason | None) -> None:
        if j in tail.joiners:
            tail.joiners.remove(j)
        if reason is not None:
            j.conn.close(reason)

    def _finish(
        self, tail: _Tail, j: _Joiner, entries: list[_Entry], gap: bool, oldest: str | None
    ) -> None:
        """In one loop step: replay + buffer to the connection, which then becomes live."""
        if j in tail.joiners:
            tail.joiners.remove(j)
        if not j.conn.open:
            return
        frames = [_frame(e) for e in entries] + [b[2] for b in j.buffer]
        last = j.buffer[-1][1] if j.buffer else (entries[-1][0] if entries else None)
        j.buffer = []
        j.ready(Replay(frames, len(frames), last, gap, oldest))

    def __repr__(self) -> str:
        return f"<RedisEventLog {self.url} prefix={self.prefix!r} maxlen={self.maxlen}>"


def _decision(
    resume: str, info: Any, probe: Any, after: Any
) -> tuple[bool, str | None, list[_Entry] | None]:
    """(gap, oldest, entries after R) from one MULTI; entries None: read everything held."""
    if isinstance(info, Exception) and not _missing(info):
        raise info
    for reply in (probe, after):
        if isinstance(reply, Exception):
            raise reply
    if _missing(info):
        return True, None, []
    first = info.get("first-entry")
    oldest = str(first[0]) if first else None
    deleted = parse_stream_id(str(info.get("max-deleted-entry-id", "0-0"))) or (0, 0)
    resume_t = parse_stream_id(resume)
    if resume_t is not None and probe and deleted <= resume_t:
        return False, oldest, list(after or [])
    return True, oldest, None


async def _decide_async(
    client: Any, key: str, resume: str, upto: str
) -> tuple[bool, str | None, list[_Entry]]:
    """The gap rule and the replay (R, upto], read at one instant."""
    resume_t = parse_stream_id(resume)
    upto_t = parse_stream_id(upto) or (0, 0)
    async with client.pipeline(transaction=True) as pipe:
        pipe.xinfo_stream(key)
        if resume_t is not None:
            pipe.xrange(key, resume, resume)
            if resume_t < upto_t:
                pipe.xrange(key, "(" + resume, upto)
        replies = await pipe.execute(raise_on_error=False)
    replies += [None] * (3 - len(replies))
    gap, oldest, entries = _decision(resume, *replies)
    if entries is None:
        entries = list(await client.xrange(key, "-", upto))
        oldest = entries[0][0] if entries else oldest
    return gap, oldest, entries


def _decide_sync(
    client: Any, key: str, resume: str, upto: str
) -> tuple[bool, str | None, list[_Entry]]:
    pipe = client.pipeline(transaction=True)
    pipe.xinfo_stream(key)
    if parse_stream_id(resume) is not None:
        pipe.xrange(key, resume, resume)
        pipe.xrange(key, "(" + resume, upto)
    replies = pipe.execute(raise_on_error=False)
    replies += [None] * (3 - len(replies))
    gap, oldest, entries = _decision(resume, *replies)
    if entries is None:
        entries = list(client.xrange(key, "-", upto))
        oldest = entries[0][0] if entries else oldest
    return gap, oldest, entries
