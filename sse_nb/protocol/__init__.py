"""The sans-IO core: the event-stream parser and encoder, reconnect timing, and the wire contract.

Standard library only; the server and client drive these objects, never the other way round.
The wire contract both peers share lives here once: the gap signal (``gap``), the id and
``retry`` rules (``rules``), the connect decision and the legal readyState changes (``state``).
"""

from .encoder import encode_comment, encode_event
from .events import Event, ReadyState
from .gap import GAP_EVENT, Gap, encode_gap, gap_signal, read_gap
from .parser import (
    MAX_EVENT_LENGTH,
    MAX_LINE_LENGTH,
    MAX_RETRY,
    EventParser,
    EventTooLongError,
    LineTooLongError,
)
from .reconnect import DEFAULT_DELAY, ReconnectPolicy
from .rules import MAX_ID_LENGTH, check_id, check_retry, id_problem
from .state import (
    TRANSITIONS,
    ConnectDecision,
    IllegalTransition,
    check_transition,
    connect_decision,
)

__all__ = [
    "DEFAULT_DELAY",
    "GAP_EVENT",
    "MAX_EVENT_LENGTH",
    "MAX_ID_LENGTH",
    "MAX_LINE_LENGTH",
    "MAX_RETRY",
    "TRANSITIONS",
    "ConnectDecision",
    "Event",
    "EventParser",
    "EventTooLongError",
    "Gap",
    "IllegalTransition",
    "LineTooLongError",
    "ReadyState",
    "ReconnectPolicy",
    "check_id",
    "check_retry",
    "check_transition",
    "connect_decision",
    "encode_comment",
    "encode_event",
    "encode_gap",
    "gap_signal",
    "id_problem",
    "read_gap",
]
