"""The heartbeat: one timer per server writes a comment to each stream idle since the last tick.

A comment line (``:``) is ignored by every client, yet it keeps bytes in flight: through a proxy
that would time an idle response out, and to the kernel, whose ``TCP_USER_TIMEOUT`` then tells a
vanished peer (no FIN, no RST) from a quiet one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from .connection import HEARTBEAT, Connection

__all__ = ["HEARTBEAT_COMMENT", "Heartbeat"]

#: What a heartbeat writes: an empty comment line, the smallest thing a client ignores (its
#: chunk for a chunked body is built once, in ``connection.py``).
HEARTBEAT_COMMENT = HEARTBEAT


class Heartbeat:
    """Ticks every ``period`` seconds on the server's loop while ``active()`` holds."""

    def __init__(
        self,
        period: float | None,
        connections: Callable[[], list[Connection]],
        active: Callable[[], bool],
    ) -> None:
        self.period = period
        self._connections = connections
        self._active = active
        self._handle: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        """Start ticking (on ``loop``'s thread); does nothing when the period is ``None``."""
        self._loop = loop
        if self.period is not None:
            self._handle = loop.call_later(self.period, self._tick)

    def _tick(self) -> None:
        for conn in self._connections():
            conn.heartbeat()
        if self._active() and self._loop is not None:
            self.start(self._loop)

    def stop(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
