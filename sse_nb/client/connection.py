"""One streaming request: the headers the standard asks for, and the response checks it makes.

HTML, "Server-sent events" §9.2.2 "The EventSource interface" and §9.2.3 "Processing model":
the request carries ``Accept: text/event-stream`` and ``Cache-Control: no-cache``, plus
``Last-Event-ID`` when the event source's last event ID string is not empty. Redirects are
followed. The response is then judged:

- 200 with a ``text/event-stream`` Content-Type (parameters ignored): "announce the connection";
- 204 No Content: the server asks the client to stop; no reconnect;
- any other status, or a 200 with another media type: "fail the connection" (no reconnect);
- a network error (connect refused, reset, end of stream) is for the caller to "reestablish".

The decision itself is ``protocol.connect_decision``; this module turns "fail" into the error
that says why (``NoContent``, ``BadStatus``, ``BadContentType``).

Nothing here reconnects or parses: ``source.py`` owns the state machine, ``EventParser`` the bytes.
"""

from __future__ import annotations

import functools
import ssl
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx

from ..errors import BadContentType, BadStatus
from ..protocol import ConnectDecision, connect_decision, id_problem
from ..protocol.state import EVENT_STREAM

__all__ = [
    "CONNECT_TIMEOUT",
    "NoContent",
    "body",
    "build_headers",
    "check_response",
    "default_client",
    "open_stream",
]

#: Seconds allowed for the TCP (and TLS) handshake; reading has no httpx timeout at all, since a
#: quiet stream is normal: dead connections are found by the source's ``idle_timeout`` instead.
CONNECT_TIMEOUT = 10.0

#: How much of a failed response's body goes into the error message: enough to show the
#: server's complaint, short enough never to flood a notebook cell.
ERROR_BODY_LIMIT = 1024

#: Seconds allowed to release a connection after a cancelled read; closing a socket is
#: immediate, the bound only guards against a transport that never returns.
CLOSE_TIMEOUT = 2.0

# Headers the source sets itself, whatever the caller passes.
_OWN_HEADERS = ("accept", "last-event-id", "cache-control")


class NoContent(Exception):
    """The server answered 204: it wants this client to stop and never reconnect."""


def build_headers(extra: Mapping[str, str] | None, last_event_id: str) -> httpx.Headers:
    """The request headers of one (re)connection.

    ``Accept`` is exactly ``text/event-stream`` whatever the caller passed: some proxies (e.g.
    jupyter-server-proxy) only stream a response when the request asks for that exact value.
    An id holding CR, LF or NUL is never sent (the parser already refuses NUL ids; CR and LF
    cannot occur in a parsed id, but a ``last_event_id=`` given by the caller could hold them).
    The id goes out as UTF-8 bytes, as a browser sends it: httpx would refuse a non-ASCII str.
    """
    headers = httpx.Headers(
        {k: v for k, v in (extra or {}).items() if k.lower() not in _OWN_HEADERS}
    )
    raw = [*headers.raw, (b"Accept", EVENT_STREAM.encode()), (b"Cache-Control", b"no-cache")]
    if last_event_id and id_problem(last_event_id, resumable=False) is None:
        raw.append((b"Last-Event-ID", last_event_id.encode("utf-8")))
    return httpx.Headers(raw)


async def check_response(response: httpx.Response) -> None:
    """Raise unless the standard's connect decision (HTML §9.2.3) is "announce the connection".

    Raises ``NoContent`` for 204, ``BadStatus`` for any other status but 200, and
    ``BadContentType`` for a 200 whose media type is not ``text/event-stream``.
    """
    content_type = response.headers.get("content-type", "")
    if connect_decision(response.status_code, content_type) is ConnectDecision.ANNOUNCE:
        return
    url = str(response.url)
    if response.status_code == 204:
        raise NoContent(url)
    if response.status_code != 200:
        raise BadStatus(url, response.status_code, await _read_some(response))
    raise BadContentType(url, content_type)


async def _read_some(response: httpx.Response) -> str:
    """The start of an error response's body, for the message; never more than the limit."""
    start = b""
    try:
        async for chunk in response.aiter_bytes():
            start += chunk
            if len(start) >= ERROR_BODY_LIMIT:
                break
    except httpx.HTTPError:
        pass  # the status alone already says what went wrong
    return start[:ERROR_BODY_LIMIT].decode("utf-8", "replace")


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """One verifying TLS context for every default client: building one loads the CA store,
    which costs tens of milliseconds, on every reconnect otherwise."""
    return httpx.create_ssl_context()  # httpx's own default: certifi, SSL_CERT_FILE/DIR


def default_client() -> httpx.AsyncClient:
    """The client a source makes for itself when none is injected."""
    return httpx.AsyncClient(
        timeout=httpx.Timeout(CONNECT_TIMEOUT, read=None),
        follow_redirects=True,
        verify=_tls_context(),
    )


def _stream_timeout(client: httpx.AsyncClient) -> httpx.Timeout:
    """The injected client's timeouts, but no read timeout: idleness is the source's call."""
    t = client.timeout
    return httpx.Timeout(connect=t.connect, read=None, write=t.write, pool=t.pool)


def body(response: httpx.Response) -> AsyncIterator[bytes]:
    """The response's body as it arrives, as the parser must see it.

    A server (or a proxy) may gzip the stream, so a content-coded body is decoded
    (``aiter_bytes()``); any other is read raw (``aiter_raw()``), one layer less per chunk,
    which counts when every event comes in its own chunk.
    """
    coding = response.headers.get("content-encoding", "").strip().lower()
    return response.aiter_raw() if coding in ("", "identity") else response.aiter_bytes()


@asynccontextmanager
async def open_stream(
    client: httpx.AsyncClient,
    url: str,
    *,
    method: str = "GET",
    headers: Mapping[str, str] | None = None,
    last_event_id: str = "",
    content: bytes | str | None = None,
    json: Any = None,
) -> AsyncIterator[httpx.Response]:
    """Send the request and yield the checked response, ready for ``body()``.

    Leaving the context closes the response (and with it the connection), whether the stream
    ended, failed or was cancelled.
    """
    request = client.build_request(
        method,
        url,
        headers=build_headers(headers, last_event_id),
        content=content,
        json=json,
        timeout=_stream_timeout(client),
    )
    response = await client.send(request, stream=True, follow_redirects=True)
    try:
        await check_response(response)
        yield response
    finally:
        # Shielded: a cancelled read (close(), idle timeout) must still release the socket.
        with anyio.move_on_after(CLOSE_TIMEOUT, shield=True):
            await response.aclose()
