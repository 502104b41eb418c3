"""Reading a real stream over 127.0.0.1 in tests: httpx streams, raw sockets, response heads.

Streams are read with httpx (or a raw socket) and parsed with ``sse_nb.protocol.EventParser``,
so the server is checked by the parser of the standard and nothing else.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from typing import Any

import httpx

from sse_nb.protocol import Event, EventParser

#: Longest a single blocking read may take in a test before it fails instead of hanging.
READ_TIMEOUT = 10.0


class Stream:
    """One streaming GET read chunk by chunk with httpx; events parsed as they come."""

    def __init__(
        self,
        url: str,
        *,
        headers: dict[str, str] | None = None,
        params: dict[str, str] | None = None,
        method: str = "GET",
    ) -> None:
        self.client = httpx.Client(timeout=READ_TIMEOUT)
        self._cm = self.client.stream(method, url, headers=headers, params=params)
        self.response = self._cm.__enter__()
        self._chunks = self.response.iter_raw()
        self.parser = EventParser()
        self.events: list[Event] = []
        self.raw = bytearray()

    @property
    def ids(self) -> list[str]:
        return [e.id for e in self.events if e.id is not None]

    def read_until(self, done: Callable[[Stream], Any], timeout: float = READ_TIMEOUT) -> None:
        """Read until ``done(self)`` is truthy; fail after ``timeout`` s or at end of stream."""
        deadline = time.monotonic() + timeout
        while not done(self):
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out; got {len(self.events)} events")
            chunk = next(self._chunks)
            self.raw += chunk
            self.events += self.parser.feed(chunk)

    def read_to_end(self, timeout: float = READ_TIMEOUT) -> None:
        """Read until the server ends the response."""
        deadline = time.monotonic() + timeout
        for chunk in self._chunks:
            self.raw += chunk
            self.events += self.parser.feed(chunk)
            if time.monotonic() > deadline:
                raise AssertionError("the stream did not end")

    def close(self) -> None:
        self._cm.__exit__(None, None, None)
        self.client.close()

    def __enter__(self) -> Stream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def raw_get(
    port: int,
    path: str,
    headers: dict[str, str] | None = None,
    accept: str | None = "text/event-stream",
) -> socket.socket:
    """Open a socket and send a GET; the caller reads (or, for a slow consumer, does not).

    ``accept=None`` sends no ``Accept`` header at all.
    """
    sock = socket.create_connection(("127.0.0.1", port), timeout=READ_TIMEOUT)
    lines = [f"GET {path} HTTP/1.1", f"Host: 127.0.0.1:{port}"]
    if accept is not None:
        lines.append(f"Accept: {accept}")
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
    return sock


def read_response_head(sock: socket.socket) -> tuple[bytes, bytes]:
    """Read up to the end of the headers; returns (head, bytes of the body already read)."""
    buf = b""
    deadline = time.monotonic() + READ_TIMEOUT
    while b"\r\n\r\n" not in buf:
        if time.monotonic() > deadline:
            raise AssertionError("no response head")
        chunk = sock.recv(65536)
        if not chunk:
            break
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    return head, rest
