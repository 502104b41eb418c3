"""DNS rebinding and binds beyond loopback: the ``Host`` check and what a wide bind says.

A web page that rebinds its name to 127.0.0.1 reaches the server as same-origin, with its own
name in ``Host`` and the server's port: that request must get 403. Loopback names, IP literals,
the bound host, a user's list and a proxy's forwarded ``Host`` (another port) are answered.
"""

from __future__ import annotations

import logging
import socket

import pytest

from sse_nb.server import EventServer

from ._net import STEP_TIMEOUT


def status(port: int, host: str | None) -> int:
    if host is None:  # HTTP/1.0: Host is optional there (HTTP/1.1 without one is a 400)
        head = "GET /events HTTP/1.0\r\n"
    else:
        head = f"GET /events HTTP/1.1\r\nHost: {host}\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=STEP_TIMEOUT) as sock:
        sock.sendall(f"{head}\r\n".encode("latin-1"))
        data = b""
        while b"\r\n" not in data:
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
    return int(data.split(b" ", 2)[1])


def test_a_rebound_name_gets_403_and_local_names_get_the_stream() -> None:
    with EventServer(heartbeat=None, allowed_hosts=["box.lan"]) as srv:
        port = srv.port
        assert status(port, f"evil.example:{port}") == 403
        assert status(port, "evil.example") == 200  # port 80: not this one, so via a proxy
        assert status(port, f"evil.example:{port + 1}") == 200  # a proxy's forwarded Host
        for ok in ["localhost", "127.0.0.1", "[::1]", "10.1.2.3", "box.lan", "BOX.lan."]:
            assert status(port, f"{ok}:{port}") == 200, ok
        assert status(port, None) == 200  # HTTP/1.0-style client, never a browser
        assert status(port, f":{port}") == 403


def test_allowed_hosts_star_answers_any_name() -> None:
    with EventServer(heartbeat=None, allowed_hosts="*") as srv:
        assert status(srv.port, f"evil.example:{srv.port}") == 200


@pytest.mark.parametrize("host", ["0.0.0.0", ""])
def test_a_bind_beyond_loopback_names_its_real_address_and_warns(
    host: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="sse_nb.server")
    with EventServer(host=host, heartbeat=None) as srv:
        addresses = srv.addresses
        assert addresses
        assert all(not a.startswith("127.") for a in addresses)
        assert status(srv.port, f"127.0.0.1:{srv.port}") == 200
    warning = next(r.getMessage() for r in caplog.records if "reachable" in r.getMessage())
    assert all(a in warning for a in addresses)
    assert "set a token" in warning


def test_a_loopback_bind_does_not_warn(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="sse_nb.server")
    with EventServer(heartbeat=None) as srv:
        assert srv.addresses == [f"127.0.0.1:{srv.port}"]
    assert not [r for r in caplog.records if "reachable" in r.getMessage()]
