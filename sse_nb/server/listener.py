"""The listening socket of a started server: Tornado's HTTP limits, a connection cap, safe accept.

Theory of operation
-------------------
Tornado's defaults suit a web application behind a proxy, not a server inside a user's kernel:
a half-sent request is kept for an hour, request bodies of up to 100 MB are buffered, any number
of connections is taken, and when the process runs out of file descriptors its accept handler
raises on every turn of the loop (100 % CPU and thousands of tracebacks a second). So the server
binds its sockets itself and accepts connections with its own handler:

* every accepted socket is counted until its descriptor is closed (detached streams included);
  at ``max_connections`` a new one is answered ``503 Service Unavailable`` with ``Retry-After``
  and closed, so the cap is met with an answer, before the descriptor limit is;
* ``EMFILE``/``ENFILE`` (no descriptor left, e.g. other code in the process holds them) pause
  accepting for :data:`ACCEPT_BACKOFF` seconds with ONE warning, instead of spinning; pending
  connections wait in the kernel's backlog meanwhile;
* the rest goes to Tornado's ``HTTPServer.handle_stream`` with :data:`HEADER_TIMEOUT`,
  :data:`MAX_HEADER_BYTES`, :data:`MAX_REQUEST_BODY` and :data:`BODY_TIMEOUT`.

A server mounted into another application (``EventServer.mount``) uses that application's
listener and limits instead; the handler still refuses bodies and checks ``Host`` itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import socket
import time
from collections.abc import Callable
from typing import Any

import tornado.httpserver
import tornado.ioloop
from tornado.iostream import IOStream, StreamClosedError, UnsatisfiableReadError

__all__ = [
    "ACCEPT_BACKOFF",
    "BODY_TIMEOUT",
    "FD_RESERVE",
    "HEADER_TIMEOUT",
    "MAX_HEADER_BYTES",
    "MAX_REQUEST_BODY",
    "RETRY_AFTER",
    "Listener",
    "default_max_connections",
]

logger = logging.getLogger("sse_nb.server")

#: Seconds a client has to send its request headers (and an idle keep-alive connection may
#: wait for its next request); Tornado's default is an hour.
HEADER_TIMEOUT = 10.0
#: Seconds a client has to send a request body; Tornado's default is unlimited.
BODY_TIMEOUT = 10.0
#: Longest request head (request line and headers): Tornado's default, roomy enough for the
#: cookies a browser sends to localhost when several notebook servers ran on it.
MAX_HEADER_BYTES = 64 * 1024
#: Longest request body: a stream needs none (POST may carry a small one); Tornado's default,
#: 100 MB, would let a request hold that much before anything checked it.
MAX_REQUEST_BODY = 64 * 1024
#: File descriptors left free below the process's limit when the connection cap is derived from
#: it: the event log, the kernel's own sockets, files the user's code opens meanwhile.
FD_RESERVE = 64
#: Seconds accepting pauses when the process has no descriptor left.
ACCEPT_BACKOFF = 0.5
#: Seconds a refused client is told to wait (``Retry-After``) before it tries again.
RETRY_AFTER = 5
#: Refused connections being answered at once; beyond this one is closed without an answer
#: (each costs a descriptor while its 503 goes out).
_MAX_REFUSING = 32
#: Seconds a refused connection is kept to read its request, so closing it sends no RST that
#: could destroy the 503 before the client reads it.
_REFUSE_LINGER = 1.0
#: Connections accepted per readiness event before the loop serves others.
_ACCEPT_BATCH = 128
#: The cap where the system sets no descriptor limit.
_NO_LIMIT = 1 << 20
_OUT_OF_DESCRIPTORS = (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM)

_REFUSED = (
    b"HTTP/1.1 503 Service Unavailable\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"Retry-After: %d\r\n"
    b"Content-Length: 25\r\n"
    b"Connection: close\r\n\r\n"
    b"too many open connections" % RETRY_AFTER
)


def default_max_connections() -> int:
    """The connection cap when none is given: the descriptors still free, less a reserve."""
    try:
        import resource
    except ImportError:  # Windows: no descriptor limit to stay under
        return _NO_LIMIT
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return _NO_LIMIT
    try:
        in_use = len(os.listdir("/proc/self/fd"))
    except OSError:  # no /proc (macOS): assume an eighth of the limit is taken
        in_use = soft // 8
    return max(1, soft - in_use - FD_RESERVE)


class _CountedStream(IOStream):
    """An ``IOStream`` that reports when its descriptor is closed (whoever closes it)."""

    def __init__(self, sock: socket.socket, on_close: Callable[[], None], **kwargs: Any) -> None:
        self._on_fd_closed: Callable[[], None] | None = on_close
        super().__init__(sock, **kwargs)

    def close_fd(self) -> None:
        try:
            super().close_fd()
        finally:
            callback, self._on_fd_closed = self._on_fd_closed, None
            if callback is not None:
                callback()


class Listener:
    """Accepts connections on bound sockets and hands them to ``http`` (on the loop thread)."""

    def __init__(
        self,
        http: tornado.httpserver.HTTPServer,
        sockets: list[socket.socket],
        max_connections: int,
    ) -> None:
        self.http = http
        self.sockets = sockets
        self.max_connections = max_connections
        #: Accepted connections whose descriptor is still open.
        self.open = 0
        #: Connections answered 503 so far.
        self.refused = 0
        self._refusing = 0
        self._paused: asyncio.TimerHandle | None = None
        self._last_warning = 0.0
        self._io_loop = tornado.ioloop.IOLoop.current()
        self._tasks: set[asyncio.Task[None]] = set()

    def start(self) -> None:
        for sock in self.sockets:
            sock.setblocking(False)
            self._io_loop.add_handler(sock.fileno(), self._on_readable, self._io_loop.READ)

    def stop(self) -> None:
        if self._paused is not None:
            self._paused.cancel()
            self._paused = None
        else:
            for sock in self.sockets:
                self._io_loop.remove_handler(sock.fileno())
        for sock in self.sockets:
            sock.close()
        self.sockets = []

    def _on_readable(self, fd: int, _events: int) -> None:
        sock = next((s for s in self.sockets if s.fileno() == fd), None)
        if sock is None:
            return
        for _ in range(_ACCEPT_BATCH):
            try:
                conn, address = sock.accept()
            except BlockingIOError:
                return
            except ConnectionAbortedError:  # the peer gave up while in the backlog
                continue
            except OSError as exc:
                if exc.errno in _OUT_OF_DESCRIPTORS:
                    self._pause(exc)
                    return
                logger.warning("sse_nb: accept failed: %s", exc)
                return
            if self.open >= self.max_connections:
                self._refuse(conn)
                continue
            self.open += 1
            stream = _CountedStream(
                conn,
                self._closed,
                max_buffer_size=self.http.max_buffer_size,
                read_chunk_size=self.http.read_chunk_size,
            )
            self.http.handle_stream(stream, address)

    def _closed(self) -> None:
        self.open -= 1

    def _pause(self, exc: OSError) -> None:
        # Accepting again at once would fail again at once: a busy loop. Wait instead; the
        # connections wait in the backlog, and may get in once descriptors are freed.
        for sock in self.sockets:
            self._io_loop.remove_handler(sock.fileno())
        self._paused = asyncio.get_running_loop().call_later(ACCEPT_BACKOFF, self._resume)
        now = time.monotonic()
        if now - self._last_warning > 60:
            self._last_warning = now
            logger.warning(
                "sse_nb: out of file descriptors (%s) with %d connections open; accepting "
                "paused for %g s at a time (raise `ulimit -n` or lower max_connections)",
                exc.strerror,
                self.open,
                ACCEPT_BACKOFF,
            )

    def _resume(self) -> None:
        self._paused = None
        self.start()

    def _refuse(self, conn: socket.socket) -> None:
        self.refused += 1
        if self._refusing >= _MAX_REFUSING:
            conn.close()
            return
        self._refusing += 1
        task = asyncio.ensure_future(self._answer_refused(conn))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _answer_refused(self, conn: socket.socket) -> None:
        stream = IOStream(conn)
        try:
            await stream.write(_REFUSED)
            # Read the request (it may still be arriving) so that closing sends FIN, not RST.
            await asyncio.wait_for(
                stream.read_until_regex(b"\r?\n\r?\n", max_bytes=MAX_HEADER_BYTES),
                _REFUSE_LINGER,
            )
        except (StreamClosedError, UnsatisfiableReadError, asyncio.TimeoutError, OSError):
            pass
        finally:
            with contextlib.suppress(Exception):
                stream.close()
            self._refusing -= 1
