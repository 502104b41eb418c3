"""A peer that vanishes (no FIN, no RST) is detected by heartbeats plus TCP_USER_TIMEOUT.

The only way to make packets vanish without touching the machine's network: a private network
namespace (``unshare -n``) whose loopback gets a queue of length 0 (``tc ... pfifo limit 0``),
so every packet after that point is silently dropped, as when a laptop lid closes or Wi-Fi goes.
The server and the client both run inside that namespace, in a child process.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sse_nb.server import TCP_USER_TIMEOUT_MS

TESTS = Path(__file__).parent

CHILD = r"""
import json, socket, subprocess, sys
subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
sys.path.insert(0, sys.argv[1])
from conftest import wait_until
from sse_nb.server import EventServer

with EventServer(heartbeat=0.5) as server:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    sock.sendall(b"GET /events?client=gone HTTP/1.1\r\nHost: x\r\n\r\n")
    assert sock.recv(4096).startswith(b"HTTP/1.1 200")
    wait_until(lambda: server.clients, what="registered")
    # From here on, every packet on this namespace's loopback is dropped.
    subprocess.run(["tc", "qdisc", "replace", "dev", "lo", "root", "pfifo", "limit", "0"],
                   check=True)
    wait_until(lambda: server.clients[0].state == "closed", timeout=float(sys.argv[2]),
               what="vanished peer detected")
    print(json.dumps({"reason": server.clients[0].close_reason}))
"""


def _can_drop_packets() -> bool:
    if sys.platform != "linux" or os.geteuid() != 0:
        return False
    if not (shutil.which("unshare") and shutil.which("tc") and shutil.which("ip")):
        return False
    probe = subprocess.run(
        ["unshare", "-n", "tc", "qdisc", "replace", "dev", "lo", "root", "pfifo", "limit", "0"],
        capture_output=True,
        timeout=10,
    )
    return probe.returncode == 0


@pytest.mark.skipif(not _can_drop_packets(), reason="needs root, unshare and tc (Linux)")
def test_vanished_peer_is_detected_as_heartbeat_failed() -> None:
    # Bound: heartbeat + TCP_USER_TIMEOUT + generous slack for a loaded machine.
    bound = 0.5 + TCP_USER_TIMEOUT_MS / 1000 + 20
    result = subprocess.run(
        ["unshare", "-n", sys.executable, "-c", CHILD, str(TESTS), str(bound)],
        capture_output=True,
        text=True,
        timeout=bound + 30,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {"reason": "heartbeat failed"}
