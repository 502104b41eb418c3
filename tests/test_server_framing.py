"""Body framing on a raw socket: chunked for HTTP/1.1, close-delimited for HTTP/1.0.

The bytes are read with no HTTP library in between, de-chunked by the small strict decoder
below (RFC 9112 section 7.1) and parsed by ``sse_nb.protocol.EventParser``: the chunks must
decode to exactly the event stream, with nothing before, between or after.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator

import pytest
from conftest import wait_until
from streams import READ_TIMEOUT, raw_get, read_response_head

from sse_nb.protocol import Event, EventParser, encode_event
from sse_nb.server import EventServer

#: The comment every stream opens with (before any replay or live event).
OPENING = b":open\n"


class ChunkDecoder:
    """A strict incremental decoder of a chunked body; any framing error fails the test."""

    def __init__(self) -> None:
        self.buf = b""
        self.chunks: list[bytes] = []
        self.ended = False

    def feed(self, data: bytes) -> list[bytes]:
        """Add ``data``; return the chunks completed by it (the last chunk ends the body)."""
        assert not self.ended, f"bytes after the last chunk: {data!r}"
        self.buf += data
        done: list[bytes] = []
        while not self.ended:
            line, sep, rest = self.buf.partition(b"\r\n")
            if not sep:
                break
            assert line and all(c in b"0123456789abcdefABCDEF" for c in line), line
            size = int(line, 16)
            if len(rest) < size + 2:
                break
            assert rest[size : size + 2] == b"\r\n", "a chunk's data must end with CRLF"
            if size == 0:
                # The last chunk, then an empty trailer section: CRLF right after its size line.
                assert rest[:2] == b"\r\n" and rest[2:] == b"", rest
                self.ended = True
            else:
                done.append(rest[:size])
            self.buf = rest[size + 2 :]
        self.chunks += done
        return done


@pytest.fixture()
def server() -> Iterator[EventServer]:
    with EventServer(heartbeat=None) as s:
        yield s


def read_some(sock: socket.socket) -> bytes:
    data = sock.recv(65536)
    assert data, "the server closed the connection"
    return data


def start_decoding(sock: socket.socket) -> tuple[bytes, ChunkDecoder]:
    """The response head, and a chunk decoder fed the body bytes that came with it."""
    head, body = read_response_head(sock)
    decoder = ChunkDecoder()
    decoder.feed(body)
    return head, decoder


def decode_until(decoder: ChunkDecoder, sock: socket.socket, done: Callable[[], bool]) -> None:
    """Feed ``decoder`` from ``sock`` until ``done()``; fail after ``READ_TIMEOUT`` seconds."""
    deadline = time.monotonic() + READ_TIMEOUT
    while not done():
        assert time.monotonic() < deadline, decoder.chunks
        decoder.feed(read_some(sock))


def test_http11_body_is_chunked_and_decodes_to_exactly_the_event_stream(
    server: EventServer,
) -> None:
    server.publish("zero")
    server.publish("one")
    wait_until(lambda: server.last_id() == "2")
    sock = raw_get(server.port, "/events", {"Last-Event-ID": "1"})
    try:
        head, decoder = start_decoding(sock)
        assert head.startswith(b"HTTP/1.1 200 OK\r\n")
        assert b"\r\nTransfer-Encoding: chunked" in head
        assert b"Content-Length" not in head
        replay = OPENING + encode_event("one", id="2")
        decode_until(decoder, sock, lambda: b"".join(decoder.chunks) == replay)
        # The opening comment went out with the head, the replay after it: one chunk each.
        assert decoder.chunks == [OPENING, encode_event("one", id="2")]
        wait_until(lambda: server.clients, what="client registered")
        server.publish("two")
        server.publish("line1\nline2", event="tick")
        expected = OPENING + b"".join(
            [
                encode_event("one", id="2"),
                encode_event("two", id="3"),
                encode_event("line1\nline2", event="tick", id="4"),
            ]
        )
        decode_until(decoder, sock, lambda: b"".join(decoder.chunks) == expected)
        events = EventParser().feed(b"".join(decoder.chunks))
        assert [(e.id, e.type, e.data) for e in events] == [
            ("2", "message", "one"),
            ("3", "message", "two"),
            ("4", "tick", "line1\nline2"),
        ]
    finally:
        sock.close()


def test_heartbeat_is_one_chunk_holding_one_comment() -> None:
    with EventServer(heartbeat=0.05) as server:
        sock = raw_get(server.port, "/events")
        try:
            _, decoder = start_decoding(sock)
            decode_until(decoder, sock, lambda: len(decoder.chunks) >= 3)
            assert decoder.chunks[:3] == [OPENING, b":\n", b":\n"]
        finally:
            sock.close()


@pytest.mark.parametrize(
    ("how", "reason"),
    [("stop", "server stopped"), ("close_channel", "dropped by server")],
)
def test_graceful_end_sends_the_last_chunk(how: str, reason: str) -> None:
    server = EventServer(heartbeat=None).start()
    sock = raw_get(server.port, "/events?client=raw")
    try:
        _, decoder = start_decoding(sock)
        wait_until(lambda: server.clients, what="client registered")
        server.publish("last words")
        if how == "stop":
            server.stop()
        else:
            server.close_channel()
        decode_until(decoder, sock, lambda: decoder.ended)
        assert b"".join(decoder.chunks) == OPENING + encode_event("last words", id="1")
        assert sock.recv(1024) == b""  # then the connection closes
        assert [c.close_reason for c in server.clients] == [reason]
    finally:
        sock.close()
        server.stop()


def test_drop_cuts_the_chunked_body_without_the_last_chunk_or_a_reset(
    server: EventServer,
) -> None:
    """``disconnect()`` plays a network failure: the body is cut, never ended cleanly; no RST,
    which a relay on tornado 6.6 would never pass on."""
    sock = raw_get(server.port, "/events?client=raw")
    try:
        _, decoder = start_decoding(sock)
        wait_until(lambda: server.clients, what="client registered")
        assert server.disconnect("raw") == 1
        deadline = time.monotonic() + READ_TIMEOUT
        while data := sock.recv(65536):  # a reset would raise ConnectionResetError
            assert time.monotonic() < deadline
            decoder.feed(data)
        assert not decoder.ended
        assert [c.close_reason for c in server.clients] == ["dropped by server"]
    finally:
        sock.close()


def test_drop_of_a_close_delimited_body_is_a_reset(server: EventServer) -> None:
    """For HTTP/1.0 any close ends the body cleanly, so a network failure is played by an RST."""
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=READ_TIMEOUT)
    try:
        sock.sendall(b"GET /events?client=old HTTP/1.0\r\n\r\n")
        read_response_head(sock)
        wait_until(lambda: server.clients, what="client registered")
        assert server.disconnect("old") == 1
        with pytest.raises(ConnectionResetError):
            deadline = time.monotonic() + READ_TIMEOUT
            while sock.recv(65536):
                assert time.monotonic() < deadline
    finally:
        sock.close()


def test_http10_body_is_the_event_stream_ended_by_the_close(server: EventServer) -> None:
    server.publish("zero")
    server.publish("one")
    wait_until(lambda: server.last_id() == "2")
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=READ_TIMEOUT)
    try:
        sock.sendall(b"GET /events HTTP/1.0\r\nLast-Event-ID: 1\r\n\r\n")
        head, body = read_response_head(sock)
        assert head.startswith(b"HTTP/1.1 200 OK\r\n")
        assert b"Transfer-Encoding" not in head
        wait_until(lambda: server.clients, what="client registered")
        server.publish("two")
        server.stop()
        deadline = time.monotonic() + READ_TIMEOUT
        while True:
            assert time.monotonic() < deadline
            data = sock.recv(65536)
            if not data:
                break
            body += data
        assert body == OPENING + encode_event("one", id="2") + encode_event("two", id="3")
        events: list[Event] = EventParser().feed(body)
        assert [e.data for e in events] == ["one", "two"]
    finally:
        sock.close()


def test_chunks_stay_whole_when_a_slow_reader_makes_writes_partial_and_queue() -> None:
    """Partial ``sendmsg()``, the stream's finishing writes and the joined queue: still exact."""
    # 8 MB, more than loopback's socket buffers hold, so writes must queue; in few events, so
    # the reader is not idle long enough for TCP_USER_TIMEOUT to end it on a loaded machine.
    count = 800
    with EventServer(heartbeat=None, history=count, queue_limit=64 * 1024 * 1024) as server:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.settimeout(READ_TIMEOUT)
        sock.connect(("127.0.0.1", server.port))
        try:
            sock.sendall(b"GET /events?client=slow HTTP/1.1\r\nHost: x\r\n\r\n")
            wait_until(lambda: server.clients, what="client registered")
            conn = server._registry.get("slow")
            assert conn is not None
            # In steps, each handed over (or queued) before the next: published at once, all
            # 800 may reach the loop's first drain and go out as one partial write, with
            # nothing left to queue behind it.
            step = 20
            for start in range(0, count, step):
                for i in range(start, start + step):
                    server.publish(f"{i:04d}" + "x" * 10_000)
                wait_until(
                    lambda n=start + step: conn.events_sent >= n or conn.queued_bytes > 0,
                    what="a step handed to the socket or queued",
                )
            wait_until(lambda: conn.queued_bytes > 0, what="writes queued behind a slow reader")
            head, decoder = start_decoding(sock)
            assert b"Transfer-Encoding: chunked" in head
            parser = EventParser()
            events = parser.feed(b"".join(decoder.chunks))
            deadline = time.monotonic() + 3 * READ_TIMEOUT
            while len(events) < count:
                assert time.monotonic() < deadline, len(events)
                events += parser.feed(b"".join(decoder.feed(read_some(sock))))
            assert [e.id for e in events] == [str(i) for i in range(1, count + 1)]
            assert all(e.data.startswith(f"{i:04d}") for i, e in enumerate(events))
            assert conn.open
        finally:
            sock.close()
