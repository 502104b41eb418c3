"""EventServer's client registry and detection: close reasons, callbacks, heartbeats, slow
consumers, a blocked main thread, and mounting into an existing Tornado app."""

from __future__ import annotations

import asyncio
import logging
import re
import socket
import threading

import httpx
import pytest
import tornado.web
from conftest import wait_until
from streams import Stream, raw_get, read_response_head
from tornado_site import serving

from sse_nb import _runtime
from sse_nb.server import (
    ACCEPT_HEADER,
    MAX_ACCEPT_LENGTH,
    NO_ACCEPT,
    TCP_USER_TIMEOUT_MS,
    ClientInfo,
    EventServer,
)


def closed_reason(server: EventServer, client_id: str) -> str | None:
    for info in server.clients:
        if info.id == client_id and info.state == "closed":
            return info.close_reason
    return None


def test_client_close_is_recorded_with_callbacks(server: EventServer) -> None:
    connected: list[ClientInfo] = []
    disconnected: list[ClientInfo] = []
    changes: list[int] = []
    server.on_connect(connected.append)
    unsubscribe = server.on_disconnect(disconnected.append)
    server.on_change(lambda: changes.append(1))
    with Stream(server.url, params={"client": "tab-1"}) as s:
        wait_until(lambda: connected, what="on_connect")
        server.publish("x")
        s.read_until(lambda s: len(s.events) == 1)
        info = server.clients[0]
        assert (info.id, info.state, info.channel) == ("tab-1", "open", "default")
        assert info.remote.startswith("127.0.0.1:")
    wait_until(lambda: closed_reason(server, "tab-1") == "client closed", what="closed")
    wait_until(lambda: disconnected, what="on_disconnect")
    info = server.clients[0]
    assert info.last_event_id == "1" and info.events_sent == 1
    assert info.bytes_sent == len(b"id: 1\ndata: x\n\n")
    assert info.closed_at is not None and info.closed_at >= info.connected_at
    assert disconnected[0].close_reason == "client closed"
    assert changes
    unsubscribe()


def test_raw_socket_close_is_client_closed(server: EventServer) -> None:
    sock = raw_get(server.port, "/events?client=raw")
    head, _ = read_response_head(sock)
    assert head.startswith(b"HTTP/1.1 200")
    sock.close()
    wait_until(lambda: closed_reason(server, "raw") == "client closed", what="close seen")


def test_the_accept_a_request_came_with_is_recorded_and_echoed_never_refused(
    server: EventServer,
) -> None:
    connected: list[ClientInfo] = []
    server.on_connect(connected.append)
    with Stream(server.url, headers={"Accept": "application/json"}, params={"client": "j"}) as s:
        # Served all the same: browsers send text/event-stream, curl */*; neither is refused.
        assert s.response.status_code == 200
        assert s.response.headers[ACCEPT_HEADER] == "application/json"
        wait_until(lambda: connected, what="on_connect")
        assert connected[0].accept == "application/json"
        assert [c.accept for c in server.clients if c.id == "j"] == ["application/json"]
    wait_until(lambda: closed_reason(server, "j") == "client closed", what="closed")
    assert [c.accept for c in server.clients if c.id == "j"] == ["application/json"]


def test_a_request_without_accept_is_recorded_as_none(server: EventServer) -> None:
    sock = raw_get(server.port, "/events?client=bare", accept=None)
    try:
        head, _ = read_response_head(sock)
        assert head.startswith(b"HTTP/1.1 200")
        assert f"{ACCEPT_HEADER}: {NO_ACCEPT}\r\n".encode() in head + b"\r\n"
        wait_until(lambda: [c.id for c in server.clients] == ["bare"], what="registered")
        assert server.clients[0].accept is None
    finally:
        sock.close()


def test_a_very_long_accept_is_kept_cut_to_its_limit(server: EventServer) -> None:
    long = "text/event-stream, " + ", ".join(f"application/x-{i}" for i in range(500))
    sock = raw_get(server.port, "/events?client=long", accept=long)
    try:
        head, _ = read_response_head(sock)
        assert head.startswith(b"HTTP/1.1 200")
        wait_until(lambda: [c.id for c in server.clients] == ["long"], what="registered")
        assert server.clients[0].accept == long[:MAX_ACCEPT_LENGTH]
        assert f"{ACCEPT_HEADER}: {long[:MAX_ACCEPT_LENGTH]}\r\n".encode() in head + b"\r\n"
    finally:
        sock.close()


def test_disconnect_drops_one_client_as_a_network_failure(server: EventServer) -> None:
    with (
        Stream(server.url, params={"client": "a"}) as a,
        Stream(server.url, params={"client": "b"}),
    ):
        wait_until(lambda: len(server.clients) == 2, what="two clients")
        assert server.disconnect("a") == 1
        with pytest.raises((httpx.ReadError, httpx.RemoteProtocolError)):
            a.read_to_end()
        assert closed_reason(server, "a") == "dropped by server"
        assert [c.state for c in server.clients if c.id == "b"] == ["open"]
        assert server.disconnect("nobody") == 0
        assert server.disconnect() == 1
        assert closed_reason(server, "b") == "dropped by server"


def test_client_closed_told_by_a_widget(server: EventServer) -> None:
    with Stream(server.url, params={"client": "w"}):
        wait_until(lambda: server.clients, what="client")
        assert server.client_closed("w") is True
        assert server.client_closed("w") is False
        assert closed_reason(server, "w") == "client closed"
    assert server.client_closed("unknown") is False


def test_a_second_connection_with_the_same_client_id_never_closes_the_first(
    server: EventServer,
) -> None:
    with Stream(server.url, params={"client": "x"}) as first:
        wait_until(lambda: server.clients, what="first")
        with Stream(server.url, params={"client": "x"}) as second:
            wait_until(
                lambda: [c.state for c in server.clients] == ["open", "open"], what="both open"
            )
            server.publish("to both")
            first.read_until(lambda s: len(s.events) == 1)
            second.read_until(lambda s: len(s.events) == 1)
        assert [c.id for c in server.clients] == ["x", "x"]


def test_automatic_client_ids_cannot_be_claimed(server: EventServer) -> None:
    r = httpx.get(server.url, params={"client": "c1"}, timeout=5)
    assert r.status_code == 400


def test_bad_client_id_is_400(server: EventServer) -> None:
    r = httpx.get(server.url, params={"client": "x" * 500}, timeout=5)
    assert r.status_code == 400


def test_stop_ends_every_connection_and_frees_the_port() -> None:
    server = EventServer(heartbeat=None).start()
    port = server.port
    with Stream(server.url) as s:
        wait_until(lambda: server.clients, what="client")
        server.stop()
        s.read_to_end()
    assert server.clients[0].close_reason == "server stopped"
    assert not server.running
    with pytest.raises(httpx.ConnectError):
        httpx.get(server.url, timeout=5)
    probe = socket.socket()
    probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as any server does
    probe.bind(("127.0.0.1", port))  # nobody listens there any more
    probe.close()
    server.start()  # a plain stop can be undone
    try:
        with Stream(server.url) as s:
            assert s.response.status_code == 200
    finally:
        server.stop()


def test_heartbeat_comments_keep_an_idle_stream_alive() -> None:
    with EventServer(heartbeat=0.05) as server, Stream(server.url) as s:
        s.read_until(lambda s: s.raw.count(b":\n") >= 3)
        assert s.events == []


def test_vanished_peers_are_bounded_by_tcp_user_timeout(server: EventServer) -> None:
    if not hasattr(socket, "TCP_USER_TIMEOUT"):
        pytest.skip("TCP_USER_TIMEOUT is Linux only")
    with Stream(server.url, params={"client": "t"}):
        wait_until(lambda: server.clients, what="client")
        conn = server._registry.get("t")
        assert conn is not None
        sock = conn._sock
        assert sock is not None
        timeout = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT)
        assert timeout == TCP_USER_TIMEOUT_MS


def test_slow_consumer_is_dropped_with_bounded_memory_then_resumes_without_loss() -> None:
    limit = 64 * 1024
    with EventServer(heartbeat=None, queue_limit=limit, history=100_000) as server:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect(("127.0.0.1", server.port))
        sock.sendall(b"GET /events?client=slow HTTP/1.1\r\nHost: x\r\n\r\n")
        wait_until(lambda: server.clients, what="client")
        conn = server._registry.get("slow")
        assert conn is not None
        payload = "x" * 1000
        most_queued = 0
        for _ in range(30_000):  # up to 30 MB, far past loopback socket buffers plus the limit
            server.publish(payload)
            most_queued = max(most_queued, conn.queued_bytes)
            if not conn.open:
                break
        wait_until(lambda: closed_reason(server, "slow") == "slow consumer", what="dropped")
        assert most_queued <= limit + 2_000
        assert conn.queued_bytes == 0  # freed at once
        sock.close()
        last = server.last_id()
        with Stream(server.url, headers={"Last-Event-ID": "0"}) as s:
            s.read_until(lambda s: s.ids[-1:] == [last], timeout=20)
        assert s.ids == [str(i) for i in range(1, int(last or 0) + 1)]


def test_slow_consumer_cut_logs_which_client_how_far_behind_and_how_to_resume(
    caplog: pytest.LogCaptureFixture,
) -> None:
    limit = 64 * 1024
    payload = "x" * 1000
    with (
        caplog.at_level(logging.WARNING, logger="sse_nb.server"),
        EventServer(heartbeat=None, queue_limit=limit) as server,
        socket.socket() as sock,
    ):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect(("127.0.0.1", server.port))
        sock.sendall(b"GET /events?client=laggard HTTP/1.1\r\nHost: x\r\n\r\n")
        wait_until(lambda: server.clients, what="client")
        for _ in range(30_000):  # up to 30 MB, far past loopback socket buffers plus the limit
            server.publish(payload)
            if closed_reason(server, "laggard") is not None:
                break
        wait_until(lambda: closed_reason(server, "laggard") == "slow consumer", what="dropped")
    [record] = [r for r in caplog.records if "slow consumer" in r.getMessage()]
    message = record.getMessage()
    assert record.levelno == logging.WARNING
    assert "client laggard" in message
    found = re.search(r"(\d+) bytes behind", message)
    assert found is not None, message
    assert int(found.group(1)) > limit  # the queue at the cut (the batch that broke the limit)
    assert "Last-Event-ID" in message


def test_blocking_main_thread_does_not_stop_the_stream() -> None:
    """Like a cell in ``time.sleep``: the main thread waits; events and heartbeats still flow."""
    with EventServer(heartbeat=0.05) as server:
        got_all = threading.Event()
        received: list[str] = []
        heartbeats: list[int] = []
        stop = threading.Event()

        def reader() -> None:
            with Stream(server.url) as s:
                s.read_until(lambda s: len(s.events) >= 20 and s.raw.count(b":\n") >= 2, 20)
                received.extend(s.ids)
                heartbeats.append(s.raw.count(b":\n"))
            got_all.set()

        def ticker() -> None:
            # Twenty events, then silence, in which only heartbeats flow.
            wait_until(lambda: server.clients or stop.is_set(), what="reader connected")
            for _ in range(20):
                if stop.wait(0.01):
                    break
                server.publish("tick")

        threads = [threading.Thread(target=reader), threading.Thread(target=ticker)]
        for t in threads:
            t.start()
        try:
            assert got_all.wait(timeout=30)  # the "cell" blocks here
        finally:
            stop.set()
            for t in threads:
                t.join(10)
        assert len(received) >= 20 and heartbeats[0] >= 2


def test_mount_into_an_existing_tornado_app() -> None:
    server = EventServer(heartbeat=None)

    def host_app() -> tornado.web.Application:
        app = tornado.web.Application()
        server.mount(app, "/sse")
        return app

    with serving(host_app) as port:
        server.publish("a")
        with Stream(f"http://127.0.0.1:{port}/sse/news") as s:
            wait_until(lambda: server.clients, what="client")
            server.publish("b", channel="news")
            s.read_until(lambda s: len(s.events) == 1)
        assert s.events[0].data == "b"
        with Stream(f"http://127.0.0.1:{port}/sse", headers={"Last-Event-ID": "0"}) as s:
            s.read_until(lambda s: s.ids == ["1"])
        assert s.events[-1].data == "a"


def test_runtime_loop_is_the_server_loop(server: EventServer) -> None:
    assert server._loop.loop is _runtime.get_loop()
    assert isinstance(server._loop.loop, asyncio.AbstractEventLoop)
