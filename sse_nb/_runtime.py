"""One background event-loop thread, shared by every server and sync client in the process.

Why a thread of our own: a notebook cell that blocks (``time.sleep(10)``) holds the kernel's
main thread, and with it the kernel's own event loop. Streaming, heartbeats and disconnect
detection must go on regardless, so they live on a daemon thread running a private asyncio loop.
Tornado's ``IOLoop.current()`` on that thread wraps the same asyncio loop, so the server and the
anyio-based client share it.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import contextlib
import threading
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

__all__ = ["call_soon", "get_loop", "in_runtime_thread", "run", "shutdown", "spawn"]

T = TypeVar("T")

#: How long ``run()`` waits by default before giving up with ``TimeoutError``: long enough for
#: any start/stop on a loaded machine, short enough that a bug shows up as an error, not a hang.
DEFAULT_TIMEOUT = 30.0

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None
_thread: threading.Thread | None = None


def _serve(loop: asyncio.AbstractEventLoop, ready: threading.Event) -> None:
    asyncio.set_event_loop(loop)
    loop.call_soon(ready.set)
    try:
        loop.run_forever()
    finally:
        loop.close()


def get_loop() -> asyncio.AbstractEventLoop:
    """The shared loop, started on first use."""
    global _loop, _thread
    with _lock:
        if _loop is None or _loop.is_closed() or _thread is None or not _thread.is_alive():
            loop = asyncio.new_event_loop()
            ready = threading.Event()
            thread = threading.Thread(
                target=_serve, args=(loop, ready), name="sse_nb-runtime", daemon=True
            )
            thread.start()
            ready.wait(DEFAULT_TIMEOUT)
            _loop, _thread = loop, thread
        return _loop


def in_runtime_thread() -> bool:
    """True when called from the runtime thread itself (where ``run()`` would deadlock)."""
    return _thread is not None and threading.current_thread() is _thread


def spawn(coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
    """Schedule ``coro`` on the runtime loop; returns a thread-safe future."""
    return asyncio.run_coroutine_threadsafe(coro, get_loop())


def run(coro: Coroutine[Any, Any, T] | Awaitable[T], timeout: float | None = DEFAULT_TIMEOUT) -> T:
    """Run ``coro`` on the runtime loop and block this thread until it is done."""
    if in_runtime_thread():
        raise RuntimeError("sse_nb: run() called on the runtime thread; await the coroutine")

    async def _wrap() -> T:
        return await coro

    fut = spawn(_wrap())
    try:
        return fut.result(timeout)
    except concurrent.futures.TimeoutError:
        fut.cancel()
        raise TimeoutError(f"sse_nb: operation did not finish within {timeout} s") from None


def call_soon(fn: Callable[..., Any], *args: Any) -> None:
    """Call ``fn(*args)`` on the runtime thread, from any thread."""
    get_loop().call_soon_threadsafe(fn, *args)


def shutdown(timeout: float = 5.0) -> None:
    """Stop the loop and join the thread (at interpreter exit; tests may call it too)."""
    global _loop, _thread
    with _lock:
        loop, thread = _loop, _thread
        _loop = _thread = None
    if loop is None or thread is None or loop.is_closed():
        return

    async def _cancel_all() -> None:
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # Best effort at interpreter exit: a task that refuses to end must not block the exit.
    with contextlib.suppress(Exception):
        asyncio.run_coroutine_threadsafe(_cancel_all(), loop).result(timeout)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(timeout)


atexit.register(shutdown)
