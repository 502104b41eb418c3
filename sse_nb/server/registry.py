"""The client registry: every connection by client id, open ones and the latest closed ones."""

from __future__ import annotations

import collections
import threading

from .connection import ClientInfo, Connection

__all__ = ["MAX_CLOSED_CLIENTS", "ClientRegistry"]

#: Closed clients kept in the registry (for widgets and tests to see why they left); older ones
#: are forgotten so a long-running server's registry stays small.
MAX_CLOSED_CLIENTS = 500


class ClientRegistry:
    """Connections by client id; changed on the loop thread, read from any thread."""

    def __init__(self, max_closed: int = MAX_CLOSED_CLIENTS) -> None:
        self.max_closed = max_closed
        self._lock = threading.Lock()
        self._clients: dict[str, Connection] = {}
        self._next = 0
        self._closed: collections.deque[Connection] = collections.deque()

    def take(self, client_id: str | None) -> tuple[str, Connection | None]:
        """The id a new connection gets (``c1``, ``c2``, ... unless given) and its old one, removed.

        The old connection is still open when the same client came back before its close was
        seen; the caller closes it.
        """
        with self._lock:
            if client_id is None:
                self._next += 1
                client_id = f"c{self._next}"
            return client_id, self._clients.pop(client_id, None)

    def add(self, conn: Connection) -> None:
        with self._lock:
            self._clients[conn.id] = conn

    def get(self, client_id: str) -> Connection | None:
        with self._lock:
            return self._clients.get(client_id)

    def open(self, client_id: str | None = None) -> list[Connection]:
        """Open connections: all, or the one of ``client_id``."""
        with self._lock:
            return [
                c
                for c in self._clients.values()
                if c.open and (client_id is None or c.id == client_id)
            ]

    def closed(self, conn: Connection) -> None:
        """Remember that ``conn`` closed; forget the oldest closed ones beyond ``max_closed``."""
        with self._lock:
            self._closed.append(conn)
            while len(self._closed) > self.max_closed:
                old = self._closed.popleft()
                if self._clients.get(old.id) is old:
                    del self._clients[old.id]

    def snapshot(self) -> list[ClientInfo]:
        """Every client known, oldest first."""
        with self._lock:
            conns = list(self._clients.values())
        return [c.info() for c in conns]
