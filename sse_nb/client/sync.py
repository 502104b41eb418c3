"""EventSource: the resumable client for notebooks and scripts, running in the background.

An ``AsyncEventSource`` does the work on sse_nb's runtime thread (``sse_nb._runtime``), so a
cell that blocks (``time.sleep``) does not stop the stream, heartbeats or idle detection.
This module is the thread boundary: reads of state are plain attribute reads (safe under the
GIL), every change (``close()``, ``reconnect()``) is done on the runtime thread, and events
cross to the caller's thread through a bounded queue guarded by a ``threading.Condition``.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import httpx

from .. import _runtime
from .._display import panel_bundle
from ..errors import SourceClosed
from ..protocol import Event, ReadyState, ReconnectPolicy
from .source import DEFAULT_HISTORY, AsyncEventSource, Received, Transition
from .tap import Recorder, Wire

__all__ = ["DEFAULT_WAIT", "MAX_PENDING_EVENTS", "EventSource"]

#: Events held for ``next()`` / iteration. A notebook that only uses callbacks never drains
#: them, and blocking the shared runtime thread is not an option, so beyond this the oldest are
#: dropped and counted in ``dropped`` (callbacks and ``history`` still see every event).
MAX_PENDING_EVENTS = 100_000

#: Default seconds ``wait_for`` waits: far beyond a loopback connect, short enough to fail fast.
DEFAULT_WAIT = 10.0
#: ``wait_for`` re-checks its condition at least this often (seconds), for conditions on state
#: that does not wake the source (another object's, e.g. a server's registry).
_WAIT_POLL = 0.05


class EventSource:
    """A resumable event-stream client that runs in the background; starts connecting at once.

    ::

        es = EventSource("http://127.0.0.1:8000/events", idle_timeout=30)
        es.on("message", lambda ev: print(ev.data))   # runs on the runtime thread
        for ev in es.events(timeout=5):                # or iterate in this thread
            ...
        es.close()

    Parameters are those of ``AsyncEventSource``, plus ``listeners`` (``{type: callback}``),
    registered before connecting so that not even the first replayed event is missed. Callbacks
    run on the runtime thread and must be quick. Use it as a context manager to close it on exit.
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
        listeners: Mapping[str, Callable[[Any], None]] | None = None,
    ) -> None:
        self._source = AsyncEventSource(
            url,
            last_event_id=last_event_id,
            method=method,
            headers=headers,
            content=content,
            json=json,
            reconnect=reconnect,
            idle_timeout=idle_timeout,
            history=history,
            client=client,
            dedupe=dedupe,
            _buffer=False,
        )
        self._panel: Any = None  # the ClientPanel shown by _repr_mimebundle_, made once
        self._cond = threading.Condition()
        self._pending: deque[Event] = deque()
        self._raised = False
        #: Events dropped from the iteration queue because nobody drained it.
        self.dropped = 0
        self._source._sinks.append(self._queue)
        self._source.on("state", self._state_changed)
        self._source._spawn = lambda fn, gen: _runtime.spawn(fn(gen))
        # ``listeners`` are in place before the first byte; ``on()`` after the constructor
        # races the connection (a fast replay may come first; ``history`` still has it).
        for type_, callback in (listeners or {}).items():
            self._source.on(type_, callback)
        _runtime.call_soon(self._source._start, "connecting")

    # -- state, read from any thread ----------------------------------------------------------

    @property
    def url(self) -> str:
        return self._source.url

    @property
    def ready_state(self) -> ReadyState:
        """CONNECTING, OPEN or CLOSED, as the browser's ``readyState``."""
        return self._source.ready_state

    @property
    def last_event_id(self) -> str:
        """The id the next (re)connect sends as ``Last-Event-ID``."""
        return self._source.last_event_id

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
        return self._source.events_received

    @property
    def reconnects(self) -> int:
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

    def on(self, type: str, callback: Callable[[Any], None]) -> Callable[[], None]:
        """``addEventListener``: ``"open"``, ``"error"``, ``"message"``, named types,
        ``"state"`` (a ``Transition``) or ``"*"`` (every event). Returns an unsubscribe function.
        """
        return self._source.on(type, callback)

    def tap(self, callback: Callable[[Wire], None]) -> Callable[[], None]:
        """Hear each accepted response and its raw bytes (a ``Wire`` each, on the runtime
        thread) before the parser does; returns a function that removes the tap."""
        return self._source.tap(callback)

    def record(self, path: str | Path) -> Recorder:
        """Record every response from now on to ``path``; close the returned ``Recorder`` to
        stop. ``EventServer.play`` and ``sse-nb play`` serve it back byte for byte."""
        return self._source.record(path)

    def pause_reading(self, seconds: float) -> None:
        """Leave the socket unread for ``seconds`` after the next chunk: a real slow consumer."""
        self._source.pause_reading(seconds)

    # -- control ------------------------------------------------------------------------------

    def close(self) -> None:
        """CLOSED before this returns, from any state; idempotent."""
        self._on_runtime(self._source.close)

    def reconnect(self) -> None:
        """Connect again now (also after ``close()``), resuming from ``last_event_id``."""
        with self._cond:
            self._raised = False
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

    def _queue(self, events: list[Event]) -> None:
        with self._cond:
            pending = self._pending
            pending.extend(events)
            extra = len(pending) - MAX_PENDING_EVENTS
            if extra > 0:
                for _ in range(extra):
                    pending.popleft()
                self.dropped += extra
            self._cond.notify_all()

    def _state_changed(self, transition: Transition) -> None:
        with self._cond:
            self._cond.notify_all()

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
        deadline = time.monotonic() + timeout
        with self._cond:
            while not check(self):
                left = deadline - time.monotonic()
                if left <= 0:
                    err = f" (last error: {self.error})" if self.error is not None else ""
                    raise TimeoutError(
                        f"{self.url}: waited {timeout} s for {what}; "
                        f"readyState is {self.ready_state.name}{err}"
                    )
                # Woken by every state change and every chunk of events; the cap keeps a
                # condition on something else (e.g. a server's registry) from waiting forever.
                self._cond.wait(min(left, _WAIT_POLL))

    def next(self, timeout: float | None = None) -> Event:
        """Block for the next event of any type.

        Raises ``TimeoutError`` after ``timeout`` seconds, ``SourceClosed`` once the source is
        CLOSED and every received event has been taken; a source that failed raises its error
        (bad status, bad content type, reconnect limit) once instead.
        """
        if _runtime.in_runtime_thread():
            raise RuntimeError("EventSource.next() would block the runtime thread; use on()")
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while True:
                if self._pending:
                    return self._pending.popleft()
                if self._source.ready_state is ReadyState.CLOSED:
                    error = self._source.error
                    if error is not None and not self._raised:
                        self._raised = True
                        raise error
                    raise SourceClosed(f"the event source for {self.url} is closed")
                if deadline is None:
                    self._cond.wait()
                else:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise TimeoutError(f"no event from {self.url} within {timeout} s")
                    self._cond.wait(left)

    def events(self, timeout: float | None = None) -> Iterator[Event]:
        """Yield events until CLOSED, or until ``timeout`` seconds pass with no new event."""
        while True:
            try:
                yield self.next(timeout)
            except (SourceClosed, TimeoutError):
                return

    def __iter__(self) -> Iterator[Event]:
        """Every event until CLOSED; a failure (e.g. HTTP 500) is raised, not swallowed."""
        while True:
            try:
                yield self.next()
            except SourceClosed:
                return

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
