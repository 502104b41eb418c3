"""Raw-socket tools for the reliability suite: streams, event ids, and the process's resources.

Raw sockets, not an HTTP library, so a test controls exactly what is sent and when a connection
ends (clean FIN, RST, a half-sent request) and so 1,000 clients cost little.
"""

from __future__ import annotations

import asyncio
import os
import socket
import struct
import time
from collections.abc import Callable
from typing import Any

from sse_nb.protocol import EventParser
from sse_nb.server import EventServer

#: Longest wait for any one network step; a stuck step fails its test instead of hanging it.
STEP_TIMEOUT = 10.0
#: SO_LINGER with a zero timeout: close() sends RST (an abrupt reset, as a crashed client).
LINGER_RESET = struct.pack("ii", 1, 0)


def request(path: str = "/events", headers: dict[str, str] | None = None) -> bytes:
    lines = [f"GET {path} HTTP/1.1", "Host: 127.0.0.1"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def open_stream(
    port: int, path: str = "/events", headers: dict[str, str] | None = None, rcvbuf: int = 0
) -> socket.socket:
    """A blocking socket that has sent a stream request (``rcvbuf``: a small receive buffer)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.settimeout(STEP_TIMEOUT)
    sock.connect(("127.0.0.1", port))
    sock.sendall(request(path, headers))
    return sock


def reset(sock: socket.socket) -> None:
    """Close with RST instead of FIN."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER_RESET)
    sock.close()


class StreamReader:
    """Reads one response from a blocking socket: status line, headers, then events."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.head = b""
        self.status = 0
        self.parser = EventParser()
        self.events: list[Any] = []
        self.closed = False
        self._buf = b""

    def read_head(self) -> int:
        while b"\r\n\r\n" not in self._buf:
            if not self._recv():
                break
        self.head, sep, rest = self._buf.partition(b"\r\n\r\n")
        self._buf = b""
        self.status = int(self.head.split(b" ", 2)[1]) if self.head.startswith(b"HTTP/") else 0
        if sep and rest:
            self.events += self.parser.feed(rest)
        return self.status

    def _recv(self) -> bool:
        try:
            data = self.sock.recv(256 * 1024)
        except (ConnectionResetError, TimeoutError, OSError):
            data = b""
        if not data:
            self.closed = True
            return False
        if self.status or self.head:
            self.events += self.parser.feed(data)
        else:
            self._buf += data
        return True

    def read_until(self, done: Callable[[], bool], timeout: float = STEP_TIMEOUT) -> bool:
        """Read until ``done()`` or end of stream; False if the stream ended first."""
        deadline = time.monotonic() + timeout
        while not done():
            if time.monotonic() > deadline:
                raise AssertionError(f"stream stalled after {len(self.events)} events")
            if not self._recv():
                return done()
        return True

    def read_to_end(self, timeout: float = STEP_TIMEOUT) -> None:
        self.read_until(lambda: False, timeout)

    def ids(self) -> list[str]:
        return [e.id for e in self.events if e.id is not None]


def open_fds() -> int:
    """File descriptors open in this process (the server runs in it, on the runtime thread)."""
    return len(os.listdir("/proc/self/fd"))


def rss() -> int:
    """Resident set size of this process in bytes."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def loop_tasks(server: EventServer) -> int:
    """Tasks alive on the server's event loop (counted on that loop's thread)."""
    return server._loop.call(lambda: len(asyncio.all_tasks(server._loop.get())))


def open_clients(server: EventServer) -> int:
    return sum(c.state == "open" for c in server.clients)


def p90(samples: list[float]) -> float:
    """The 90th percentile: one stall on a loaded machine does not decide a latency test."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))]
