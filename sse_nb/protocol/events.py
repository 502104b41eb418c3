"""The values the protocol core hands out: a dispatched event and the connection state."""

from __future__ import annotations

from enum import IntEnum
from typing import NamedTuple

__all__ = ["Event", "ReadyState"]


class Event(NamedTuple):
    """One dispatched event, as a browser's ``MessageEvent`` would carry it.

    A ``NamedTuple`` rather than a dataclass: it is immutable and compact, and building one
    costs a single C call, which matters when a stream carries hundreds of thousands a second.
    """

    #: The event type: the ``event:`` field, or ``"message"`` when the block had none.
    type: str = "message"
    #: The ``data:`` lines joined with LF (the final LF removed).
    data: str = ""
    #: The stream's last-event-ID buffer at dispatch (browser ``MessageEvent.lastEventId``);
    #: it carries forward from earlier events when this one has no ``id:`` field.
    last_event_id: str = ""
    #: This event's own ``id:`` field, or ``None`` when the block had none (or it held NUL).
    id: str | None = None
    #: This event's own ``retry:`` field in milliseconds, or ``None``.
    retry: int | None = None


class ReadyState(IntEnum):
    """``EventSource.readyState``, with the browser's numbers (HTML, "Server-sent events")."""

    #: The connection has not yet been established, or it was lost and is being re-established.
    CONNECTING = 0
    #: The connection is open and dispatching events.
    OPEN = 1
    #: The connection is not open and the client is not trying to reconnect.
    CLOSED = 2
