"""The seam between ``EventServer`` and a log that many processes share (Redis Streams).

A local log (memory, SQLite) is written by the server that numbers the events, so replay and
live meet inside one synchronous step. A shared log is different in two ways, and this seam
names them:

* the log assigns the ids (``publish()`` returns what the log said), and every entry, this
  process's own included, reaches local subscribers through the log's tail, which calls
  :meth:`LogHost.deliver`;
* the replay of a connecting client is read over the network, so it arrives later: the server
  hands the log a pending connection with :meth:`SharedLog.join` and the log calls back with the
  :class:`~sse_nb.server.log.Replay` in the loop step where the connection may go live.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from .connection import Connection
    from .log import Replay

__all__ = ["LogHost", "Ready", "SharedLog"]


class LogHost(Protocol):
    """What a shared log may ask of the server it feeds (all on the server's loop thread)."""

    def deliver(self, channel: str, data: bytes, count: int, last_id: str) -> None:
        """Send ``count`` encoded events (``data``, shared bytes) to the channel's subscribers."""

    def resync(self, channel: str) -> int:
        """End the channel's live streams (the tail lost entries: clients resume and get a gap);
        returns how many."""

    def changed(self) -> None:
        """The log's state changed (e.g. it became unavailable): refresh views."""


@runtime_checkable
class SharedLog(Protocol):
    """A log whose ids it assigns itself and whose entries arrive through a tail."""

    def attach(self, host: LogHost, loop: asyncio.AbstractEventLoop) -> None:
        """Start serving ``host`` on ``loop`` (tails start when channels are joined)."""

    def detach(self) -> None:
        """Stop the tails and fail pending joins ("server stopped"); ``attach`` may follow."""

    def publish(self, channel: str, data: str, event: str | None, id: str | None) -> str:
        """Append one event; returns its id. Raises ``LogUnavailable`` when unreachable."""

    def join(self, channel: str, resume: str | None, conn: Connection, ready: Ready) -> None:
        """Call ``ready(replay)`` once ``conn`` may go live after ``resume`` (else close it)."""

    def last_id(self, channel: str) -> str | None:
        """The newest id this process knows for ``channel``."""

    @property
    def published(self) -> int:
        """Events this process appended."""

    @property
    def error(self) -> Exception | None:
        """``LogUnavailable("log unavailable since ...")`` while unreachable, else ``None``."""

    def close(self) -> None:
        """Release connections."""


class Ready(Protocol):
    """Called once with the replay (frames up to the moment the connection goes live)."""

    def __call__(self, replay: Replay, /) -> object: ...
