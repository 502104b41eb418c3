"""The Tornado driver: an SSE server that replays by ``Last-Event-ID`` and tracks its clients.

Importing this package imports Tornado; ``import sse_nb`` alone does not.
"""

from .app import FINAL_LINGER, EventServer
from .connection import MAX_QUEUED_BYTES, ClientInfo
from .handler import GAP_EVENT, GAP_HEADER, MAX_ID_LENGTH, TCP_USER_TIMEOUT_MS, EventStreamHandler
from .log import DEFAULT_HISTORY, EventLog, MemoryLog, Replay, SQLiteLog, StoredEvent

__all__ = [
    "DEFAULT_HISTORY",
    "FINAL_LINGER",
    "GAP_EVENT",
    "GAP_HEADER",
    "MAX_ID_LENGTH",
    "MAX_QUEUED_BYTES",
    "TCP_USER_TIMEOUT_MS",
    "ClientInfo",
    "EventLog",
    "EventServer",
    "EventStreamHandler",
    "MemoryLog",
    "Replay",
    "SQLiteLog",
    "StoredEvent",
]
