"""Letting a stream in and out: register it, write its opening bytes, subscribe it; record its end.

A local log is read in the same synchronous loop step that subscribes the connection, so the
replay and the live feed meet exactly (nothing lost or sent twice at the seam). A shared log
(``shared.SharedLog``) reads the replay over the network: the connection waits, registered but
not subscribed, until the log calls back in the loop step where it may go live.

A replay is not joined into the opening write: it is streamed from the stored frames as the
socket drains (``Connection.replay``), at most :data:`MAX_REPLAYS_IN_FLIGHT` at once; live
events wait behind it in the connection's queue.
"""

from __future__ import annotations

import collections
from collections.abc import Callable

from .channels import Channel, Pipeline
from .connection import REPLAY_PIECE, Connection
from .hooks import Hooks
from .log import EventLog, Replay
from .opening import OPENING_COMMENT, opening
from .registry import ClientRegistry
from .seam import StreamRequest
from .shared import SharedLog

__all__ = ["MAX_REPLAYS_IN_FLIGHT", "Admission"]

#: Replays larger than one piece being sent at once; later ones wait their turn (their clients
#: registered, live events queued behind). Each costs at most one ``REPLAY_PIECE`` outside the
#: log, so this bounds what a crowd of resuming (or hostile) clients can hold, without refusing
#: anyone: a browser takes any answer but 200 as "stop reconnecting". A replay of one piece or
#: less (the usual resume after a short drop) starts at once: it costs no more than a live batch,
#: and it must not wait behind large replays to clients that stopped reading (up to
#: ``REPLAY_STALL`` each), which under churn delayed every resume by seconds.
MAX_REPLAYS_IN_FLIGHT = 16

Tap = Callable[[bytes], None]


class Admission:
    """Turns a checked request into a live subscriber, and a closed one into a registry record."""

    def __init__(
        self,
        log: EventLog,
        pipeline: Pipeline,
        registry: ClientRegistry,
        hooks: Hooks,
        shared: SharedLog | None,
    ) -> None:
        self.log, self.pipeline, self.registry, self.hooks = log, pipeline, registry, hooks
        self.shared = shared
        self.taps: dict[str, Tap] = {}  # client id -> byte tap, for its next connections too
        self.replays_active: set[Connection] = set()
        self._replays_waiting: collections.deque[Connection] = collections.deque()

    def open_stream(
        self, request: StreamRequest, *, retry: int | None, queue_limit: int
    ) -> Connection | None:
        """Register the stream and, once its replay is known, write its opening bytes."""
        # Events published but not drained yet are neither in the log nor sent: drain first so
        # the replay and the live feed after it meet exactly.
        if self.pipeline.pending:
            self.pipeline.drain()
        ch = self.pipeline.channel(request.channel)
        conn = self._register(request, queue_limit)
        if self.shared is None:
            return self._go_live(ch, conn, request, retry, None)
        self.shared.join(
            request.channel,
            request.resume,
            conn,
            lambda replay: self._go_live(ch, conn, request, retry, replay),
        )
        return conn

    def _register(self, request: StreamRequest, queue_limit: int) -> Connection:
        # A client that came back before its old connection was seen to close gets a second
        # entry; the old one ends by itself (EOF, heartbeat). Closing it here would let any
        # request that names an id end another client's stream.
        client_id = self.registry.take(request.client_id)
        conn = Connection(
            client_id,
            request.remote,
            request.channel,
            request.stream,
            resumed_from=request.resume,
            gap=None,
            queue_limit=queue_limit,
            on_closed=self.closed,
            chunked=request.chunked,
            accept=request.accept,
        )
        conn.tap = self.taps.get(client_id)
        self.registry.add(conn)
        return conn

    def _go_live(
        self,
        ch: Channel,
        conn: Connection,
        request: StreamRequest,
        retry: int | None,
        replay: Replay | None,
    ) -> Connection | None:
        """Write the opening bytes (``replay``, or the log's now) and subscribe, in one step."""
        if not conn.open:
            return None
        first = opening(
            self.log,
            request.channel,
            request.resume,
            retry=retry,
            extra_headers=request.headers,
            replay=replay,
            chunked=request.chunked,
        )
        conn.gap = first.gap
        ch.subscribers[conn] = None
        conn.begin(first.head, first.body)
        conn.bytes_sent -= len(OPENING_COMMENT)  # count the event stream, not the opening
        if first.replay and conn.open:
            # Streamed from the stored frames as the socket drains, a few at a time (below).
            if sum(map(len, first.replay)) <= REPLAY_PIECE:
                conn.replay(first.replay, first.count, first.last_id, _nothing_to_free)
                conn.start_replay()
            else:
                conn.replay(first.replay, first.count, first.last_id, self._replay_finished)
                self._replays_waiting.append(conn)
                self._start_replays()
        if not conn.open:
            return None
        self.hooks.emit(self.hooks.connect, conn.info())
        self.hooks.changed()
        return conn

    def _start_replays(self) -> None:
        """Start waiting replays while fewer than MAX_REPLAYS_IN_FLIGHT are being sent."""
        while self._replays_waiting and len(self.replays_active) < MAX_REPLAYS_IN_FLIGHT:
            conn = self._replays_waiting.popleft()
            if conn.open and conn.replaying:
                self.replays_active.add(conn)
                conn.start_replay()

    def _replay_finished(self, conn: Connection) -> None:
        self.replays_active.discard(conn)
        self._start_replays()

    def closed(self, conn: Connection) -> None:
        """A connection ended (any reason): unsubscribe it, keep its record, tell the hooks."""
        ch = self.pipeline.channels.get(conn.channel)
        if ch is not None:
            ch.subscribers.pop(conn, None)
        self.registry.closed(conn)
        self.hooks.emit(self.hooks.disconnect, conn.info())
        self.hooks.changed()

    def tap(self, client_id: str, tap: Tap | None) -> None:
        """Set (or with ``None`` remove) the byte tap of ``client_id``'s connections."""
        if tap is None:
            self.taps.pop(client_id, None)
        else:
            self.taps[client_id] = tap
        conn = self.registry.get(client_id)
        if conn is not None and conn.open:
            conn.tap = tap


def _nothing_to_free(conn: Connection) -> None:
    """A small replay holds no place among the replays in flight."""
