"""Careless and hostile requests against a real server over loopback: the HTTP limits hold.

Bodies sent before the token is checked, half-sent requests, more connections than allowed, a
client that keeps sending after its request: each is reproduced with raw sockets and the
server's memory (``/proc``), connection count and a well-behaved client's latency are measured.
"""

from __future__ import annotations

import logging
import socket
import statistics
import threading
import time

import pytest

from sse_nb.server import EventServer, binding
from sse_nb.server.listener import MAX_REQUEST_BODY, RETRY_AFTER
from tests.conftest import wait_until

from ._net import STEP_TIMEOUT, StreamReader, open_stream, p90, rss

TOKEN = "s3cret-token"
#: Bodies the unauthenticated clients announce and try to send (as in the finding: 3 x 60 MB).
BODY_BYTES = 60 * 1024 * 1024
BODIES = 3
#: RSS growth allowed while they try: far below one body.
RSS_SLACK = 24 * 1024 * 1024


pytestmark = pytest.mark.server(token=TOKEN)


def raw_request(port: int, head: str) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=STEP_TIMEOUT)
    sock.sendall(head.encode("latin-1"))
    return sock


def read_response(sock: socket.socket) -> bytes:
    data = b""
    deadline = time.monotonic() + STEP_TIMEOUT
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(65536)
        except (ConnectionResetError, TimeoutError):
            break
        if not chunk:
            break
        data += chunk
        if b"\r\n\r\n" in data and not data.startswith(b"HTTP/1.1 200"):
            break
    return data


def test_unauthenticated_bodies_are_refused_before_they_are_read(server: EventServer) -> None:
    before = rss()
    peak = before
    results: list[tuple[bytes, int]] = []

    def send_body() -> None:
        sock = raw_request(
            server.port,
            f"POST /events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {BODY_BYTES}\r\n"
            "Content-Type: application/octet-stream\r\n\r\n",
        )
        sent = 0
        block = b"x" * (1024 * 1024)
        try:
            while sent < BODY_BYTES:
                sent += sock.send(block)
        except OSError:
            pass  # refused: the server closed the connection under the upload
        results.append((read_response(sock), sent))
        sock.close()

    threads = [threading.Thread(target=send_body) for _ in range(BODIES)]
    for t in threads:
        t.start()
    while any(t.is_alive() for t in threads):
        peak = max(peak, rss())
        for t in threads:
            t.join(0.01)
    assert len(results) == BODIES
    for response, sent in results:
        assert sent < BODY_BYTES, "the whole body went in"
        if response:  # the 401 may be lost to the RST of the unread upload; never a 200
            assert response.startswith(b"HTTP/1.1 401"), response[:80]
    assert peak - before < RSS_SLACK, f"RSS grew by {(peak - before) / 2**20:.0f} MB"


def test_bodies_over_the_limit_are_refused_even_with_the_token(server: EventServer) -> None:
    sock = raw_request(
        server.port,
        f"POST /events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {TOKEN}\r\n"
        f"Content-Length: {MAX_REQUEST_BODY + 1}\r\n\r\n",
    )
    assert read_response(sock).startswith(b"HTTP/1.1 413")
    sock.close()
    body = b'{"from": "a client that opens streams with POST"}'
    sock = raw_request(
        server.port,
        f"POST /events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {TOKEN}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n",
    )
    sock.sendall(body)
    reader = StreamReader(sock)
    assert reader.read_head() == 200
    sock.close()


def test_a_half_sent_request_is_closed_after_the_header_timeout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(binding, "HEADER_TIMEOUT", 0.5)  # 10 s by default; same mechanism
    with EventServer(heartbeat=None) as srv:
        sock = raw_request(srv.port, "GET /events HTTP/1.1\r\nHost: 127.0")
        started = time.monotonic()
        assert sock.recv(1) == b""  # closed by the server, not by our STEP_TIMEOUT
        assert time.monotonic() - started < STEP_TIMEOUT / 2
        sock.close()


def test_connections_beyond_the_cap_get_503_with_retry_after() -> None:
    with EventServer(heartbeat=None, max_connections=3) as srv:
        readers = [StreamReader(open_stream(srv.port)) for _ in range(3)]
        assert [r.read_head() for r in readers] == [200, 200, 200]
        refused = StreamReader(open_stream(srv.port))
        assert refused.read_head() == 503
        assert f"Retry-After: {RETRY_AFTER}".encode() in refused.head
        refused.sock.close()
        readers[0].sock.close()
        wait_until(
            lambda: srv._lifecycle.listener is not None and srv._lifecycle.listener.open == 2,
            what="freed",
        )
        again = StreamReader(open_stream(srv.port))
        assert again.read_head() == 200
        for r in [*readers[1:], again]:
            r.sock.close()


def test_a_client_that_keeps_sending_is_cut_and_the_others_stay_fast() -> None:
    with EventServer(heartbeat=None) as srv:
        good = StreamReader(open_stream(srv.port, "/events?client=good"))
        assert good.read_head() == 200
        noisy = open_stream(srv.port, "/events?client=noisy")
        wait_until(lambda: len(srv.clients) == 2, what="both registered")
        stop = threading.Event()

        def flood() -> None:
            block = b"x" * 65536
            try:
                while not stop.is_set():
                    noisy.sendall(block)
            except OSError:
                pass  # cut by the server

        flooder = threading.Thread(target=flood)
        flooder.start()
        latencies = []
        try:
            for i in range(20):
                sent = time.monotonic()
                srv.publish(f"tick {i}")
                good.read_until(lambda n=i: len(good.events) == n + 1)
                latencies.append(time.monotonic() - sent)
            info = wait_until(
                lambda: next(
                    (c for c in srv.clients if c.id == "noisy" and c.state == "closed"), None
                ),
                what="the sending client cut",
            )
        finally:
            stop.set()
            flooder.join(STEP_TIMEOUT)
            noisy.close()
            good.sock.close()
        assert info.close_reason == "client sent data"
        assert statistics.median(latencies) < 0.1, latencies
        assert p90(latencies) < 0.25, latencies


def test_a_correct_token_never_reaches_the_access_log(
    server: EventServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="tornado")
    paths = [
        f"/nowhere?token={TOKEN}",  # Tornado's own 404
        f"/events?client={'x' * 200}&token={TOKEN}",  # 400 from the handler
        f"/events?token={TOKEN}&client=x",  # 403 below
    ]
    statuses = []
    for i, path in enumerate(paths):
        host = "evil.example" if i == 2 else "127.0.0.1"
        sock = raw_request(
            server.port, f"GET {path} HTTP/1.1\r\nHost: {host}:{server.port}\r\n\r\n"
        )
        statuses.append(read_response(sock)[9:12])
        sock.close()
    assert statuses == [b"404", b"400", b"403"]
    wait_until(lambda: len([r for r in caplog.records if r.name == "tornado.access"]) >= 3)
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert TOKEN not in text
    assert "token=[hidden]" in text


def test_an_empty_token_and_bad_cors_entries_are_refused_at_construction() -> None:
    with pytest.raises(ValueError, match="token must be a non-empty str"):
        EventServer(token="")
    for bad in ["example.com", "http://a.example/path", "http://a.example, http://b", "ftp://a"]:
        with pytest.raises(ValueError, match="not an origin"):
            EventServer(cors=[bad])
    EventServer(cors=["http://127.0.0.1:8888", "https://a.example/"])  # a trailing / is fine
