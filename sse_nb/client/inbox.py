"""Where delivered events wait for their consumer: the iteration buffer and its backpressure.

A source hands each chunk of delivered events to its *inbox* and tells it every change of
readyState; the inbox is all a consumer (``async for``, ``next()``) talks to. ``Inbox`` is the
seam: ``AsyncInbox`` (here) serves a task on the source's own event loop, ``sync.ThreadInbox``
a thread of the caller's. The source needs nothing else from either.

``AsyncInbox`` keeps events as the chunks they arrived in, so the receive path costs one
``append`` and one wake-up per chunk. While someone iterates, ``full`` tells the reader to wait
(``room()``) once ``MAX_BUFFERED_EVENTS`` are waiting, until the consumer has taken them all: the
socket is then not read, and TCP slows the server down. While nobody iterates, the oldest chunks
beyond the limit are dropped and counted in ``dropped``.
"""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterator, Iterator
from typing import Protocol

import anyio

from ..errors import SourceClosed
from ..protocol import Event, ReadyState

__all__ = ["MAX_BUFFERED_EVENTS", "AsyncInbox", "Inbox"]

#: Events waiting for an ``async for`` consumer before the reader pauses until the consumer has
#: taken them all (TCP backpressure); while nobody iterates, the oldest beyond this are dropped
#: and counted in ``dropped``.
MAX_BUFFERED_EVENTS = 10_000


class Inbox(Protocol):
    """What a source needs from the place its events wait in. Called on the source's loop."""

    #: Events dropped because nobody took them in time.
    dropped: int

    @property
    def full(self) -> bool:
        """Whether the reader should wait for ``room()`` before reading more."""

    def put(self, events: list[Event]) -> None:
        """Take a chunk of delivered events (never empty), in order."""

    async def room(self) -> None:
        """Return once the consumer has made room (awaited only while ``full``)."""

    def state_changed(self, state: ReadyState, error: BaseException | None) -> None:
        """readyState changed; once CLOSED, a consumer that has taken everything is told so."""


class AsyncInbox:
    """The iteration buffer of an ``AsyncEventSource``, read by a task on the same event loop."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.dropped = 0
        #: Whether the source is running (entered, or started): a consumer waiting on a source
        #: that is not would wait forever, so it is told instead.
        self.running = False
        self._iterating = False
        # Events for iteration, kept as the chunks they arrived in; ``_partial`` is the list
        # iterator of the chunk being taken (it remembers its place if the consumer stops).
        self._pending: deque[list[Event]] = deque()
        self._count = 0  # events in _pending
        self._partial: Iterator[Event] | None = None
        self._wakeup: anyio.Event | None = None  # set when events arrive or the state ends
        self._room: anyio.Event | None = None  # set when the consumer has drained the buffer
        self._closed = False
        self._error: BaseException | None = None
        self._raised = False

    # -- the source's side --------------------------------------------------------------------

    @property
    def full(self) -> bool:
        """Someone iterates and ``MAX_BUFFERED_EVENTS`` wait: the reader pauses (backpressure)."""
        return self._iterating and self._count >= MAX_BUFFERED_EVENTS

    def put(self, events: list[Event]) -> None:
        """Keep a chunk for the consumer; with no consumer, drop (and count) the oldest beyond
        ``MAX_BUFFERED_EVENTS``."""
        pending = self._pending
        pending.append(events)
        self._count += len(events)
        if not self._iterating:
            while self._count - len(pending[0]) >= MAX_BUFFERED_EVENTS:
                dropped = len(pending.popleft())
                self._count -= dropped
                self.dropped += dropped
        self._wake()

    async def room(self) -> None:
        """Return once the consumer has taken every buffered event (the reader's pause)."""
        self._room = anyio.Event()
        await self._room.wait()

    def state_changed(self, state: ReadyState, error: BaseException | None) -> None:
        """Once CLOSED, a waiting consumer gets ``SourceClosed`` (or ``error``, once)."""
        self._closed = state is ReadyState.CLOSED
        if self._closed:
            self._error, self._raised = error, False
        self._wake()

    def _wake(self) -> None:
        if self._wakeup is not None:
            self._wakeup.set()
            self._wakeup = None

    # -- the consumer's side ------------------------------------------------------------------

    def __aiter__(self) -> AsyncIterator[Event]:
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
                self._count -= len(chunk)
                part = self._partial = iter(chunk)
                for ev in part:
                    yield ev
                self._partial = None
            try:
                ev = await self.next()  # lets a paused reader go on, then waits
            except SourceClosed:
                return
            yield ev

    def take(self) -> Event | None:
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
            self._count -= len(chunk)
            self._partial = iter(chunk)

    async def next(self, timeout: float | None = None) -> Event:
        """The next event; ``TimeoutError`` after ``timeout`` s, ``SourceClosed`` once CLOSED.

        A source that failed raises its error once instead of ``SourceClosed``.
        """
        self._iterating = True
        ev = self.take()
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
            ev = self.take()
            if ev is not None:
                return ev
            if self._closed:
                if self._error is not None and not self._raised:
                    self._raised = True
                    raise self._error
                raise SourceClosed(f"the event source for {self.url} is closed")
            if not self.running:
                raise RuntimeError(
                    "this AsyncEventSource is not running; "
                    "use `async with AsyncEventSource(...) as es`"
                )
            if self._wakeup is None:
                self._wakeup = anyio.Event()
            await self._wakeup.wait()
