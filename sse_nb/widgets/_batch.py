"""One writer per widget: coalesce change notices from any thread into rate-limited flushes.

Theory of operation. Clients and servers call their observers on ``sse_nb``'s runtime thread,
possibly 10,000 times a second. An observer must not touch a trait (each set is a comm message
and a re-render in the page); it only records what changed and calls :meth:`Flusher.request`.
The first request after a flush schedules one call on the runtime loop, no sooner than
``1 / FLUSH_HZ`` seconds after the previous flush; further requests before that call are free.
The call runs every registered sink in turn: the sinks are the only code that sets traits or
sends messages, so each widget has exactly one writer, and it never runs on the kernel's main
thread, so widgets stay live while a cell blocks.

A panel made of several widgets shares one ``Flusher``, so the panel as a whole flushes at most
``FLUSH_HZ`` times a second.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable

from .. import _runtime

__all__ = ["FLUSH_HZ", "Flusher"]

#: Flushes per second at most: faster than a person reads, slow enough that the comm channel
#: and the page's layout work stay small whatever the event rate.
FLUSH_HZ = 10

#: Flush times kept for inspection (tests, benchmarks): a minute at the top rate.
FLUSH_LOG = 60 * FLUSH_HZ

log = logging.getLogger(__name__)


class Flusher:
    """Runs its sinks on the runtime thread at most ``FLUSH_HZ`` times a second, on request."""

    def __init__(self, hz: float = FLUSH_HZ) -> None:
        if hz <= 0:
            raise ValueError(f"hz must be positive, got {hz!r}")
        self.interval = 1.0 / hz
        self._lock = threading.Lock()
        self._sinks: list[Callable[[], None]] = []
        self._scheduled = False
        self._closed = False
        self._last = float("-inf")
        #: Flushes run so far, counted by the flusher itself.
        self.flushes = 0
        #: ``time.monotonic()`` of recent flushes, newest last.
        self.flush_times: deque[float] = deque(maxlen=FLUSH_LOG)
        #: Names of the threads the flushes ran on (a set: normally just the runtime thread).
        self.flush_threads: set[str] = set()

    def add(self, sink: Callable[[], None]) -> None:
        """Register a sink; sinks run in registration order."""
        with self._lock:
            self._sinks.append(sink)

    def request(self) -> None:
        """Ask for a flush soon; cheap and callable from any thread, any number of times."""
        with self._lock:
            if self._scheduled or self._closed:
                return
            self._scheduled = True
        if _runtime.in_runtime_thread():
            self._schedule()
        else:
            _runtime.call_soon(self._schedule)

    def close(self) -> None:
        """Stop flushing: pending and future requests are ignored."""
        with self._lock:
            self._closed = True
            self._sinks.clear()

    def _schedule(self) -> None:
        delay = max(0.0, self._last + self.interval - time.monotonic())
        _runtime.get_loop().call_later(delay, self._run)

    def _run(self) -> None:
        with self._lock:
            if self._closed:
                return
            if time.monotonic() < self._last + self.interval:
                # asyncio may run a timer up to its clock resolution early: never early here.
                _runtime.get_loop().call_later(
                    self._last + self.interval - time.monotonic(), self._run
                )
                return
            # Clear the flag and stamp the time together: a request arriving while the sinks
            # run schedules the next flush a full interval after this one.
            self._scheduled = False
            self._last = now = time.monotonic()
            sinks = list(self._sinks)
            self.flushes += 1
            self.flush_times.append(now)
            self.flush_threads.add(threading.current_thread().name)
        for sink in sinks:
            try:
                sink()
            except Exception:
                # A failing view must not stop the runtime loop or the other sinks.
                log.exception("sse_nb widget flush failed")
