"""The client registry: every connection, open ones and the latest closed ones, by client id."""

from __future__ import annotations

import collections
import itertools
import re
import threading

from .connection import ClientInfo, Connection

__all__ = ["AUTOMATIC_ID", "MAX_CLOSED_CLIENTS", "ClientRegistry"]

#: Closed clients kept in the registry (for widgets and tests to see why they left); older ones
#: are forgotten so a long-running server's registry stays small.
MAX_CLOSED_CLIENTS = 500
#: The ids the server gives connections that name none (``c1``, ``c2``, ...): no request may
#: claim one with ``?client=``, so no one can pose as (or be mistaken for) another client.
AUTOMATIC_ID = re.compile(r"c[0-9]+")


class ClientRegistry:
    """Connections in the order they came; changed on the loop thread, read from any thread.

    A client id given twice (``?client=tab-1`` from two connections) names two entries: a new
    request never closes or replaces another open connection. Lookups by id find the newest.
    """

    def __init__(self, max_closed: int = MAX_CLOSED_CLIENTS) -> None:
        self.max_closed = max_closed
        self._lock = threading.Lock()
        self._entries: dict[int, Connection] = {}  # by arrival, oldest first
        self._keys: dict[Connection, int] = {}
        self._newest: dict[str, Connection] = {}
        self._arrivals = itertools.count()
        self._next = 0
        self._closed: collections.deque[Connection] = collections.deque()

    def take(self, client_id: str | None) -> str:
        """The id a new connection gets: ``client_id``, or the next automatic ``c1``, ``c2``, ...

        A closed connection of the same id is replaced by the new one in the registry; an open
        one stays (and keeps its stream).
        """
        with self._lock:
            if client_id is None:
                self._next += 1
                return f"c{self._next}"
            old = self._newest.get(client_id)
            if old is not None and not old.open:
                self._forget(old)
            return client_id

    def add(self, conn: Connection) -> None:
        with self._lock:
            key = next(self._arrivals)
            self._entries[key] = conn
            self._keys[conn] = key
            self._newest[conn.id] = conn

    def get(self, client_id: str) -> Connection | None:
        """The newest connection of ``client_id``."""
        with self._lock:
            return self._newest.get(client_id)

    def open(self, client_id: str | None = None) -> list[Connection]:
        """Open connections: all, or those of ``client_id``."""
        with self._lock:
            return [
                c
                for c in self._entries.values()
                if c.open and (client_id is None or c.id == client_id)
            ]

    def closed(self, conn: Connection) -> None:
        """Remember that ``conn`` closed; forget the oldest closed ones beyond ``max_closed``."""
        with self._lock:
            self._closed.append(conn)
            while len(self._closed) > self.max_closed:
                self._forget(self._closed.popleft())

    def _forget(self, conn: Connection) -> None:
        key = self._keys.pop(conn, None)
        if key is not None:
            del self._entries[key]
        if self._newest.get(conn.id) is conn:
            del self._newest[conn.id]

    def snapshot(self) -> list[ClientInfo]:
        """Every client known, oldest first."""
        with self._lock:
            conns = list(self._entries.values())
        return [c.info() for c in conns]
