"""The server's event loop, as seen from any thread: find it, ask whether we are on it, call it."""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Callable
from typing import TypeVar

from .. import _runtime

__all__ = ["CALL_TIMEOUT", "LoopHandle"]

T = TypeVar("T")

#: Longest time a thread waits for the loop to run a start/stop/disconnect step.
CALL_TIMEOUT = 30.0


class LoopHandle:
    """The loop a server runs on: sse_nb's runtime loop unless one is given (``mount()``)."""

    def __init__(self) -> None:
        self.loop: asyncio.AbstractEventLoop | None = None

    def get(self) -> asyncio.AbstractEventLoop:
        if self.loop is None or self.loop.is_closed():
            self.loop = _runtime.get_loop()
        return self.loop

    def here(self) -> bool:
        """True when called on the loop's own thread (inside a callback or task)."""
        try:
            return asyncio.get_running_loop() is self.loop
        except RuntimeError:
            return False

    def call_soon(self, fn: Callable[[], object]) -> None:
        """Schedule ``fn`` on the loop, from its thread or any other."""
        loop = self.get()
        if self.here():
            loop.call_soon(fn)
        else:
            loop.call_soon_threadsafe(fn)

    def call(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` on the loop thread and return its result (directly if already there)."""
        loop = self.get()
        if self.here():
            return fn()
        fut: concurrent.futures.Future[T] = concurrent.futures.Future()

        def run() -> None:
            try:
                fut.set_result(fn())
            except BaseException as exc:  # handed to the waiting thread
                fut.set_exception(exc)

        loop.call_soon_threadsafe(run)
        return fut.result(CALL_TIMEOUT)
