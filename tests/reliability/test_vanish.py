"""A client that vanishes (no FIN, no RST) is detected within heartbeat + TCP_USER_TIMEOUT + 1 s.

Packets vanish in a private network namespace (``unshare -n``) whose loopback gets a queue of
length 0 (``tc qdisc ... pfifo limit 0``): from then on every packet is silently dropped, as
when a laptop lid closes. The server and the vanishing client run inside that namespace, in a
child process, so the machine's own network is never touched. The child measures from the
moment the drop is in place to the moment the registry records the close.
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

TESTS = Path(__file__).parent.parent
#: Heartbeat period of the server under test (seconds). The kernel's retransmission timers make
#: detection very regular (5.63-5.64 s in repeated runs with this period, the bound 6.2 s).
HEARTBEAT = 0.2
#: The bound the requirement states.
BOUND = HEARTBEAT + TCP_USER_TIMEOUT_MS / 1000 + 1.0

CHILD = r"""
import json, socket, subprocess, sys, time
subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
sys.path.insert(0, sys.argv[1])
from tests.conftest import wait_until
from sse_nb.server import EventServer

with EventServer(heartbeat=float(sys.argv[2])) as server:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    sock.sendall(b"GET /events?client=gone HTTP/1.1\r\nHost: x\r\n\r\n")
    assert sock.recv(4096).startswith(b"HTTP/1.1 200")
    wait_until(lambda: server.clients, what="registered")
    subprocess.run(["tc", "qdisc", "replace", "dev", "lo", "root", "pfifo", "limit", "0"],
                   check=True)
    t0 = time.monotonic()
    wait_until(lambda: server.clients[0].state == "closed", timeout=60, interval=0.005,
               what="vanished peer detected")
    elapsed = time.monotonic() - t0
    print(json.dumps({"reason": server.clients[0].close_reason, "seconds": elapsed}))
"""


def _why_packets_cannot_be_dropped() -> str | None:
    if sys.platform != "linux":
        return "needs Linux network namespaces"
    if os.geteuid() != 0:
        return "needs root (unshare -n and tc)"
    missing = [tool for tool in ("unshare", "tc", "ip") if not shutil.which(tool)]
    if missing:
        return f"needs {', '.join(missing)} (iproute2, util-linux)"
    probe = subprocess.run(
        ["unshare", "-n", "tc", "qdisc", "replace", "dev", "lo", "root", "pfifo", "limit", "0"],
        capture_output=True,
        text=True,
        timeout=10,
    )
    if probe.returncode != 0:
        return f"cannot set a qdisc in a new network namespace: {probe.stderr.strip()[:200]}"
    return None


SKIP_REASON = _why_packets_cannot_be_dropped()


@pytest.mark.skipif(SKIP_REASON is not None, reason=SKIP_REASON or "")
def test_a_vanished_client_is_detected_within_heartbeat_plus_user_timeout() -> None:
    result = subprocess.run(
        ["unshare", "-n", sys.executable, "-c", CHILD, str(TESTS), str(HEARTBEAT)],
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert outcome["reason"] == "heartbeat failed"
    print(f"vanished client detected after {outcome['seconds']:.2f} s (bound {BOUND} s)")
    assert outcome["seconds"] <= BOUND, outcome
