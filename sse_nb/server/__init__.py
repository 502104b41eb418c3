"""The Tornado driver: an SSE server that replays by ``Last-Event-ID`` and tracks its clients.

Importing this package imports Tornado; ``import sse_nb`` alone does not. The Redis log and
publisher import the ``redis`` package (extra ``sse_nb[redis]``) only when one is created.
"""

from ..protocol import GAP_EVENT, MAX_ID_LENGTH
from .app import EventServer
from .connection import MAX_QUEUED_BYTES, ClientInfo
from .handler import MAX_ACCEPT_LENGTH, TCP_USER_TIMEOUT_MS, EventStreamHandler
from .lifecycle import FINAL_LINGER
from .log import DEFAULT_HISTORY, EventLog, MemoryLog, Replay, SQLiteLog, StoredEvent
from .opening import ACCEPT_HEADER, GAP_HEADER, NO_ACCEPT
from .publisher import RedisPublisher
from .reasons import LOST, CloseReason
from .redis_log import RedisEventLog
from .seam import StreamHost, StreamRequest
from .ticker import TICK_EVENT, Ticker
from .tokens import AUTO_TOKEN, mask_token

__all__ = [
    "ACCEPT_HEADER",
    "AUTO_TOKEN",
    "DEFAULT_HISTORY",
    "FINAL_LINGER",
    "GAP_EVENT",
    "GAP_HEADER",
    "LOST",
    "MAX_ACCEPT_LENGTH",
    "MAX_ID_LENGTH",
    "MAX_QUEUED_BYTES",
    "NO_ACCEPT",
    "TCP_USER_TIMEOUT_MS",
    "TICK_EVENT",
    "ClientInfo",
    "CloseReason",
    "EventLog",
    "EventServer",
    "EventStreamHandler",
    "MemoryLog",
    "RedisEventLog",
    "RedisPublisher",
    "Replay",
    "SQLiteLog",
    "StoredEvent",
    "StreamHost",
    "StreamRequest",
    "Ticker",
    "mask_token",
]
