"""The resumable client: ``AsyncEventSource`` (asyncio and trio) and ``EventSource`` (sync).

``connection`` makes one request and checks the response; ``source`` runs the reconnect loop and
state machine; ``dedupe`` drops events a replay repeats; ``sync`` runs a source on the runtime
thread for notebooks and scripts; ``tap`` is what a byte tap hears, and the recorder built on
it. docs/client-lifecycle.md draws how they fit together.
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
from .tap import Recorder, Wire

__all__ = [
    "DEDUP_WINDOW",
    "DEFAULT_HISTORY",
    "GAP_EVENT",
    "AsyncEventSource",
    "EventSource",
    "Received",
    "Recorder",
    "Transition",
    "Wire",
]
