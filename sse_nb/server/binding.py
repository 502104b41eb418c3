"""A started server's own HTTP listener: Tornado's app and server, with the limits, bound and freed.

The limits and the accept loop are ``listener.py``'s; this module only puts the pieces together
for ``EventServer.start()`` and takes them apart for ``stop()``. A mounted server has none.
"""

from __future__ import annotations

import asyncio
from typing import Any

import tornado.httpserver
import tornado.netutil
import tornado.web

from .access import log_request
from .listener import (
    BODY_TIMEOUT,
    HEADER_TIMEOUT,
    MAX_HEADER_BYTES,
    MAX_REQUEST_BODY,
    Listener,
    default_max_connections,
)

__all__ = ["addresses", "bind", "unbind"]


def bind(
    handlers: list[Any],
    host: str,
    port: int,
    *,
    reuse_port: bool,
    max_connections: int | None,
) -> tuple[tornado.httpserver.HTTPServer, Listener]:
    """Serve ``handlers`` on ``host:port`` (0: a free port); loop thread."""
    app = tornado.web.Application(handlers, log_function=log_request)
    http = tornado.httpserver.HTTPServer(
        app,
        idle_connection_timeout=HEADER_TIMEOUT,
        max_header_size=MAX_HEADER_BYTES,
        max_body_size=MAX_REQUEST_BODY,
        body_timeout=BODY_TIMEOUT,
    )
    sockets = tornado.netutil.bind_sockets(port, host, reuse_port=reuse_port)
    listener = Listener(http, sockets, max_connections or default_max_connections())
    listener.start()
    return http, listener


def addresses(listener: Listener | None) -> list[str]:
    """The ``host:port`` addresses really listened on (``0.0.0.0``: every interface)."""
    if listener is None:
        return []
    found = []
    for sock in listener.sockets:
        host, port = sock.getsockname()[:2]
        found.append(f"[{host}]:{port}" if ":" in host else f"{host}:{port}")
    return found


def unbind(http: tornado.httpserver.HTTPServer, listener: Listener | None) -> asyncio.Future[None]:
    """Free the port and end Tornado's own connections; returns the closing work to keep alive."""
    if listener is not None:
        listener.stop()
    http.stop()
    return asyncio.ensure_future(http.close_all_connections())
