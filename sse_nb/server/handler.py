"""The HTTP side of an event stream: checks, headers, resume point, then hand-over to live.

Lifecycle of one request (``docs/server-lifecycle.md`` draws it):

1. Check, in ``prepare()`` before any request body is read (``stream_request_body``): a token
   in the query is hidden from the access log, ``Host`` (403, against DNS rebinding), token
   (401), body size (413, :data:`~sse_nb.server.listener.MAX_REQUEST_BODY`); then channel name
   (404), closed channel or server stopped for good (204, which per HTML "Server-sent events"
   makes a browser stop reconnecting), CORS preflight (OPTIONS).
2. Take the socket over from Tornado (``detach()``), as WebSocket handlers do: the response is
   written by :class:`~sse_nb.server.connection.Connection` with plain non-blocking sends and no
   per-event flush future. An HTTP/1.1 request gets a chunked body (``Transfer-Encoding:
   chunked``, one chunk per write), so a proxy relaying it (jupyter-server-proxy on tornado
   before 6.5.9, nginx) knows the framing and passes each chunk on as it comes; an HTTP/1.0
   request, which cannot take chunks, gets a body ended by the close. Either way ``Connection:
   close``. The request's ``Accept`` is recorded with the client and echoed in
   ``X-SSE-NB-Accept`` (what a proxy passed on, for the doctor); it is never enforced.
3. In ONE synchronous step on the loop thread: read the replay from the log, register the
   connection as a subscriber, write headers + ``retry:`` + gap signal, and hand the connection
   the replay's stored frames, which it sends in pieces as the socket drains, live events
   queued behind them. Nothing can be published in between, so the seam loses and duplicates
   nothing.
4. Read from the socket until it closes: that read is the close detection. End of stream is
   "client closed"; an ETIMEDOUT (TCP_USER_TIMEOUT expired while heartbeats went unacknowledged)
   is "heartbeat failed". A client has nothing more to send: past
   :data:`MAX_BYTES_AFTER_REQUEST` it is cut ("client sent data"), so a client that keeps
   sending cannot keep the loop busy reading and dropping its bytes.
"""

from __future__ import annotations

import contextlib
import errno
import ipaddress
import socket
from typing import Any

import tornado.web
from tornado.iostream import IOStream, StreamClosedError

from .channels import CHANNEL_PATTERN
from .connection import Connection
from .listener import BODY_TIMEOUT, MAX_REQUEST_BODY
from .opening import ACCEPT_HEADER, GAP_HEADER, NO_ACCEPT, is_malformed
from .reasons import CloseReason
from .registry import AUTOMATIC_ID
from .seam import StreamHost, StreamRequest
from .tokens import authorized

__all__ = [
    "CHANNEL_PATTERN",
    "LOOPBACK_NAMES",
    "MAX_ACCEPT_LENGTH",
    "MAX_BYTES_AFTER_REQUEST",
    "MAX_CLIENT_ID_LENGTH",
    "TCP_USER_TIMEOUT_MS",
    "EventStreamHandler",
    "hide_token",
    "host_allowed",
]

#: Longest ``client`` query parameter accepted as a registry id.
MAX_CLIENT_ID_LENGTH = 128
#: Characters of a request's ``Accept`` kept with its client and echoed back: a browser sends
#: 17 (``text/event-stream``); a longer list is cut rather than held for every client.
MAX_ACCEPT_LENGTH = 256
#: Bytes read at a time while watching for the peer's close (a client sends nothing else).
_READ_CHUNK = 4096
#: Bytes a client may send after its request before it is cut: room for a pipelined request
#: or a proxy's stray bytes, not for a stream that keeps the loop reading and dropping.
MAX_BYTES_AFTER_REQUEST = 16 * 1024
#: ``Host`` names that always mean this machine (Jupyter's ``local_hostnames`` default).
LOOPBACK_NAMES = frozenset({"localhost", "localhost."})
#: TCP_USER_TIMEOUT (ms): how long sent data may stay unacknowledged before the kernel declares
#: the peer gone. With heartbeats always putting data in flight, a vanished peer (no FIN, no RST)
#: is detected within about one heartbeat period plus this.
TCP_USER_TIMEOUT_MS = 5_000


def hide_token(uri: str) -> str:
    """``uri`` with the value of every ``token`` query parameter replaced, for logs."""
    path, sep, query = uri.partition("?")
    if not sep or "token" not in query:
        return uri
    parts = query.split("&")
    hidden = ["token=[hidden]" if p.partition("=")[0] == "token" else p for p in parts]
    return f"{path}?{'&'.join(hidden)}"


def host_allowed(
    host_header: str | None, local_port: int | None, bound: str, extra: frozenset[str]
) -> bool:
    """Whether a request's ``Host`` is one this server answers (the DNS-rebinding check).

    A web page that rebinds its own name to 127.0.0.1 makes the browser connect to this port
    with ``Host: <its name>:<this port>``. So a name is allowed when it is ``localhost``, the
    bound host or in ``extra``; an IP address literal always is (no page can rebind one). A
    ``Host`` naming another port came through a proxy that forwarded the browser's ``Host``
    (jupyter-server-proxy does) and made its own check: allowed. No ``Host`` at all is an
    HTTP/1.0 client, never a browser: allowed.
    """
    if host_header is None:
        return True
    host = host_header.strip().lower()
    port: int | None = 80
    if host.startswith("["):  # [v6]:port
        name, _, rest = host[1:].partition("]")
        if rest.startswith(":"):
            port = int(rest[1:]) if rest[1:].isdigit() else None
    else:
        name, sep, rest = host.rpartition(":")
        if not sep:
            name = host
        else:
            port = int(rest) if rest.isdigit() else None
    if not name:
        return False
    if name in LOOPBACK_NAMES or name == bound.lower() or name in extra:
        return True
    try:
        ipaddress.ip_address(name)
        return True
    except ValueError:
        pass
    return local_port is not None and port is not None and port != local_port


@tornado.web.stream_request_body
class EventStreamHandler(tornado.web.RequestHandler):
    """Serves ``/events`` and ``/events/<channel>`` for one server (a :class:`StreamHost`)."""

    def initialize(self, server: StreamHost, channel: str | None = None) -> None:
        """Tornado's per-route arguments: the server, and the channel if the route fixes one."""
        self.server = server
        self.fixed_channel = channel

    # -- checks before the body ------------------------------------------------------------

    def prepare(self) -> None:
        """Runs once the headers are in and before any body byte is read."""
        # A token in the query must not reach Tornado's access log (a 4xx is logged as a
        # warning, which a notebook shows): the handler reads its arguments, not this string.
        self.request.uri = hide_token(self.request.uri or "")
        self.request.query = hide_token(f"?{self.request.query}")[1:]
        connection: Any = self.request.connection
        if hasattr(connection, "set_max_body_size"):
            # Also under mount(), whose application may allow bodies of any size.
            connection.set_max_body_size(MAX_REQUEST_BODY)
            connection.set_body_timeout(BODY_TIMEOUT)
        if not self._host_allowed():
            self._finish_plain(403)
            return
        if self.request.method != "OPTIONS" and not authorized(self.request, self.server.token):
            # A preflight carries no credentials (Fetch standard), so it is not asked for them.
            self._finish_plain(401, {"WWW-Authenticate": "Bearer"})
            return
        length = self.request.headers.get("Content-Length", "0")
        if not length.isdigit() or int(length) > MAX_REQUEST_BODY:
            self._finish_plain(413)
            return

    def data_received(self, chunk: bytes) -> None:
        """A request body is read (at most MAX_REQUEST_BODY) and dropped: a stream needs none."""

    def _host_allowed(self) -> bool:
        local_port: int | None = None
        stream = getattr(self.request.connection, "stream", None)
        sock = getattr(stream, "socket", None)
        if sock is not None:
            try:
                local_port = sock.getsockname()[1]
            except (OSError, IndexError, TypeError):
                local_port = None
        return self.server.host_allowed(self.request.headers.get("Host"), local_port)

    # -- shared checks -------------------------------------------------------------------

    def _cors_headers(self) -> dict[str, str]:
        origin = self.request.headers.get("Origin")
        allowed = self.server.cors_origin_for(origin)
        if allowed is None:
            return {}
        headers = {
            "Access-Control-Allow-Origin": allowed,
            "Access-Control-Expose-Headers": GAP_HEADER,
        }
        if allowed != "*":
            headers["Access-Control-Allow-Credentials"] = "true"
            headers["Vary"] = "Origin"
        return headers

    def _finish_plain(self, status: int, headers: dict[str, str] | None = None) -> None:
        self.set_status(status)
        for name, value in {**self._cors_headers(), **(headers or {})}.items():
            self.set_header(name, value)
        self.finish()

    def _resume_id(self) -> str | None:
        # The browser sends the header on reconnect; clients that cannot set headers use the
        # query parameter. Read raw: Tornado's argument decoding would rewrite control chars.
        value = self.request.headers.get("Last-Event-ID")
        if value:
            # Tornado decodes header bytes as latin-1; browsers send the id as UTF-8. Bytes
            # that are not UTF-8 are kept as they came (looked up, and missed, as sent).
            with contextlib.suppress(UnicodeError):
                value = value.encode("latin-1").decode("utf-8")
        else:
            raw = self.request.query_arguments.get("lastEventId")
            value = raw[-1].decode("utf-8", "replace") if raw else None
        return value or None

    def _accept(self) -> str | None:
        # Recorded, never enforced: a browser always sends ``text/event-stream`` (HTML
        # "Server-sent events" §9.2.2) and curl sends ``*/*``; both get the stream. Control
        # characters become "?" because the value is echoed in the response head.
        value = self.request.headers.get("Accept")
        if value is None:
            return None
        value = value[:MAX_ACCEPT_LENGTH]
        if is_malformed(value):
            value = "".join("?" if ord(c) < 0x20 or c == "\x7f" else c for c in value)
        return value

    def _client_id(self) -> str | None:
        raw = self.request.query_arguments.get("client")
        if not raw:
            return None
        value = raw[-1].decode("utf-8", "replace")
        if not value or len(value) > MAX_CLIENT_ID_LENGTH or is_malformed(value):
            raise tornado.web.HTTPError(400, "bad client id")
        if AUTOMATIC_ID.fullmatch(value):
            raise tornado.web.HTTPError(400, "client ids c1, c2, ... are given by the server")
        return value

    # -- verbs ---------------------------------------------------------------------------

    def options(self, channel: str | None = None) -> None:
        """CORS preflight: allow ``Last-Event-ID`` (and ``Authorization`` for tokens)."""
        headers = self._cors_headers()
        if headers:
            headers["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
            headers["Access-Control-Allow-Headers"] = (
                "Last-Event-ID, Authorization, Cache-Control, Content-Type"
            )
            headers["Access-Control-Max-Age"] = "600"
        self.set_status(204)
        for name, value in headers.items():
            self.set_header(name, value)
        self.finish()

    async def get(self, channel: str | None = None) -> None:
        """Open the stream of ``channel`` (the route's own, or ``default``) and keep it."""
        await self._stream(channel)

    async def post(self, channel: str | None = None) -> None:
        """Same stream as GET, for clients that open it with a request body."""
        await self._stream(channel)

    def check_xsrf_cookie(self) -> None:
        """Streams change nothing on the server; no XSRF check for POST."""

    async def _stream(self, channel: str | None) -> None:
        name = self.fixed_channel or channel or "default"
        if not self.server.accepting(name):
            # HTML "Server-sent events": a 204 No Content makes the user agent fail the
            # connection, i.e. stop reconnecting for good.
            self._finish_plain(204)
            return
        injected = self.server.injected_answer(self.request.full_url())
        if injected is not None:
            self.set_status(injected.status)
            for key, value in {**self._cors_headers(), **injected.headers}.items():
                self.set_header(key, value)
            self.finish(injected.body or None)
            return
        resume = self._resume_id()
        client_id = self._client_id()
        remote = self.request.remote_ip or "?"
        address = getattr(self.request.connection, "context", None)
        port = getattr(address, "address", None)
        if isinstance(port, tuple) and len(port) >= 2:
            remote = f"{port[0]}:{port[1]}"
        accept = self._accept()
        extra = self._cors_headers()
        extra[ACCEPT_HEADER] = accept if accept and accept.strip() else NO_ACCEPT
        # RFC 9112 section 7.1: chunked framing only for a peer that speaks HTTP/1.1.
        chunked = self.request.version != "HTTP/1.0"

        stream = self.detach()
        sock = stream.socket
        if sock is None:  # the client is already gone
            stream.close()
            return
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if hasattr(socket, "TCP_USER_TIMEOUT"):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT, TCP_USER_TIMEOUT_MS)
        except OSError:
            pass

        try:
            request = StreamRequest(
                name, stream, remote, client_id, resume, extra, chunked, accept=accept
            )
            conn = self.server.open_stream(request)
        except Exception:
            # The socket is ours now; Tornado would not close it for us.
            stream.close()
            raise
        if conn is None:
            return
        await self._watch_close(stream, conn)

    async def _watch_close(self, stream: IOStream, conn: Connection) -> None:
        reason = CloseReason.CLIENT_CLOSED
        received = 0
        try:
            while received <= MAX_BYTES_AFTER_REQUEST:
                received += len(await stream.read_bytes(_READ_CHUNK, partial=True))
            reason = CloseReason.CLIENT_SENT_DATA
        except StreamClosedError as exc:
            real = exc.real_error
            if isinstance(real, OSError) and real.errno == errno.ETIMEDOUT:
                reason = CloseReason.HEARTBEAT_FAILED
        except Exception:  # any read failure means the client is gone
            pass
        conn.close(reason)
