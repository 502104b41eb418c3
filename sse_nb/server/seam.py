"""The seam between the HTTP handler and the server: what a request handler needs, and no more.

:class:`~sse_nb.server.handler.EventStreamHandler` serves any :class:`StreamHost`;
:class:`~sse_nb.server.app.EventServer` is the one in the package. The handler does the HTTP
checks and takes the socket over; the host decides what the stream carries.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from tornado.iostream import IOStream

from .connection import Connection
from .faults import Answer

__all__ = ["StreamHost", "StreamRequest"]


@dataclass(frozen=True, slots=True)
class StreamRequest:
    """A checked request whose socket the handler has taken over (``detach()``)."""

    channel: str
    stream: IOStream
    #: ``"ip:port"`` of the peer.
    remote: str
    #: The ``client`` query parameter (already checked), if given.
    client_id: str | None
    #: The ``Last-Event-ID`` header (or ``lastEventId`` parameter), as sent, if any.
    resume: str | None
    #: Headers to add to the response (CORS, the ``Accept`` received).
    headers: dict[str, str] = field(default_factory=dict)
    #: A chunked body (an HTTP/1.1 request), else one ended by the close (HTTP/1.0).
    chunked: bool = True
    #: The ``Accept`` header as it came (cut to ``MAX_ACCEPT_LENGTH``), if any.
    accept: str | None = None


class StreamHost(Protocol):
    """What :class:`EventStreamHandler` asks of the server it serves."""

    #: When set, requests need ``Authorization: Bearer <token>`` or ``?token=``.
    token: str | None

    def host_allowed(self, host: str | None, local_port: int | None) -> bool:
        """Whether a request with this ``Host`` header (on this local port) is answered."""
        ...

    def cors_origin_for(self, origin: str | None) -> str | None:
        """The ``Access-Control-Allow-Origin`` value for a request from ``origin``, if allowed."""
        ...

    def accepting(self, channel: str) -> bool:
        """False once ``channel`` is closed or the server stopped for good (answer 204)."""
        ...

    def injected_answer(self, url: str) -> Answer | None:
        """A fault's answer to send instead of the stream (``faults.answer_next``), if any."""
        ...

    def open_stream(self, request: StreamRequest) -> Connection | None:
        """Register the stream and write its opening bytes; ``None`` if it closed at once."""
        ...
