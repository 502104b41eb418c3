"""One open event-stream response: its coalescing writer and its record in the client registry.

Theory of operation
-------------------
Live events reach a connection through :meth:`Connection.send`, called on the loop thread with
bytes that are shared by every subscriber (each event is encoded once, a batch of events joined
once). Two regimes:

* keeping up: the socket's send buffer has room, so the bytes go straight to the kernel with one
  non-blocking ``send()`` (``sendmsg()`` when framed). No future, no callback, no copy: the
  event leaves at once.
* falling behind: ``send()`` took only part of it. The rest goes to Tornado's ``IOStream`` (which
  finishes it when the socket is writable) and later events wait in this connection's queue.
  When the stream drains, everything queued goes out in ONE write. So a slow reader costs one
  write per drain, not one per event.

The queue is bounded by ``queue_limit`` bytes (it holds references to shared bytes, so it costs
little until a client really stalls). Past the limit the client is a slow consumer: it is cut off
(reason ``"slow consumer"``) and its queue freed; it can come back with ``Last-Event-ID`` and be
replayed from the log without loss. One event alone may be larger than the limit: queued behind
nothing, it waits for the reader to take it; anything queued behind it cuts a stalled reader.

A replay (:meth:`Connection.replay`) is the log's stored frames, referenced, never joined whole:
pieces of at most :data:`REPLAY_PIECE` bytes are handed to the socket one after the other as it
drains, and live events wait in the queue behind the replay, bounded as above. So a resuming
client costs one piece, however long its replay; one that stops reading it is cut as a slow
consumer (by the queue, or after :data:`REPLAY_STALL` seconds without progress) and can resume.

Framing: an HTTP/1.1 response is chunked (RFC 9112 section 7.1), ONE chunk per write (a batch, a
drained queue, a replay piece), so the cost stays per write. On the fast path the chunk goes out
with one ``sendmsg([size line, shared bytes, CRLF])``: the bytes shared by every subscriber are
never copied. The heartbeat's chunk is built once. A graceful end (server stopped, channel
closed, dropped without reset) sends the last chunk when the socket can take it at once, so a
proxy sees a complete response; a drop that plays a network failure cuts the body instead (see
:meth:`Connection.close`). An HTTP/1.0 request gets the event stream itself as the body, ended
by the close.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tornado.iostream import IOStream, SSLIOStream, StreamClosedError

from ..protocol import Gap, encode_comment
from .reasons import CloseReason

__all__ = [
    "HEARTBEAT",
    "LAST_CHUNK",
    "MAX_QUEUED_BYTES",
    "REPLAY_PIECE",
    "REPLAY_STALL",
    "ClientInfo",
    "Connection",
    "chunk",
]

#: Bytes of a replay handed to the socket at a time: what a resuming client holds outside the
#: log (whose frames are shared), however long its replay.
REPLAY_PIECE = 256 * 1024
#: Seconds a replay may go without the client taking a piece before it is cut as a slow
#: consumer, so a client that stops reading frees its replay slot even when nothing is published.
REPLAY_STALL = 30.0

#: Bytes a connection may have waiting for a reader that does not keep up before it is dropped
#: as a slow consumer: minutes of a typical ticker, yet a bounded cost per stalled client.
MAX_QUEUED_BYTES = 4 * 1024 * 1024

# SO_LINGER with a zero timeout: close() sends RST, as a network failure would, and frees the
# kernel's send buffer at once (for close-delimited bodies; see Connection.close).
_LINGER_RESET = struct.pack("ii", 1, 0)

#: RFC 9112 section 7.1: a chunk is its size in hex, CRLF, the data, CRLF.
_CRLF = b"\r\n"
#: RFC 9112 section 7.1: the last chunk (size 0) and an empty trailer section end the body.
LAST_CHUNK = b"0\r\n\r\n"


def chunk(data: bytes) -> bytes:
    """``data`` as one HTTP/1.1 chunk, joined: for bytes built once and sent many times."""
    return b"%x\r\n%b\r\n" % (len(data), data)


#: The heartbeat comment, and its chunk, built once for every connection.
HEARTBEAT = encode_comment("")
_HEARTBEAT_CHUNK = chunk(HEARTBEAT)

logger = logging.getLogger("sse_nb.server")


@dataclass(frozen=True, slots=True)
class ClientInfo:
    """A snapshot of one client in the server's registry."""

    #: Registry id: the ``client`` query parameter when given, else ``c1``, ``c2``, ...
    id: str
    #: ``"ip:port"`` of the peer.
    remote: str
    channel: str
    #: ``"open"`` or ``"closed"``.
    state: str
    #: Epoch seconds.
    connected_at: float
    closed_at: float | None
    #: Id of the last event handed to this client's socket.
    last_event_id: str | None
    #: The ``Last-Event-ID`` the client asked to resume from, if any.
    resumed_from: str | None
    #: The request's ``Accept`` header as it reached the server (cut to ``MAX_ACCEPT_LENGTH``),
    #: ``None`` when it had none: a proxy on the way may have dropped or rewritten it.
    accept: str | None
    events_sent: int
    bytes_sent: int
    #: ``None`` while open, else why it closed (a ``str``: "client closed", "slow consumer", ...).
    close_reason: CloseReason | None
    #: The gap signal sent on connect (``{"requested": ..., "oldest": ...}``), if any.
    gap: Gap | None


class Connection:
    """A live response's writer and registry record; all methods run on the loop thread."""

    __slots__ = (
        "_chunked",
        "_drop_hook",
        "_queue",
        "_queued_bytes",
        "_replay",
        "_replay_count",
        "_replay_done",
        "_replay_last_id",
        "_replay_pos",
        "_replay_started",
        "_sock",
        "_stall",
        "_stream",
        "_waiting",
        "accept",
        "bytes_sent",
        "channel",
        "close_reason",
        "closed_at",
        "connected_at",
        "events_sent",
        "gap",
        "held",
        "id",
        "last_event_id",
        "queue_limit",
        "remote",
        "resumed_from",
        "tap",
        "wrote",
    )

    def __init__(
        self,
        id: str,
        remote: str,
        channel: str,
        stream: IOStream,
        *,
        resumed_from: str | None,
        gap: Gap | None,
        queue_limit: int,
        on_closed: Callable[[Connection], None],
        chunked: bool = True,
        accept: str | None = None,
    ) -> None:
        self.id = id
        self.remote = remote
        self.channel = channel
        self._stream: IOStream | None = stream
        # Direct sends are only correct on a plain socket (TLS must go through the stream).
        plain = isinstance(stream, IOStream) and not isinstance(stream, SSLIOStream)
        self._sock: socket.socket | None = stream.socket if plain else None
        self.resumed_from = resumed_from
        self.accept = accept
        self.gap = gap
        self.queue_limit = queue_limit
        self._drop_hook = on_closed
        #: True for an HTTP/1.1 request (chunked body), False for HTTP/1.0 (close-delimited).
        self._chunked = chunked
        self._queue: list[tuple[bytes, int, str | None]] = []
        self._queued_bytes = 0
        self._waiting = False
        self._replay: list[bytes] | None = None
        self._replay_pos = self._replay_count = 0
        self._replay_last_id: str | None = None
        self._replay_started = False
        self._replay_done: Callable[[Connection], None] | None = None
        self._stall: asyncio.TimerHandle | None = None
        self.connected_at = time.time()
        self.closed_at: float | None = None
        self.close_reason: CloseReason | None = None
        self.last_event_id: str | None = None
        self.events_sent = 0
        self.bytes_sent = 0
        #: Set by every write, cleared by the heartbeat ticker: a busy stream needs no heartbeat.
        self.wrote = False
        #: Told every byte written (``EventServer.tap``): for lab tools that show the wire.
        self.tap: Callable[[bytes], None] | None = None
        #: A fault (stall, throttle; ``faults.py``) holds writes back: they queue, as behind a
        #: slow reader, until ``release()``.
        self.held = False

    @property
    def open(self) -> bool:
        return self.close_reason is None

    @property
    def queued_bytes(self) -> int:
        """Bytes waiting in this connection's queue (not yet handed to the socket)."""
        return self._queued_bytes

    @property
    def replaying(self) -> bool:
        """True while a replay is waiting for its turn or still being sent."""
        return self._replay is not None

    def begin(self, head: bytes, body: bytes) -> None:
        """Write the response head and the body's first bytes (no events) in one send."""
        if self.close_reason is None:
            self._write(body, 0, None, CloseReason.WRITE_FAILED, head=head)

    def send(self, data: bytes, count: int, last_id: str | None) -> None:
        """Send ``count`` encoded events now, or queue them behind a write or replay in progress."""
        if self.close_reason is not None:
            return
        if self._waiting or self.held or self._replay is not None:
            self._queue.append((data, count, last_id))
            self._queued_bytes += len(data)
            # One event alone may exceed the limit: a reader that keeps up takes it, and only
            # one that has not taken what came before it is cut.
            alone = len(self._queue) == 1 and count <= 1
            if self._queued_bytes > self.queue_limit and not alone:
                self._cut_slow_consumer()
            return
        self._write(data, count, last_id, CloseReason.WRITE_FAILED)

    def replay(
        self,
        frames: list[bytes],
        count: int,
        last_id: str | None,
        on_done: Callable[[Connection], None],
    ) -> None:
        """Take ``frames`` (``count`` events, the last ``last_id``) as this stream's replay.

        Live events sent from now on wait behind it. Nothing goes out until :meth:`start_replay`
        (the server caps the replays in flight); ``on_done(self)`` is called once the replay is
        sent or the connection closes, whichever comes first.
        """
        self._replay, self._replay_pos = frames, 0
        self._replay_count, self._replay_last_id = count, last_id
        self._replay_done = on_done

    def start_replay(self) -> None:
        """Begin sending the replay taken by :meth:`replay`, piece by piece as the socket drains."""
        if self._replay is None or self.close_reason is not None:
            return
        self._replay_started = True
        self._pump()

    def _pump(self) -> None:
        """Write what comes next while the socket takes it at once: replay pieces, then queue."""
        while self.close_reason is None and not self._waiting and not self.held:
            if self._replay is not None:
                if not self._replay_started:
                    return
                self._write_replay_piece()
            elif self._queue:
                queue, self._queue, self._queued_bytes = self._queue, [], 0
                data = queue[0][0] if len(queue) == 1 else b"".join(q[0] for q in queue)
                count = sum(q[1] for q in queue)
                last_id = next((q[2] for q in reversed(queue) if q[2] is not None), None)
                self._write(data, count, last_id, CloseReason.WRITE_FAILED)
            else:
                return
        if self._waiting and self._replay is not None and self._stall is None:
            self._stall = asyncio.get_running_loop().call_later(
                REPLAY_STALL, self._replay_stalled, self._replay_pos
            )

    def _write_replay_piece(self) -> None:
        frames = self._replay
        assert frames is not None
        start = end = self._replay_pos
        size = 0
        while end < len(frames) and (end == start or size + len(frames[end]) <= REPLAY_PIECE):
            size += len(frames[end])
            end += 1
        self._replay_pos = end
        last = end >= len(frames)
        data = frames[start] if end - start == 1 else b"".join(frames[start:end])
        if last:
            self._end_replay()
        # Ids are not known piece by piece: the last event's id is recorded with the last piece.
        count = self._replay_count - start if last else end - start
        self._write(data, count, self._replay_last_id if last else None, CloseReason.WRITE_FAILED)

    def _replay_stalled(self, position: int) -> None:
        self._stall = None
        if self._replay is not None and self._replay_pos == position and self._waiting:
            self._cut_slow_consumer()

    def _end_replay(self) -> None:
        done, self._replay_done = self._replay_done, None
        self._replay = None
        if self._stall is not None:
            self._stall.cancel()
            self._stall = None
        if done is not None:
            done(self)

    def _cut_slow_consumer(self) -> None:
        # Cut first (the queue is freed at once), then say so with the figures of the cut.
        behind = self._queued_bytes
        self.close(CloseReason.SLOW_CONSUMER)
        logger.warning(
            "client %s (%s) on channel %r cut off as a slow consumer: %d bytes behind "
            "(limit %d); last event sent to it: %s. It can reconnect with Last-Event-ID "
            "(its last id seen) to be replayed what it missed from the log.",
            self.id,
            self.remote,
            self.channel,
            behind,
            self.queue_limit,
            self.last_event_id,
        )

    def heartbeat(self) -> None:
        """Called every heartbeat period: write a comment unless something was written since."""
        if self.close_reason is not None:
            return
        if self.wrote or self._waiting or self.held:
            # Bytes went out (or are still going out): the connection is proven busy.
            self.wrote = False
            return
        self._write(HEARTBEAT, 0, None, CloseReason.HEARTBEAT_FAILED, framed=_HEARTBEAT_CHUNK)
        self.wrote = False

    def _write(
        self,
        data: bytes,
        count: int,
        last_id: str | None,
        failure: CloseReason,
        *,
        head: bytes = b"",
        framed: bytes | None = None,
    ) -> None:
        """Hand ``data`` (``count`` events) to the socket: after ``head``, as one chunk when
        the body is chunked (``framed``: that chunk, built beforehand)."""
        if not data and not head:
            return  # an empty chunk would end the body
        if not self._chunked:
            pieces = [head, data] if head else [data]
        elif framed is not None:
            pieces = [framed]
        else:
            pieces = [b"%x\r\n" % len(data), data, _CRLF]
            if head:
                pieces.insert(0, head)
        if self.tap is not None:
            self.tap(b"".join(pieces))  # a copy only for a lab tool that watches the wire
        sent = 0
        if self._sock is not None:
            try:
                sock = self._sock
                sent = sock.send(pieces[0]) if len(pieces) == 1 else sock.sendmsg(pieces)
            except (BlockingIOError, InterruptedError):
                sent = 0
            except OSError:
                self.close(failure)
                return
        self.wrote = True
        self.bytes_sent += len(data)
        self.events_sent += count
        if last_id is not None:
            self.last_event_id = last_id
        rest = _unsent(pieces, sent)
        if not rest:
            return
        stream = self._stream
        if stream is None:  # closed by a callback of the send above
            return
        self._waiting = True
        try:
            # In order, without joining; the last write's future resolves once all are out.
            for piece in rest:
                fut = stream.write(piece)
        except StreamClosedError:
            self.close(failure)
            return
        fut.add_done_callback(self._drained)

    def _drained(self, fut: Any) -> None:
        self._waiting = False
        if self.close_reason is not None:
            return
        if fut.cancelled() or fut.exception() is not None:
            self.close(CloseReason.WRITE_FAILED)
            return
        if self._stall is not None:  # the piece went out: the replay is moving
            self._stall.cancel()
            self._stall = None
        self._pump()

    def release(self, max_bytes: int | None = None) -> int:
        """Write what a hold kept back: all of it, or about ``max_bytes`` of it (a throttle's
        share, cut mid-event if need be). Returns the bytes written."""
        if self._replay is not None:  # the replay goes first; the queue follows it
            if not self.held:
                self._pump()
            return 0
        if self.close_reason is not None or self._waiting or not self._queue:
            return 0
        queue = self._queue
        if max_bytes is None:
            take, self._queue = queue, []
        else:
            take, size = [], 0
            while queue and size < max_bytes:
                data, count, last_id = queue[0]
                room = max_bytes - size
                if len(data) > room:  # cut: the event's count and id go with its last byte
                    take.append((data[:room], 0, None))
                    queue[0] = (data[room:], count, last_id)
                    size = max_bytes
                    break
                take.append(queue.pop(0))
                size += len(data)
        data = b"".join(q[0] for q in take)
        self._queued_bytes -= len(data)
        count = sum(q[1] for q in take)
        last = next((q[2] for q in reversed(take) if q[2] is not None), None)
        if data:
            self._write(data, count, last, CloseReason.WRITE_FAILED)
        return len(data)

    def close(self, reason: CloseReason, *, reset: bool = False) -> bool:
        """End the response, recording ``reason`` (the first reason wins); idempotent.

        A clean end of a chunked response sends the last chunk first, if nothing is still
        waiting to go out (else the body is cut short anyway) and the socket takes it at once.

        ``reset=True`` ends the response as a failing network would, so the client sees an
        error and not an end: a chunked body is cut (closed without its last chunk, which
        HTTP/1.1 clients and proxies read as a failed response); a close-delimited body, for
        which any close is a clean end, is aborted with a TCP RST. A chunked body is not reset:
        jupyter-server-proxy on tornado 6.6 never finishes relaying a chunked response that an
        RST cut, so the browser behind it would wait forever instead of reconnecting.
        """
        if self.close_reason is not None:
            return False
        self.close_reason = reason
        self.closed_at = time.time()
        self._queue, self._queued_bytes = [], 0
        cut = self._replay is not None  # a replay not sent to its end: the body is cut
        if self._replay is not None:
            self._end_replay()
        if self._sock is not None:
            with contextlib.suppress(OSError):
                if not self._chunked:
                    if reset:
                        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_RESET)
                elif not (reset or cut or self._waiting):
                    self._sock.send(LAST_CHUNK)
        if self._stream is not None:
            self._stream.close()
        # The registry keeps closed connections for a while (MAX_CLOSED_CLIENTS); a stream kept
        # with them would keep its unsent buffers (a whole replay) alive as well.
        self._stream = self._sock = None
        self._drop_hook(self)
        return True

    def info(self) -> ClientInfo:
        return ClientInfo(
            id=self.id,
            remote=self.remote,
            channel=self.channel,
            state="open" if self.close_reason is None else "closed",
            connected_at=self.connected_at,
            closed_at=self.closed_at,
            last_event_id=self.last_event_id,
            resumed_from=self.resumed_from,
            accept=self.accept,
            events_sent=self.events_sent,
            bytes_sent=self.bytes_sent,
            close_reason=self.close_reason,
            gap=self.gap.copy() if self.gap is not None else None,
        )


def _unsent(pieces: list[bytes], sent: int) -> list[bytes | memoryview]:
    """What is left of ``pieces`` after the first ``sent`` bytes went out (views, no copies)."""
    rest: list[bytes | memoryview] = []
    for piece in pieces:
        if sent >= len(piece):
            sent -= len(piece)
        elif sent:
            rest.append(memoryview(piece)[sent:])
            sent = 0
        else:
            rest.append(piece)
    return rest
