"""Waiting on a condition with a deadline: what notebooks and scripts do instead of ``sleep``."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

__all__ = ["wait_until"]

T = TypeVar("T")

#: Seconds between two looks at the condition: short enough to feel immediate in a notebook,
#: long enough to leave the runtime thread (which does the real work) the GIL.
POLL_INTERVAL = 0.02


def wait_until(predicate: Callable[[], T], timeout: float = 10.0, *, what: str = "") -> T:
    """Return ``predicate()``'s first truthy value; raise ``TimeoutError`` after ``timeout`` s.

    A cell that waits on what it is about to show never races the background thread, and a
    cell whose condition never comes true fails with a message instead of hanging.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise TimeoutError(f"timed out after {timeout} s waiting for {what or 'the condition'}")
        time.sleep(POLL_INTERVAL)
