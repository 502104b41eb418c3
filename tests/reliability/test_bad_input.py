"""Bad input: every malformed request gets a clean status or a gap signal; others keep streaming.

A witness client streams for the whole module; after each bad request an event is published and
the witness must receive it, so a request that crashed or blocked the server would show.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sse_nb.server import GAP_HEADER, MAX_ID_LENGTH, EventServer

from ._net import STEP_TIMEOUT, StreamReader, open_stream

#: Statuses a bad request may get: served (200, with a gap signal where due), refused cleanly.
CLEAN = {200, 400, 404, 405, 413, 414, 431}
#: Events in the log, so a well-formed resume id has something to replay.
HELD = 20
#: Bounded examples per fuzzed property (each is one real request).
EXAMPLES = 60

FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


class Witness:
    """A client that streams throughout and proves the server still delivers."""

    def __init__(self, server: EventServer) -> None:
        self.server = server
        self.reader = StreamReader(open_stream(server.port, "/events?client=witness"))
        assert self.reader.read_head() == 200
        self.n = 0

    def still_served(self) -> None:
        self.n += 1
        data = f"witness {self.n}"
        self.server.publish(data)
        self.reader.read_until(lambda: any(e.data == data for e in self.reader.events[-5:]))


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[EventServer, Witness]]:
    srv = EventServer(heartbeat=None).start()
    for i in range(HELD):
        srv.publish(f"held {i}")
    witness = Witness(srv)
    try:
        yield srv, witness
    finally:
        witness.reader.sock.close()
        srv.stop()


def exchange(port: int, raw: bytes) -> tuple[int, bytes]:
    """Send ``raw``, return the status and the response's first bytes (then close)."""
    with socket.create_connection(("127.0.0.1", port), timeout=STEP_TIMEOUT) as sock:
        sock.sendall(raw)
        reader = StreamReader(sock)
        status = reader.read_head()
        return status, reader.head


def header_value(data: bytes) -> bytes:
    # CR and LF would end the header (a different request altogether: see the garbage cases).
    return data.replace(b"\r", b"").replace(b"\n", b"")


@FUZZ
@given(
    value=st.one_of(
        st.binary(max_size=64),
        st.text(alphabet=st.characters(max_codepoint=0x1F), max_size=16).map(str.encode),
        st.integers(MAX_ID_LENGTH - 2, 8 * MAX_ID_LENGTH).map(lambda n: b"7" * n),
        st.integers(-5, HELD + 5).map(lambda n: str(n).encode()),
    )
)
def test_any_last_event_id_gets_a_stream_or_a_clean_refusal(
    served: tuple[EventServer, Witness], value: bytes
) -> None:
    server, witness = served
    value = header_value(value)
    raw = b"GET /events HTTP/1.1\r\nHost: x\r\nLast-Event-ID: " + value + b"\r\n\r\n"
    status, head = exchange(server.port, raw)
    assert status in CLEAN, (status, head)
    text = value.decode("latin-1").strip(" \t")
    malformed = len(text) > MAX_ID_LENGTH or any(ord(c) < 0x20 or c == "\x7f" for c in text)
    if status == 200 and text and malformed:
        assert f"{GAP_HEADER}: 1".encode() in head
    witness.still_served()


@FUZZ
@given(query=st.binary(max_size=200))
def test_any_query_string_gets_a_stream_or_a_clean_refusal(
    served: tuple[EventServer, Witness], query: bytes
) -> None:
    server, witness = served
    # Space, CR and LF end the request target; everything else goes in raw.
    query = bytes(b for b in query if b not in b" \r\n")
    status, head = exchange(server.port, b"GET /events?" + query + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    assert status in CLEAN, (status, head)
    witness.still_served()


@pytest.mark.parametrize(
    "raw",
    [
        b"GET /events HTTP/1.1\r\nHost: x\r\nAccept: text/html\r\n\r\n",
        b"GET /events HTTP/1.1\r\nHost: x\r\nAccept: application/json;q=0.1, */*;q=0\r\n\r\n",
        b"GET /events HTTP/1.1\r\nHost: x\r\nAccept: \x01\x02\r\n\r\n",
        b"GET /events HTTP/1.0\r\n\r\n",
        b"GET /events HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\nhello world",
        b"GET /events HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5\r\nhello\r\n0\r\n\r\n",
        b"GET /events HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
        b"GET /events/no%20such HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /events?client=%00 HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /events?lastEventId=%0d%0a HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /events HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 100_000 + b"\r\n\r\n",
        b"NONSENSE\r\n\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 64 + b"\r\n\r\n",
    ],
    ids=[
        "accept-html",
        "accept-json-only",
        "accept-control-chars",
        "http-1.0",
        "body-on-get",
        "chunked-body-on-get",
        "negative-content-length",
        "bad-channel",
        "nul-client-id",
        "crlf-last-event-id-param",
        "huge-header",
        "not-http",
        "tls-handshake",
    ],
)
def test_odd_requests_get_a_clean_answer(served: tuple[EventServer, Witness], raw: bytes) -> None:
    server, witness = served
    status, head = exchange(server.port, raw)
    # 0: the server closed the connection without an answer (a request it cannot parse).
    assert status in CLEAN | {0}, (status, head)
    witness.still_served()


def test_http_1_0_client_gets_the_stream(served: tuple[EventServer, Witness]) -> None:
    server, witness = served
    with socket.create_connection(("127.0.0.1", server.port), timeout=STEP_TIMEOUT) as sock:
        sock.sendall(b"GET /events HTTP/1.0\r\nLast-Event-ID: 3\r\n\r\n")
        reader = StreamReader(sock)
        assert reader.read_head() == 200
        reader.read_until(lambda: len(reader.ids()) >= HELD - 3)
        assert reader.ids()[:3] == ["4", "5", "6"]
    witness.still_served()


def test_a_half_sent_request_blocks_no_one(served: tuple[EventServer, Witness]) -> None:
    server, witness = served
    stuck = [socket.create_connection(("127.0.0.1", server.port), timeout=STEP_TIMEOUT)]
    try:
        stuck[0].sendall(b"GET /events HTT")
        for partial in (b"GET /events HTTP/1.1\r\nHost: x\r\nLast-Event-ID: 1", b"G"):
            sock = socket.create_connection(("127.0.0.1", server.port), timeout=STEP_TIMEOUT)
            stuck.append(sock)
            sock.sendall(partial)
        witness.still_served()
        # A new, complete request is served while the half-sent ones hang.
        status, _ = exchange(server.port, b"GET /events HTTP/1.1\r\nHost: x\r\n\r\n")
        assert status == 200
        # A half-sent request that is then abandoned leaves the server serving.
        stuck[1].shutdown(socket.SHUT_WR)
    finally:
        for sock in stuck:
            sock.close()
    witness.still_served()
