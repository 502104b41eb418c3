"""Why a connection ended: the close reasons the client registry records.

The values are the words the registry, the CLI and the widgets have always shown; the members
give them one spelling in code.
"""

from __future__ import annotations

import enum

__all__ = ["LOST", "CloseReason"]


class CloseReason(str, enum.Enum):
    """Why one connection ended, recorded as ``ClientInfo.close_reason`` (a ``str``)."""

    #: The client ended the stream (EOF on the server's read), or a browser widget said so.
    CLIENT_CLOSED = "client closed"
    #: Sending failed (the peer reset the connection, or the socket broke mid-write).
    WRITE_FAILED = "write failed"
    #: Heartbeats went unacknowledged until ``TCP_USER_TIMEOUT`` declared the peer gone, or
    #: writing a heartbeat failed.
    HEARTBEAT_FAILED = "heartbeat failed"
    #: ``disconnect()`` reset the connection, or ``close_channel()`` ended it.
    DROPPED_BY_SERVER = "dropped by server"
    #: The client fell more than ``queue_limit`` bytes behind; it can resume with
    #: ``Last-Event-ID``.
    SLOW_CONSUMER = "slow consumer"
    #: ``stop()`` ended every stream.
    SERVER_STOPPED = "server stopped"
    #: The client kept sending after its request, past ``MAX_BYTES_AFTER_REQUEST``.
    CLIENT_SENT_DATA = "client sent data"

    # Shown as the value, in text and in f-strings alike, as ``enum.StrEnum`` (3.11+) does.
    def __str__(self) -> str:
        return str(self.value)

    def __format__(self, spec: str) -> str:
        return format(str(self.value), spec)


#: Reasons that mean the connection was lost, not closed on purpose by the client or a stop.
LOST = frozenset(
    {
        CloseReason.DROPPED_BY_SERVER,
        CloseReason.WRITE_FAILED,
        CloseReason.HEARTBEAT_FAILED,
        CloseReason.SLOW_CONSUMER,
    }
)
