"""AsyncEventSource: the reconnect loop and ReadyState machine of a resumable SSE client.

Theory of operation
-------------------
One *driver* task runs the connection loop (HTML, "Server-sent events" §9.2.3 "Processing
model"): open a request (``connection.open_stream``), feed every chunk of bytes to a fresh
``EventParser`` seeded with the last event ID and reconnection time, deliver the events, and when
the stream breaks "reestablish the connection": state CONNECTING, wait, try again with
``Last-Event-ID``. A response the standard says to fail on ends the driver in CLOSED.

Who cancels whom (drawn in docs/client-lifecycle.md):

- ``close()`` cancels the driver's cancel scope: an open request, a read in progress and a
  reconnect wait all end at their next checkpoint, and the driver makes no further request. The
  state is CLOSED before ``close()`` returns.
- The idle watchdog is the deadline of a cancel scope around one connection, pushed forward on
  every chunk of bytes (heartbeat comments included). When it passes, the read is cancelled and
  the connection counts as lost: CONNECTING, wait, reconnect.
- ``reconnect()`` cancels the current driver (if any) and starts a new one at once, resuming
  from the last event ID; a *generation* number keeps a cancelled driver from touching state.

Every state change is appended to ``transitions`` (time, state, reason, last event ID) and told
to ``on("state", ...)`` listeners; events go to ``history``, to listeners and to the iteration
buffer. All of it happens on the driver's event loop thread.

Duplicate suppression: a replay can overlap what was already delivered (a server replaying from
an older id, or a proxy re-sending). ``dedupe.RecentIds`` remembers the last ``DEDUP_WINDOW``
events and checks the first ``DEDUP_WINDOW`` events of each new connection against their ids
(opaque strings, so integer and arbitrary ids alike), dropping and counting repeats in
``duplicates``. Events without an ``id:`` field are always delivered.

The receive path works per chunk, not per event: one parser call, one set check for duplicates,
history records made only for the events it will keep, one buffer ``extend`` and one wake-up.
"""

from __future__ import annotations

import logging
import math
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator, Mapping
from operator import itemgetter
from pathlib import Path
from typing import Any, NamedTuple

import anyio
import httpx

from ..errors import (
    ConnectionFailed,
    ConnectionLost,
    IdleTimeout,
    ReconnectLimitReached,
    SourceClosed,
    StreamError,
)
from ..protocol import (
    GAP_EVENT,
    MAX_LINE_LENGTH,
    Event,
    EventParser,
    LineTooLongError,
    ReadyState,
    ReconnectPolicy,
    check_id,
    read_gap,
)
from .connection import CLOSE_TIMEOUT, NoContent, default_client, open_stream
from .dedupe import DEDUP_WINDOW, RecentIds
from .tap import Recorder, Wire

__all__ = [
    "DEDUP_WINDOW",
    "DEFAULT_HISTORY",
    "GAP_EVENT",
    "MAX_BUFFERED_EVENTS",
    "MAX_TRANSITIONS",
    "AsyncEventSource",
    "Received",
    "Transition",
]

logger = logging.getLogger("sse_nb.client")

#: Events kept in ``history`` by default: enough for a widget's table, bounded for long streams.
DEFAULT_HISTORY = 1000
#: State transitions kept: a flapping connection must not grow memory without bound.
MAX_TRANSITIONS = 1000
#: Events waiting for an ``async for`` consumer before the reader pauses until the consumer has
#: taken them all (TCP backpressure); while nobody iterates, the oldest beyond this are dropped
#: and counted in ``dropped``.
MAX_BUFFERED_EVENTS = 10_000
_GAP_BYTES = GAP_EVENT.encode()

Listener = Callable[[Any], None]
_type_of = itemgetter(0)  # Event.type; itemgetter is faster than the NamedTuple's property
Spawner = Callable[[Callable[[int], Coroutine[Any, Any, None]], int], Any]


class Received(NamedTuple):
    """One delivered event and when it arrived (epoch seconds)."""

    time: float
    event: Event


class Transition(NamedTuple):
    """One change of ``ready_state`` (or one more reconnect attempt), for logs and timelines."""

    time: float
    state: ReadyState
    reason: str
    last_event_id: str


def _describe(exc: BaseException) -> str:
    """A network error in words: httpx messages are often empty for resets."""
    text = str(exc)
    name = type(exc).__name__
    return f"{name}: {text}" if text else name


class AsyncEventSource:
    """A resumable event-stream client with the browser's semantics, for asyncio and trio.

    ::

        async with AsyncEventSource(url, idle_timeout=30) as es:
            async for event in es:
                print(event.id, event.data)

    The connection starts when the ``async with`` block is entered; iteration yields every event
    of any type (including the ``sse_nb.gap`` signal) and ends when the source is CLOSED, raising
    the error if it failed (bad status, bad content type, reconnect limit). ``on(type, fn)``
    listeners work as ``addEventListener``. ``method``, ``headers``, ``content`` or ``json`` make
    the request (resent on every reconnect; ``Accept``, ``Cache-Control`` and ``Last-Event-ID``
    are always the source's own); ``client`` injects an ``httpx.AsyncClient`` (auth,
    proxies, transports), which the source never closes. ``idle_timeout`` (seconds) takes a
    connection that brings no bytes for that long (heartbeat comments count; waiting for the
    response headers too) for dead and reconnects; ``None``, as in a browser, waits forever.
    ``dedupe=False`` turns off duplicate suppression for streams whose ids are not unique.
    """

    def __init__(
        self,
        url: str,
        *,
        last_event_id: str | None = None,
        method: str = "GET",
        headers: Mapping[str, str] | None = None,
        content: bytes | str | None = None,
        json: Any = None,
        reconnect: ReconnectPolicy | None = None,
        idle_timeout: float | None = None,
        history: int = DEFAULT_HISTORY,
        client: httpx.AsyncClient | None = None,
        dedupe: bool = True,
        _buffer: bool = True,
    ) -> None:
        if content is not None and json is not None:
            raise ValueError("give content or json, not both")
        if idle_timeout is not None and not idle_timeout > 0:
            raise ValueError(
                f"idle_timeout must be a positive number of seconds, not {idle_timeout}"
            )
        if history < 0:
            raise ValueError("history must be >= 0")
        if last_event_id:
            check_id(last_event_id, "last_event_id", resumable=False)
        self.url = url
        self.method = method.upper()
        self.headers: dict[str, str] = dict(headers or {})
        self.content = content
        self.json = json
        self.policy = reconnect if reconnect is not None else ReconnectPolicy()
        self.idle_timeout = idle_timeout
        self.dedupe = dedupe
        self._client = client

        self._state = ReadyState.CONNECTING
        self._last_event_id = last_event_id or ""
        self._retry_ms: int | None = None
        #: Why the source is CLOSED or CONNECTING again (``None`` while all is well).
        self.error: BaseException | None = None
        #: The server's last gap signal: ``{"requested": ..., "oldest": ...}``.
        self.gap: dict[str, Any] | None = None
        self.events_received = 0
        self.reconnects = 0
        self.dropped = 0
        # History is kept per chunk, (arrival time, events), and made into ``Received`` records
        # only when read: the receive path then costs O(1) per chunk instead of O(1) per event.
        self._history_size = history
        self._chunks: deque[tuple[float, list[Event]]] = deque()
        self._chunked = 0  # events held in _chunks
        self._transitions: deque[Transition] = deque(maxlen=MAX_TRANSITIONS)
        self._listeners: dict[str, list[Listener]] = {}
        self._sinks: list[Callable[[list[Event]], None]] = []
        self._recent = RecentIds(DEDUP_WINDOW)
        self._taps: list[Callable[[Wire], None]] = []  # raw bytes, for lab tools
        self._pause_until = 0.0  # monotonic time until which reading waits (pause_reading)

        self._generation = 0
        self._scope: anyio.CancelScope | None = None  # the running driver's
        self._spawn: Spawner | None = None
        self._task_group: Any = None

        self._buffering = _buffer
        self._iterating = False
        # Events for iteration, kept as the chunks they arrived in; ``_partial`` is the list
        # iterator of the chunk being taken (it remembers its place if the consumer stops).
        self._pending: deque[list[Event]] = deque()
        self._pending_count = 0  # events in _pending
        self._partial: Iterator[Event] | None = None
        self._wakeup: anyio.Event | None = None  # set when events arrive or the state ends
        self._room: anyio.Event | None = None  # set when the consumer has drained the buffer
        self._raised = False
        self._gap_pending = False  # the bytes named the gap event; look for it in the events
        self._record(ReadyState.CONNECTING, "created")

    # -- public state -----------------------------------------------------------------------

    @property
    def ready_state(self) -> ReadyState:
        """CONNECTING, OPEN or CLOSED, as the browser's ``readyState``."""
        return self._state

    @property
    def last_event_id(self) -> str:
        """The id sent as ``Last-Event-ID`` on the next (re)connect (``""``: none yet)."""
        return self._last_event_id

    @property
    def retry(self) -> int | None:
        """The reconnection time the server asked for with ``retry:``, in ms."""
        return self._retry_ms

    @property
    def duplicates(self) -> int:
        """Events not delivered because their id was already seen (a replay overlap)."""
        return self._recent.duplicates

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

    @property
    def transitions(self) -> list[Transition]:
        """The timestamped log of state changes, oldest first."""
        return list(self._transitions)

    def on(self, type: str, callback: Listener) -> Callable[[], None]:
        """Listen like ``addEventListener``; returns a function that removes the listener.

        ``"open"`` and ``"error"`` call ``callback(None)`` (the reason is in ``error`` and
        ``transitions``); ``"message"`` and named types call it with the ``Event``; ``"state"``
        with each ``Transition``; ``"*"`` with every event of any type. Callbacks run on the
        event loop's thread and must be quick.
        """
        self._listeners.setdefault(type, []).append(callback)

        def unsubscribe() -> None:
            callbacks = self._listeners.get(type, [])
            if callback in callbacks:
                callbacks.remove(callback)

        return unsubscribe

    def tap(self, callback: Callable[[Wire], None]) -> Callable[[], None]:
        """Hear every accepted response and its raw bytes before the parser does (a ``Wire``
        each, on the event loop's thread); returns a function that removes the tap.

        For tools that show or record the wire (``sse_nb.lab.WireView``, ``record()``).
        """
        return self._subscribe_tap(callback)

    def _subscribe_tap(self, callback: Callable[[Wire], None]) -> Callable[[], None]:
        self._taps.append(callback)

        def untap() -> None:
            if callback in self._taps:
                self._taps.remove(callback)

        return untap

    def record(self, path: str | Path) -> Recorder:
        """Record every response from now on to ``path`` (see ``sse_nb.protocol.recording``).

        ``EventServer.play`` and ``sse-nb play`` serve the file back byte for byte. The
        returned ``Recorder`` stops recording when closed.
        """
        recorder = Recorder(path, self.url)
        recorder.unsubscribe = self._subscribe_tap(recorder)
        return recorder

    def pause_reading(self, seconds: float) -> None:
        """Read nothing more for ``seconds``: a real slow consumer, as the server sees it.

        The next chunk is still taken; after it the socket is left unread (the kernel's buffers
        fill and TCP pushes back on the server). The idle timeout does not run meanwhile.
        """
        if not seconds >= 0:
            raise ValueError(f"seconds must be >= 0, not {seconds!r}")
        self._pause_until = time.monotonic() + seconds

    def _tell_taps(self, wire: Wire) -> None:
        for tap in tuple(self._taps):
            try:
                tap(wire)
            except Exception:  # a broken tool must not break the stream
                logger.exception("a byte tap of %s raised", self.url)

    def __repr__(self) -> str:
        err = f" error={self.error}" if self.error is not None else ""
        return (
            f"<{type(self).__name__} {self._state.name} {self.url} "
            f"last_event_id={self._last_event_id!r} events={self.events_received} "
            f"reconnects={self.reconnects}{err}>"
        )

    # -- lifecycle ----------------------------------------------------------------------------

    async def __aenter__(self) -> AsyncEventSource:
        tg = anyio.create_task_group()
        await tg.__aenter__()
        self._task_group = tg
        self._spawn = lambda fn, generation: tg.start_soon(fn, generation)
        self._start("connecting")
        return self

    async def __aexit__(self, *exc_info: Any) -> bool | None:
        self.close()
        self._spawn = None
        tg, self._task_group = self._task_group, None
        return bool(await tg.__aexit__(*exc_info))

    def close(self) -> None:
        """CLOSED at once, from any state; cancels the request and any reconnect wait.

        Idempotent. ``reconnect()`` starts again from ``last_event_id``.
        """
        self._generation += 1
        self._cancel_driver()
        if self._state is not ReadyState.CLOSED:
            self._set_state(ReadyState.CLOSED, "close() called")
        self._wake()

    def reconnect(self) -> None:
        """Drop the current connection (if any) and connect again now, from ``last_event_id``."""
        if self._spawn is None:
            raise RuntimeError(
                "this AsyncEventSource is not running; use `async with AsyncEventSource(...)`"
            )
        self._cancel_driver()
        self.reconnects += 1
        self._raised = False
        self._start("reconnect() called")

    def _start(self, reason: str) -> None:
        assert self._spawn is not None
        self._generation += 1
        if self._state is not ReadyState.CONNECTING or reason != "connecting":
            self._set_state(ReadyState.CONNECTING, reason)
        self._spawn(self._drive, self._generation)

    def _cancel_driver(self) -> None:
        if self._scope is not None:
            self._scope.cancel()
            self._scope = None

    # -- the driver ---------------------------------------------------------------------------

    async def _drive(self, generation: int) -> None:
        """Run connections until CLOSED; a newer generation makes this one a no-op."""
        if generation != self._generation:
            return  # closed or restarted before this driver got to run
        with anyio.CancelScope() as scope:
            self._scope = scope
            client = self._client if self._client is not None else default_client()
            try:
                await self._connect_loop(generation, client)
            except Exception as exc:  # a bug must end in CLOSED with the reason, not vanish
                logger.exception("event source %s stopped on an unexpected error", self.url)
                self._fail(generation, exc, f"unexpected error: {_describe(exc)}")
            finally:
                if client is not self._client:
                    with anyio.move_on_after(CLOSE_TIMEOUT, shield=True):
                        await client.aclose()
                if self._scope is scope:
                    self._scope = None

    async def _connect_loop(self, generation: int, client: httpx.AsyncClient) -> None:
        failures = 0  # failed attempts since the last OPEN (ReconnectPolicy's ``attempt``)
        while True:
            opened = False
            try:
                opened = await self._connect_once(generation, client)
                lost: ConnectionLost = ConnectionLost(self.url, "the server ended the stream")
            except NoContent:
                # HTML §9.2.3: a 204 "fails the connection": the server says stop.
                self._fail(generation, None, "the server answered 204 No Content")
                return
            except (ConnectionFailed, StreamError) as exc:
                self._fail(generation, exc, str(exc))
                return
            except (httpx.UnsupportedProtocol, httpx.TooManyRedirects, httpx.InvalidURL) as exc:
                # Trying again cannot help: fail the connection with the reason.
                err = ConnectionFailed(f"cannot connect to {self.url}: {_describe(exc)}")
                self._fail(generation, err, str(err))
                return
            except _IdleExpired:
                lost = IdleTimeout(self.url, self.idle_timeout or 0.0)
            except (httpx.TransportError, OSError, anyio.BrokenResourceError) as exc:
                lost = ConnectionLost(self.url, _describe(exc))
            if self._taps:
                self._tell_taps(Wire(time.time(), "end", str(lost).encode()))
            if generation != self._generation:
                return
            if opened:
                failures = 0
            # HTML §9.2.3 "reestablish the connection": CONNECTING, fire error, wait, reconnect.
            self.error = lost
            self._set_state(ReadyState.CONNECTING, str(lost))
            self._emit("error", None)
            if not self.policy.allows(failures):
                err = ReconnectLimitReached(self.url, failures, lost)
                self._fail(generation, err, str(err))
                return
            delay = self.policy.delay_for(failures, self._retry_ms)
            failures += 1
            await anyio.sleep(delay)  # close() and reconnect() cancel it with the driver
            if generation != self._generation:
                return
            self.reconnects += 1
            self._record(ReadyState.CONNECTING, f"reconnect attempt {failures}")

    async def _connect_once(self, generation: int, client: httpx.AsyncClient) -> bool:
        """One request, read to its end. Returns whether it got as far as OPEN."""
        idle = self.idle_timeout
        opened = False
        with anyio.CancelScope(
            deadline=anyio.current_time() + idle if idle else math.inf
        ) as idle_scope:
            async with open_stream(
                client,
                self.url,
                method=self.method,
                headers=self.headers,
                last_event_id=self._last_event_id,
                content=self.content,
                json=self.json,
            ) as response:
                if generation != self._generation:
                    return False
                opened = True
                if self._taps:
                    heads = tuple(response.headers.multi_items())
                    self._tell_taps(Wire(time.time(), "response", b"", response.status_code, heads))
                self._recent.connected()
                self._announce()
                parser = EventParser(
                    self._last_event_id, self._retry_ms, max_line_length=MAX_LINE_LENGTH
                )
                feed = parser.feed
                tail = b""
                async for chunk in response.aiter_bytes():
                    if idle:
                        idle_scope.deadline = anyio.current_time() + idle
                    if self._taps:
                        self._tell_taps(Wire(time.time(), "bytes", chunk))
                    # One byte search per chunk spares a look at every event's type.
                    if _GAP_BYTES in chunk or _GAP_BYTES in tail + chunk[: len(_GAP_BYTES)]:
                        self._gap_pending = True
                    tail = chunk[-len(_GAP_BYTES) :]
                    try:
                        events = feed(chunk)
                    except LineTooLongError as exc:
                        if exc.events:  # what the chunk completed before the limit is kept
                            self._deliver(exc.events)
                            self._last_event_id = parser.last_event_id
                        raise StreamError(f"{self.url}: {exc}") from exc
                    self._retry_ms = parser.retry
                    if events:
                        self._deliver(events)
                    # After delivery: another thread never sees an id ahead of ``history``.
                    self._last_event_id = parser.last_event_id
                    if events and self._iterating and self._pending_count >= MAX_BUFFERED_EVENTS:
                        # A slow consumer is not a dead server: no idle deadline meanwhile.
                        idle_scope.deadline = math.inf
                        await self._wait_for_room()
                        if idle:
                            idle_scope.deadline = anyio.current_time() + idle
                    if self._pause_until:
                        idle_scope.deadline = math.inf
                        await self._paused()
                        if idle:
                            idle_scope.deadline = anyio.current_time() + idle
        if idle_scope.cancelled_caught:
            raise _IdleExpired
        return opened

    async def _paused(self) -> None:
        wait, self._pause_until = self._pause_until - time.monotonic(), 0.0
        if wait > 0:
            await anyio.sleep(wait)

    def _announce(self) -> None:
        # HTML §9.2.3 "announce the connection": OPEN, then fire "open".
        self.error = None
        self._set_state(ReadyState.OPEN, "connected")
        self._emit("open", None)

    def _fail(self, generation: int, error: BaseException | None, reason: str) -> None:
        # HTML §9.2.3 "fail the connection": CLOSED, then fire "error"; no reconnect.
        if generation != self._generation:
            return
        self._generation += 1
        self._scope = None
        self.error = error
        self._set_state(ReadyState.CLOSED, reason)
        self._emit("error", None)
        self._wake()

    # -- delivery -----------------------------------------------------------------------------

    def _deliver(self, events: list[Event]) -> None:
        """Dedupe, record, tell listeners and sinks, buffer for iteration: once per chunk."""
        if self.dedupe:
            events = self._recent.fresh(events)
            if not events:
                return
        if self._history_size:
            chunks = self._chunks
            chunks.append((time.time(), events))
            self._chunked += len(events)
            # Drop whole chunks that lie entirely beyond the last ``history`` events.
            while self._chunked - len(chunks[0][1]) >= self._history_size:
                self._chunked -= len(chunks.popleft()[1])
        self.events_received += len(events)
        if self._gap_pending and GAP_EVENT in map(_type_of, events):
            self._gap_pending = False
            for ev in events:
                if ev.type == GAP_EVENT:
                    self._take_gap(ev)
        if self._listeners:
            emit = self._emit
            for ev in events:
                emit(ev.type, ev)
                emit("*", ev)
        for sink in self._sinks:
            sink(events)
        if self._buffering:
            pending = self._pending
            pending.append(events)
            self._pending_count += len(events)
            if not self._iterating:
                while self._pending_count - len(pending[0]) >= MAX_BUFFERED_EVENTS:
                    dropped = len(pending.popleft())
                    self._pending_count -= dropped
                    self.dropped += dropped
            self._wake()

    def _take_gap(self, ev: Event) -> None:
        self.gap = read_gap(ev.data)
        logger.warning(
            "event source %s: the server could not replay everything: %s", self.url, self.gap
        )

    def _emit(self, type: str, arg: Any) -> None:
        callbacks = self._listeners.get(type)
        if not callbacks:
            return
        for cb in tuple(callbacks):
            try:
                cb(arg)
            except Exception:  # one bad listener must not stop the stream
                logger.exception("an %r listener of %s raised", type, self.url)

    def _record(self, state: ReadyState, reason: str) -> Transition:
        t = Transition(time.time(), state, reason, self._last_event_id)
        self._transitions.append(t)
        return t

    def _set_state(self, state: ReadyState, reason: str) -> None:
        self._state = state
        self._emit("state", self._record(state, reason))

    # -- iteration ----------------------------------------------------------------------------

    def _wake(self) -> None:
        if self._wakeup is not None:
            self._wakeup.set()
            self._wakeup = None

    async def _wait_for_room(self) -> None:
        self._room = anyio.Event()
        await self._room.wait()

    def __aiter__(self) -> AsyncIterator[Event]:
        if not self._buffering:
            raise TypeError("this source feeds a synchronous EventSource; iterate that instead")
        self._iterating = True
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Event]:
        """Every event until CLOSED: loops over whole chunks, awaits only when none is left."""
        pending = self._pending
        while True:
            part = self._partial
            if part is not None:
                for ev in part:
                    yield ev
                self._partial = None
            while pending:
                chunk = pending.popleft()
                self._pending_count -= len(chunk)
                part = self._partial = iter(chunk)
                for ev in part:
                    yield ev
                self._partial = None
            try:
                ev = await self.next()  # lets a paused reader go on, then waits
            except SourceClosed:
                return
            yield ev

    def _take(self) -> Event | None:
        """The next buffered event, or None when there is none."""
        while True:
            part = self._partial
            if part is not None:
                ev = next(part, None)
                if ev is not None:
                    return ev
                self._partial = None
            if not self._pending:
                return None
            chunk = self._pending.popleft()
            self._pending_count -= len(chunk)
            self._partial = iter(chunk)

    async def next(self, timeout: float | None = None) -> Event:
        """The next event; ``TimeoutError`` after ``timeout`` s, ``SourceClosed`` once CLOSED.

        A source that failed (bad status, content type, reconnect limit) raises that error once
        instead of ``SourceClosed``.
        """
        self._iterating = True
        ev = self._take()
        if ev is not None:
            return ev
        if timeout is None:  # no cancel scope to build: this is the hot path of ``async for``
            return await self._wait_next()
        with anyio.fail_after(timeout):
            return await self._wait_next()

    async def _wait_next(self) -> Event:
        if self._room is not None:  # the reader paused on a full buffer; it is empty now
            self._room.set()
            self._room = None
        while True:
            ev = self._take()
            if ev is not None:
                return ev
            if self._state is ReadyState.CLOSED:
                if self.error is not None and not self._raised:
                    self._raised = True
                    raise self.error
                raise SourceClosed(f"the event source for {self.url} is closed")
            if self._spawn is None:
                raise RuntimeError(
                    "this AsyncEventSource is not running; "
                    "use `async with AsyncEventSource(...) as es`"
                )
            if self._wakeup is None:
                self._wakeup = anyio.Event()
            await self._wakeup.wait()


class _IdleExpired(Exception):
    """Internal: the idle deadline passed (turned into ``IdleTimeout`` by the loop)."""
