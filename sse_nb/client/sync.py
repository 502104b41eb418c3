"""EventSource: the resumable client for notebooks and scripts, running in the background.

An ``AsyncEventSource`` does the work on sse_nb's runtime thread (``sse_nb._runtime``), so a
cell that blocks (``time.sleep``) does not stop the stream, heartbeats or idle detection.
This module is the thread boundary: reads of state are plain attribute reads (safe under the
GIL), every change (``close()``, ``reconnect()``) is done on the runtime thread, and events
cross to the caller's thread through a ``ThreadInbox``, the source's inbox.

The hand-off is per chunk, not per event: the runtime thread appends a chunk's list under a
lock and wakes a waiting reader only if one waits that was not woken yet; the reader takes
every waiting chunk in one go and then walks them with no lock at all (a C-level ``chain``
iterator), so the cost per event on the caller's thread is one ``next()`` on that iterator.

A woken reader still needs the GIL, and a busy runtime thread gives it up only every few
milliseconds (``sys.getswitchinterval()``): thousands of events then wait, live through the
garbage collector's young generation and get promoted, until full collections cost more than
the reading. So once ``HANDOFF_EVENTS`` wait for a reader that was woken and has not taken them,
the runtime thread steps aside for it (at most ``HANDOFF_WAIT`` s, once per wake-up): a reader
that keeps up then takes a few hundred events at a time, and they die young.
"""

from __future__ import annotations

import _thread
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from itertools import chain
from typing import TYPE_CHECKING, Any

from .. import _runtime
from .._display import panel_bundle
from ..errors import SourceClosed
from ..protocol import Event, ReadyState, ReconnectPolicy
from .delivery import Received
from .inbox import MAX_BUFFERED_EVENTS
from .options import Listener, ServerLike, SourceOptions, target
from .readystate import Transition
from .source import AsyncEventSource
from .tap import Tapped

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = [
    "DEFAULT_WAIT",
    "HANDOFF_EVENTS",
    "HANDOFF_WAIT",
    "MAX_PENDING_EVENTS",
    "MAX_UNREAD_EVENTS",
    "EventSource",
    "ThreadInbox",
]

#: Events held for ``next()`` / iteration once a reader has asked for one. Blocking the shared
#: runtime thread is not an option, so beyond this the oldest are dropped and counted in
#: ``dropped`` (callbacks and ``history`` still see every event).
MAX_PENDING_EVENTS = 100_000
#: Events held while nobody has asked for one yet: a notebook that only uses callbacks (as the
#: widgets do) never drains them, and holding 100,000 costs memory and, at high rates, garbage
#: collection (a fifth of the runtime thread's time). As the async face's ``AsyncInbox``.
MAX_UNREAD_EVENTS = MAX_BUFFERED_EVENTS

#: Events waiting for a woken reader before the runtime thread steps aside for it: below the
#: garbage collector's young-generation threshold (700 objects by default), so the events a
#: reader keeps up with are freed before a collection sees them.
HANDOFF_EVENTS = 500
#: The longest the runtime thread steps aside (seconds): a reader that is not scheduled in time
#: costs the other sources and servers on that thread at most this, once per wake-up.
HANDOFF_WAIT = 0.001

#: Default seconds ``wait_for`` waits: far beyond a loopback connect, short enough to fail fast.
DEFAULT_WAIT = 10.0
#: ``wait_for`` re-checks its condition at least this often (seconds), for conditions on state
#: that does not wake the source (another object's, e.g. a server's registry).
WAIT_POLL = 0.05


class ThreadInbox:
    """The inbox of a source read from other threads: fed on the runtime thread, never full."""

    full = False  # the runtime thread is shared: it never waits for a slow reader

    def __init__(self, url: str) -> None:
        self.url = url
        #: Events dropped because nobody drained the inbox (beyond ``MAX_UNREAD_EVENTS`` before
        #: the first read, ``MAX_PENDING_EVENTS`` after it).
        self.dropped = 0
        self._limit = MAX_UNREAD_EVENTS  # until a reader asks for an event
        self._lock = threading.Lock()  # taken directly (C level); the condition is over it
        self._cond = threading.Condition(self._lock)
        self._chunks: deque[list[Event]] = deque()  # waiting, fed by the runtime thread
        self._count = 0  # events in _chunks
        self._waiting = 0  # threads in _cond.wait()
        self._readers = 0  # of them, readers (in next(); wait_for takes no events)
        self._woken = False  # notified since the last of them began to wait: no need again
        # Released by the reader that takes the chunks, while the runtime thread waits on it.
        self._handoff: _thread.LockType | None = None
        # The chunks a reader took, walked with no lock; replaced only under the lock, and only
        # once walked to the end, so two readers never lose an event between them.
        self._taken: Iterator[Event] = iter(())
        self._closed = False
        self._error: BaseException | None = None
        self._raised = False

    # -- the runtime thread's side -----------------------------------------------------------

    def put(self, events: list[Event]) -> None:
        """Keep a chunk for the reading thread; beyond the limit the oldest are dropped and
        counted. Runtime thread: waits for no reader, but steps aside for a woken one (see the
        module's docstring)."""
        with self._lock:
            chunks = self._chunks
            chunks.append(events)
            self._count += len(events)
            extra = self._count - self._limit
            if extra > 0:
                self.dropped += extra
                self._count -= extra
                while extra >= len(chunks[0]):
                    extra -= len(chunks.popleft())
                if extra:
                    chunks[0] = chunks[0][extra:]
            if not self._waiting:
                return
            if not self._woken:
                self._woken = True
                self._cond.notify_all()
            if not self._readers or self._count < HANDOFF_EVENTS or self._handoff is not None:
                return
            handoff = self._handoff = _thread.allocate_lock()
            handoff.acquire()
        handoff.acquire(timeout=HANDOFF_WAIT)  # the GIL is free meanwhile: the reader takes it

    async def room(self) -> None:
        """Never awaited: ``full`` is always false."""

    def state_changed(self, state: ReadyState, error: BaseException | None) -> None:
        """Once CLOSED, a waiting reader gets ``SourceClosed`` (or ``error``, once)."""
        with self._lock:
            self._closed = state is ReadyState.CLOSED
            if self._closed:
                self._error, self._raised = error, False
            if self._waiting:
                self._cond.notify_all()

    # -- the reader's side -------------------------------------------------------------------

    def next(self, timeout: float | None = None) -> Event:
        """Block for the next event (see ``EventSource.next``)."""
        ev = next(self._taken, None)
        if ev is not None:
            return ev
        self._limit = MAX_PENDING_EVENTS  # a reader: hold more for it from now on
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            while True:
                ev = next(self._taken, None)  # another reader may have taken a batch
                if ev is not None:
                    return ev
                if self._chunks:
                    chunks, self._chunks, self._count = self._chunks, deque(), 0
                    self._taken = chain.from_iterable(chunks)
                    if self._handoff is not None:  # the runtime thread waits for this
                        self._handoff.release()
                        self._handoff = None
                    continue
                if self._closed:
                    if self._error is not None and not self._raised:
                        self._raised = True
                        raise self._error
                    raise SourceClosed(f"the event source for {self.url} is closed")
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    raise TimeoutError(f"no event from {self.url} within {timeout} s")
                self._wait(left, reader=True)

    def iterate(self, timeout: float | None = None) -> Iterator[Event]:
        """Events until CLOSED, or until ``timeout`` s pass with none (when given)."""
        while True:
            yield from self._taken  # remembers its place if the reader stops half way
            try:
                ev = self.next(timeout)
            except SourceClosed:
                return
            except TimeoutError:
                return
            yield ev

    def wait_until(self, check: Callable[[], object], timeout: float) -> bool:
        """Block until ``check()`` is true (re-checked on every chunk, every state change and at
        least every ``WAIT_POLL`` s); False if ``timeout`` passed first."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while not check():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._wait(min(left, WAIT_POLL))
        return True

    def _wait(self, timeout: float | None, *, reader: bool = False) -> None:
        self._waiting += 1
        self._readers += reader
        self._woken = False
        try:
            self._cond.wait(timeout)
        finally:
            self._waiting -= 1
            self._readers -= reader


class EventSource(Tapped):
    """A resumable event-stream client that runs in the background; starts connecting at once.

    ::

        es = EventSource("http://127.0.0.1:8000/events", idle_timeout=30)
        es.on("message", lambda ev: print(ev.data))   # runs on the runtime thread
        for ev in es.events(timeout=5):                # or iterate in this thread
            ...
        es.close()

    The keywords are those of ``AsyncEventSource`` (``options.SourceOptions``); give
    ``listeners`` (``{type: callback}``) to have them in place before the first byte. Callbacks
    run on the runtime thread and must be quick. Use it as a context manager to close it on exit.
    ``EventSource(server)`` takes an ``EventServer``'s url and sends its token.
    """

    def __init__(self, url: str | ServerLike, **options: Unpack[SourceOptions]) -> None:
        url, options = target(url, options)
        self._panel: Any = None  # the ClientPanel shown by _repr_mimebundle_, made once
        self._inbox = ThreadInbox(url)
        self._source = AsyncEventSource(url, inbox=self._inbox, **options)
        self.taps = self._source.taps  # tap(), record(), pause_reading() act on the source's
        _runtime.call_soon(self._source.start, lambda fn: _runtime.spawn(fn()))

    # -- state, read from any thread ----------------------------------------------------------

    @property
    def url(self) -> str:
        """The stream's URL (a server object given instead is read as its ``url``)."""
        return self._source.url

    @property
    def ready_state(self) -> ReadyState:
        """CONNECTING, OPEN or CLOSED, as the browser's ``readyState``."""
        return self._source.ready_state

    @property
    def policy(self) -> ReconnectPolicy:
        """How the source waits between connection attempts."""
        return self._source.policy

    @property
    def last_event_id(self) -> str:
        """The id the next (re)connect sends as ``Last-Event-ID``."""
        return self._source.last_event_id

    @property
    def retry(self) -> int | None:
        """The reconnection time the server asked for with ``retry:``, in ms."""
        return self._source.retry

    @property
    def error(self) -> BaseException | None:
        """Why the source is CLOSED or reconnecting; ``None`` while OPEN."""
        return self._source.error

    @property
    def gap(self) -> dict[str, Any] | None:
        """The server's last gap signal (``requested``, ``oldest``), or ``None``."""
        return self._source.gap

    @property
    def events_received(self) -> int:
        """Events delivered so far, across reconnects (duplicates of a replay not counted)."""
        return self._source.events_received

    @property
    def reconnects(self) -> int:
        """Reconnect attempts so far: after lost connections, and ``reconnect()`` calls."""
        return self._source.reconnects

    @property
    def duplicates(self) -> int:
        """Events not delivered because their id was already seen (replay overlap)."""
        return self._source.duplicates

    @property
    def history(self) -> list[Received]:
        """The last events delivered, oldest first, each with its arrival time."""
        return self._source.history

    @property
    def transitions(self) -> list[Transition]:
        """The timestamped log of state changes, oldest first."""
        return self._source.transitions

    def on(self, type: str, callback: Listener) -> Callable[[], None]:
        """``addEventListener``: ``"open"``, ``"error"``, ``"message"``, named types,
        ``"state"`` (a ``Transition``) or ``"*"`` (every event). Returns an unsubscribe function.
        """
        return self._source.on(type, callback)

    # -- control ------------------------------------------------------------------------------

    def close(self) -> None:
        """CLOSED before this returns, from any state; idempotent."""
        self._on_runtime(self._source.close)

    def reconnect(self) -> None:
        """Connect again now (also after ``close()``), resuming from ``last_event_id``."""
        self._on_runtime(self._source.reconnect)

    def _on_runtime(self, fn: Callable[..., None], *args: Any) -> None:
        if _runtime.in_runtime_thread():
            fn(*args)
            return

        async def call() -> None:
            fn(*args)

        _runtime.run(call())

    def __enter__(self) -> EventSource:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    # -- events crossing to the caller's thread -----------------------------------------------

    @property
    def dropped(self) -> int:
        """Events dropped from the iteration queue because nobody drained it."""
        return self._inbox.dropped

    def wait_for(
        self,
        condition: ReadyState | Callable[[EventSource], object],
        timeout: float = DEFAULT_WAIT,
    ) -> None:
        """Block until ``ready_state`` is ``condition`` (or ``condition(self)`` is true).

        The source works in the background, so ``es = EventSource(url)`` returns before the
        connection is open; a script that publishes right away and expects the client to have
        it waits first: ``es.wait_for(ReadyState.OPEN)``, or
        ``es.wait_for(lambda es: es.events_received >= 10)``. Raises ``TimeoutError`` saying
        what was awaited and what the state is.
        """
        if _runtime.in_runtime_thread():
            raise RuntimeError("EventSource.wait_for() would block the runtime thread")
        check: Callable[[EventSource], object]
        if isinstance(condition, ReadyState):
            state = condition
            check, what = (lambda es: es.ready_state is state), f"readyState {state.name}"
        else:
            check, what = condition, "the condition"
        if not self._inbox.wait_until(lambda: check(self), timeout):
            err = f" (last error: {self.error})" if self.error is not None else ""
            raise TimeoutError(
                f"{self.url}: waited {timeout} s for {what}; "
                f"readyState is {self.ready_state.name}{err}"
            )

    def next(self, timeout: float | None = None) -> Event:
        """Block for the next event of any type.

        Raises ``TimeoutError`` after ``timeout`` seconds, ``SourceClosed`` once the source is
        CLOSED and every received event has been taken; a source that failed raises its error
        (bad status, bad content type, reconnect limit) once instead.
        """
        self._not_on_runtime("EventSource.next()")
        return self._inbox.next(timeout)

    def events(self, timeout: float | None = None) -> Iterator[Event]:
        """Yield events until CLOSED, or until ``timeout`` seconds pass with no new event."""
        self._not_on_runtime("iterating an EventSource")
        return self._inbox.iterate(timeout)

    def __iter__(self) -> Iterator[Event]:
        """Every event until CLOSED; a failure (e.g. HTTP 500) is raised, not swallowed."""
        self._not_on_runtime("iterating an EventSource")
        return self._inbox.iterate()

    @staticmethod
    def _not_on_runtime(what: str) -> None:
        if _runtime.in_runtime_thread():
            raise RuntimeError(f"{what} would block the runtime thread; use on()")

    # -- display ------------------------------------------------------------------------------

    def __repr__(self) -> str:
        s = self._source
        err = f" error={s.error}" if s.error is not None else ""
        return (
            f"<EventSource {s.ready_state.name} {s.url} last_event_id={s.last_event_id!r} "
            f"events={s.events_received} reconnects={s.reconnects}{err}>"
        )

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        """In Jupyter, show the live client panel; plain text where widgets are unavailable."""
        return panel_bundle(self, "ClientPanel", **kwargs)
