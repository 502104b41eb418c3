"""The resumable client: ``AsyncEventSource`` (asyncio and trio) and ``EventSource`` (sync).

``connection`` makes one request and checks the response; ``source`` runs the reconnect loop and
state machine; ``sync`` runs a source on the runtime thread for notebooks and scripts.
"""

from .source import (
    DEDUP_WINDOW,
    DEFAULT_HISTORY,
    GAP_EVENT,
    AsyncEventSource,
    Received,
    Transition,
)
from .sync import EventSource

__all__ = [
    "DEDUP_WINDOW",
    "DEFAULT_HISTORY",
    "GAP_EVENT",
    "AsyncEventSource",
    "EventSource",
    "Received",
    "Transition",
]
