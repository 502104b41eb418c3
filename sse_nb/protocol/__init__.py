"""The sans-IO core: the HTML standard's event-stream parser and encoder, and reconnect timing.

Standard library only; the server and client drive these objects, never the other way round.
"""

from .encoder import encode_comment, encode_event
from .events import Event, ReadyState
from .parser import (
    MAX_EVENT_LENGTH,
    MAX_LINE_LENGTH,
    MAX_RETRY,
    EventParser,
    EventTooLongError,
    LineTooLongError,
)
from .reconnect import DEFAULT_DELAY, ReconnectPolicy

__all__ = [
    "DEFAULT_DELAY",
    "MAX_EVENT_LENGTH",
    "MAX_LINE_LENGTH",
    "MAX_RETRY",
    "Event",
    "EventParser",
    "EventTooLongError",
    "LineTooLongError",
    "ReadyState",
    "ReconnectPolicy",
    "encode_comment",
    "encode_event",
]
