"""AsyncEventSource: the reconnect loop of a resumable SSE client, and its public face.

Theory of operation
-------------------
One *driver* task runs the connection loop (HTML, "Server-sent events" §9.2.3 "Processing
model"): open a request (``connection.open_stream``, which applies ``protocol.connect_decision``),
feed every chunk of bytes to a fresh ``EventParser`` seeded with the last event ID and
reconnection time, hand the events to ``delivery.Delivery``, and when the stream breaks
"reestablish the connection": CONNECTING, wait, try again with ``Last-Event-ID``. A response the
standard says to fail on ends the driver in CLOSED. The driver decides when to announce,
reestablish or fail; ``readystate.StateMachine`` makes each step (checked against
``protocol.TRANSITIONS``, logged in ``transitions``, told to ``on("state")`` listeners and to the
inbox), all on the driver's event loop thread.

Who cancels whom (drawn in docs/client-lifecycle.md):

- ``close()`` cancels the driver's cancel scope (an open request, a read, a reconnect wait); the
  state is CLOSED before it returns. From a listener, it also stops the delivery of the events
  parsed behind the current one.
- The idle watchdog is the deadline of a cancel scope around one connection, pushed forward on
  every chunk of bytes (heartbeats included); when it passes, the connection counts as lost.
- ``reconnect()`` cancels the current driver (if any) and starts a new one at once; a
  *generation* number keeps a cancelled driver from touching state.

Backoff: ``ReconnectPolicy``'s attempt number counts failed attempts since the last OPEN. A
connection that reached OPEN was a success however it ended (end of stream, reset, idle
timeout), so the wait after it is the base delay again.
"""

from __future__ import annotations

import functools
import logging
import math
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import TYPE_CHECKING, Any

import anyio
import httpx

from ..errors import (
    ConnectionFailed,
    ConnectionLost,
    IdleTimeout,
    ReconnectLimitReached,
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
)
from .connection import CLOSE_TIMEOUT, NoContent, body, default_client, open_stream
from .delivery import Delivery, Received
from .inbox import AsyncInbox, Inbox
from .options import Listener, ServerLike, SourceOptions, checked, target
from .readystate import StateMachine, Transition
from .tap import Tapped, Taps, Wire

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = ["AsyncEventSource", "Spawn"]

logger = logging.getLogger("sse_nb.client")

_GAP_BYTES = GAP_EVENT.encode()
_GAP_LEN = len(_GAP_BYTES)
#: Chunk ends after which the gap type cannot continue in the next chunk (it has no line end).
_LINE_ENDS = (b"\n", b"\r")
#: The idle deadline's tolerance, as a share of ``idle_timeout``: silence is noticed within
#: ``idle_timeout * (1 + _IDLE_SLACK)`` of the last byte.
_IDLE_SLACK = 1 / 16

#: Runs ``await fn()`` as a task on the source's event loop (a task group's ``start_soon``).
Spawn = Callable[[Callable[[], Coroutine[Any, Any, None]]], object]


def _describe(exc: BaseException) -> str:
    """A network error in words: httpx messages are often empty for resets."""
    text = str(exc)
    name = type(exc).__name__
    return f"{name}: {text}" if text else name


class AsyncEventSource(Tapped):
    """A resumable event-stream client with the browser's semantics, for asyncio and trio.

    ::

        async with AsyncEventSource(url, idle_timeout=30) as es:
            async for event in es:
                print(event.id, event.data)

    It connects when the ``async with`` block is entered (or at ``start()``); iteration yields
    every event of any type (the ``sse_nb.gap`` signal too) and ends when the source is CLOSED,
    raising the error if it failed (bad status or content type, reconnect limit). ``on(type,
    fn)`` works as ``addEventListener``. The keywords are ``options.SourceOptions``, shared with
    ``EventSource``; ``inbox`` replaces the iteration buffer (``EventSource`` passes its own).
    ``url`` may be a server object (an ``EventServer``): its url, and its token as
    ``Authorization: Bearer``.
    """

    def __init__(
        self,
        url: str | ServerLike,
        *,
        inbox: Inbox | None = None,
        **options: Unpack[SourceOptions],
    ) -> None:
        url, options = target(url, options)
        opts = checked(options)
        self.url = url
        #: The options in force, every one of them filled in (``options.DEFAULTS``).
        self.options = opts
        self.policy: ReconnectPolicy = opts["reconnect"] or ReconnectPolicy()
        self._client = opts["client"]
        self._last_event_id = opts["last_event_id"] or ""
        self._retry_ms: int | None = None
        #: Reconnect attempts so far: after lost connections, and ``reconnect()`` calls.
        self.reconnects = 0
        #: Byte taps (raw bytes, for lab tools) and the ``pause_reading`` deadline.
        self.taps = Taps(url)
        self._async_inbox: AsyncInbox | None = None
        if inbox is None:
            inbox = self._async_inbox = AsyncInbox(url)
        #: Where delivered events wait for their consumer.
        self.inbox = inbox
        self._delivery = Delivery(url, self.inbox, history=opts["history"], dedupe=opts["dedupe"])
        for type_, callback in (opts["listeners"] or {}).items():
            self._delivery.on(type_, callback)
        self._states = StateMachine(self.inbox, self._delivery, lambda: self._last_event_id)
        self._generation = 0
        self._scope: anyio.CancelScope | None = None  # the running driver's
        self._spawn: Spawn | None = None
        self._task_group: Any = None

    # -- public state -----------------------------------------------------------------------

    @property
    def ready_state(self) -> ReadyState:
        """CONNECTING, OPEN or CLOSED, as the browser's ``readyState``."""
        return self._states.state

    @property
    def error(self) -> BaseException | None:
        """Why the source is CLOSED or CONNECTING again (``None`` while all is well)."""
        return self._states.error

    @property
    def last_event_id(self) -> str:
        """The id sent as ``Last-Event-ID`` on the next (re)connect (``""``: none yet)."""
        return self._last_event_id

    @property
    def retry(self) -> int | None:
        """The reconnection time the server asked for with ``retry:``, in ms."""
        return self._retry_ms

    @property
    def gap(self) -> dict[str, Any] | None:
        """The server's last gap signal: ``{"requested": ..., "oldest": ...}``, or ``None``."""
        return self._delivery.gap

    @property
    def events_received(self) -> int:
        """Events delivered so far, across reconnects (duplicates of a replay not counted)."""
        return self._delivery.events_received

    @property
    def dropped(self) -> int:
        """Events dropped from the inbox because nobody took them (callbacks saw them all)."""
        return self.inbox.dropped

    @property
    def duplicates(self) -> int:
        """Events not delivered because their id was already seen (a replay overlap)."""
        return self._delivery.recent.duplicates

    @property
    def history(self) -> list[Received]:
        """The last ``history`` events delivered, oldest first."""
        return self._delivery.history

    @property
    def transitions(self) -> list[Transition]:
        """The timestamped log of state changes, oldest first."""
        return self._states.transitions

    def on(self, type: str, callback: Listener) -> Callable[[], None]:
        """Listen like ``addEventListener``; returns a function that removes the listener.

        ``"open"`` and ``"error"`` call ``callback(None)`` (the reason is in ``error`` and
        ``transitions``); ``"message"`` and named types call it with the ``Event``; ``"state"``
        with each ``Transition``; ``"*"`` with every event of any type. Callbacks run on the
        event loop's thread and must be quick; one may call ``close()``, and then no further
        event reaches any listener.
        """
        return self._delivery.on(type, callback)

    def __repr__(self) -> str:
        err = f" error={self.error}" if self.error is not None else ""
        return (
            f"<{type(self).__name__} {self._states.state.name} {self.url} "
            f"last_event_id={self._last_event_id!r} events={self.events_received} "
            f"reconnects={self.reconnects}{err}>"
        )

    # -- lifecycle ----------------------------------------------------------------------------

    async def __aenter__(self) -> AsyncEventSource:
        tg = anyio.create_task_group()
        await tg.__aenter__()
        self._task_group = tg
        self.start(tg.start_soon)
        return self

    async def __aexit__(self, *exc_info: Any) -> bool | None:
        self.close()
        self._running(None)
        tg, self._task_group = self._task_group, None
        return bool(await tg.__aexit__(*exc_info))

    def start(self, spawn: Spawn) -> None:
        """Start connecting without ``async with``: ``spawn(fn)`` must run ``await fn()`` as a
        task on this event loop, and this is called on its thread. ``close()`` stops it.

        ``EventSource`` starts its source this way on the runtime thread.
        """
        self._running(spawn)
        self._launch("connecting")

    def close(self) -> None:
        """CLOSED at once, from any state; cancels the request and any reconnect wait.

        Idempotent. ``reconnect()`` starts again from ``last_event_id``.
        """
        self._generation += 1
        self._cancel_driver()
        if self._states.state is not ReadyState.CLOSED:
            self._states.change(ReadyState.CLOSED, "close() called")

    def reconnect(self) -> None:
        """Drop the current connection (if any) and connect again now, from ``last_event_id``."""
        if self._spawn is None:
            raise RuntimeError(
                "this AsyncEventSource is not running; use `async with AsyncEventSource(...)`"
            )
        self._cancel_driver()
        self.reconnects += 1
        self._launch("reconnect() called")

    def _running(self, spawn: Spawn | None) -> None:
        self._spawn = spawn
        if self._async_inbox is not None:
            self._async_inbox.running = spawn is not None

    def _launch(self, reason: str) -> None:
        assert self._spawn is not None
        self._generation += 1
        if self._states.state is not ReadyState.CONNECTING or reason != "connecting":
            self._states.change(ReadyState.CONNECTING, reason)
        self._spawn(functools.partial(self._drive, self._generation))

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
            opens = self._states.opens
            try:
                await self._connect_once(generation, client)
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
                lost = IdleTimeout(self.url, self.options["idle_timeout"] or 0.0)
            except (httpx.TransportError, OSError, anyio.BrokenResourceError) as exc:
                lost = ConnectionLost(self.url, _describe(exc))
            self.taps.current = None
            if self.taps.callbacks:
                self.taps.tell(Wire(time.time(), "end", str(lost).encode()))
            if generation != self._generation:
                return
            if self._states.opens != opens:
                failures = 0  # it reached OPEN: a success, however it ended
            self._states.reestablish(lost)
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
            self._states.record(ReadyState.CONNECTING, f"reconnect attempt {failures}")

    async def _connect_once(self, generation: int, client: httpx.AsyncClient) -> None:
        """One request, read to its end (or until the source is closed or restarted)."""
        opts = self.options
        idle = opts["idle_timeout"]
        delivery, inbox, taps = self._delivery, self.inbox, self.taps

        def current() -> bool:
            return generation == self._generation

        # The idle deadline moves forward at most every ``slack`` seconds, not on every chunk
        # (moving a deadline re-arms a timer: a cost per event when each comes in its own HTTP
        # chunk). It is set ``idle + slack`` after the move, so silence is noticed between
        # ``idle`` and ``idle + slack`` seconds after the last byte, never sooner.
        slack = idle * _IDLE_SLACK if idle else 0.0
        moved = time.monotonic()
        with anyio.CancelScope(
            deadline=anyio.current_time() + idle + slack if idle else math.inf
        ) as idle_scope:
            async with open_stream(
                client,
                self.url,
                method=opts["method"],
                headers=opts["headers"],
                last_event_id=self._last_event_id,
                content=opts["content"],
                json=opts["json"],
            ) as response:
                if not current():
                    return
                taps.opened(response.status_code, tuple(response.headers.multi_items()))
                delivery.recent.connected()
                self._states.announce()
                parser = EventParser(
                    self._last_event_id, self._retry_ms, max_line_length=MAX_LINE_LENGTH
                )
                feed = parser.feed
                tail = b""
                async for chunk in body(response):
                    if generation != self._generation:  # closed (or restarted) by a listener
                        return
                    if idle and (now := time.monotonic()) - moved >= slack:
                        moved = now
                        idle_scope.deadline = anyio.current_time() + idle + slack
                    if taps.callbacks:
                        taps.tell(Wire(time.time(), "bytes", chunk))
                    # One byte search per chunk spares a look at every event's type. Only a
                    # chunk that ends inside a line can hold the start of a split gap type.
                    if _GAP_BYTES in chunk or (tail and _GAP_BYTES in tail + chunk[:_GAP_LEN]):
                        delivery.gap_pending = True
                    if chunk[-1:] in _LINE_ENDS:
                        tail = b""
                    else:  # the stream's last bytes, however short the chunks
                        tail = (tail + chunk if len(chunk) < _GAP_LEN else chunk)[-_GAP_LEN:]
                    try:
                        events = feed(chunk)
                    except LineTooLongError as exc:
                        if exc.events:  # what the chunk completed before the limit is kept
                            self._delivered(delivery.deliver(exc.events, current), parser, current)
                        raise StreamError(f"{self.url}: {exc}") from exc
                    self._retry_ms = parser.retry
                    if events:
                        self._delivered(delivery.deliver(events, current), parser, current)
                    else:
                        self._last_event_id = parser.last_event_id
                    if (inbox.full and events) or taps.pause_until:
                        idle_scope.deadline = math.inf  # a slow consumer is not a dead server
                        if inbox.full:
                            await inbox.room()
                        await taps.paused()
                        if idle:
                            moved = time.monotonic()
                            idle_scope.deadline = anyio.current_time() + idle + slack
        if idle_scope.cancelled_caught:
            raise _IdleExpired

    def _delivered(
        self, events: list[Event], parser: EventParser, current: Callable[[], bool]
    ) -> None:
        # After delivery: another thread never sees an id ahead of ``history``. A listener that
        # closed the source leaves it at the last event dispatched, so a reconnect resumes there.
        if current():
            self._last_event_id = parser.last_event_id
        elif events:
            self._last_event_id = events[-1].last_event_id

    def _fail(self, generation: int, error: BaseException | None, reason: str) -> None:
        # HTML §9.2.3 "fail the connection", unless a newer driver (or close()) took over.
        if generation != self._generation:
            return
        self._generation += 1
        self._scope = None
        self._states.fail(error, reason)

    # -- iteration ----------------------------------------------------------------------------

    def _own_inbox(self) -> AsyncInbox:
        if self._async_inbox is None:
            raise TypeError("this source feeds a synchronous EventSource; iterate that instead")
        return self._async_inbox

    def __aiter__(self) -> AsyncIterator[Event]:
        return self._own_inbox().__aiter__()

    async def next(self, timeout: float | None = None) -> Event:
        """The next event; ``TimeoutError`` after ``timeout`` s, ``SourceClosed`` once CLOSED.

        A source that failed (bad status, content type, reconnect limit) raises that error once
        instead of ``SourceClosed``.
        """
        return await self._own_inbox().next(timeout)


class _IdleExpired(Exception):
    """Internal: the idle deadline passed (turned into ``IdleTimeout`` by the loop)."""
