"""At the file-descriptor limit: no busy accept loop, no flood of tracebacks, a responsive loop.

The server runs in a child process whose ``RLIMIT_NOFILE`` is lowered to :data:`LIMIT`; the
test opens more connections than that. Measured: the child's CPU time (``/proc/<pid>/stat``)
over a window, its stderr, and the publish→receive latency of a client that connected first.
"""

from __future__ import annotations

import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import wait_until

from ._net import STEP_TIMEOUT, StreamReader, open_stream, p90

#: The child's descriptor limit, and connections opened against it (more than it can hold,
#: fewer than the listen backlog, so every connect() completes).
LIMIT = 128
CONNECTIONS = 200
#: Seconds over which CPU and latency are measured while the server sits at its limit.
WINDOW = 2.0
#: Share of one core the child may use meanwhile (its ticker included); a spinning accept
#: loop uses all of it.
MAX_CPU_SHARE = 0.35
CHILD = Path(__file__).with_name("_fd_child.py")


class Child:
    def __init__(self, cap: str) -> None:
        self.popen = subprocess.Popen(
            [sys.executable, str(CHILD), str(LIMIT), cap],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        assert self.popen.stdout is not None and self.popen.stderr is not None
        self.err: list[str] = []
        self._err_reader = threading.Thread(target=self._read_err, daemon=True)
        self._err_reader.start()
        self.port = int(self.popen.stdout.readline())

    def _read_err(self) -> None:
        assert self.popen.stderr is not None
        for line in self.popen.stderr:
            self.err.append(line)

    def cpu_seconds(self) -> float:
        with open(f"/proc/{self.popen.pid}/stat") as f:
            fields = f.read().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stats(self) -> dict[str, int]:
        assert self.popen.stdin is not None and self.popen.stdout is not None
        self.popen.stdin.write("stats\n")
        self.popen.stdin.flush()
        return dict(json.loads(self.popen.stdout.readline()))

    def stop(self) -> None:
        if self.popen.stdin is not None and not self.popen.stdin.closed:
            self.popen.stdin.close()
        try:
            self.popen.wait(STEP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait(STEP_TIMEOUT)
        self._err_reader.join(STEP_TIMEOUT)


@pytest.fixture()
def sockets() -> Iterator[list[socket.socket]]:
    opened: list[socket.socket] = []
    try:
        yield opened
    finally:
        for s in opened:
            s.close()


def measure_window(child: Child, ticks: StreamReader) -> tuple[float, list[float]]:
    """CPU share of the child and tick latencies over WINDOW seconds, at the limit.

    Measured from the first tick that arrives on time after the flood: answering the burst of
    requests is work, not the spin under test.
    """

    def on_time() -> bool:
        before = len(ticks.events)
        ticks.read_until(lambda: len(ticks.events) > before)
        return time.time() - float(ticks.events[-1].data) < 0.05

    wait_until(on_time, what="the ticks back on time")
    latencies: list[float] = []
    seen = len(ticks.events)
    cpu0, t0 = child.cpu_seconds(), time.monotonic()
    while time.monotonic() - t0 < WINDOW:
        ticks.read_until(lambda n=seen: len(ticks.events) > n)
        now = time.time()
        latencies += [now - float(e.data) for e in ticks.events[seen:]]
        seen = len(ticks.events)
    share = (child.cpu_seconds() - cpu0) / (time.monotonic() - t0)
    return share, latencies


def flood(port: int, sockets: list[socket.socket]) -> None:
    for _ in range(CONNECTIONS):
        s = socket.create_connection(("127.0.0.1", port), timeout=STEP_TIMEOUT)
        s.sendall(b"GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        sockets.append(s)


def test_out_of_descriptors_pauses_accept_instead_of_spinning(
    sockets: list[socket.socket],
) -> None:
    child = Child(cap="100000")  # a cap above the limit: accept() itself meets EMFILE
    try:
        ticks = StreamReader(open_stream(child.port, "/events/tick"))
        assert ticks.read_head() == 200
        ticks.read_until(lambda: len(ticks.events) >= 5)
        flood(child.port, sockets)
        wait_until(lambda: any("out of file descriptors" in e for e in child.err), what="EMFILE")
        share, latencies = measure_window(child, ticks)
        # Descriptors come back: accept resumes (the backlog's closed connections drain).
        for s in sockets:
            s.close()
        sockets.clear()
        again = StreamReader(open_stream(child.port))
        assert again.read_head() == 200
        again.sock.close()
        ticks.sock.close()
    finally:
        child.stop()
    assert share < MAX_CPU_SHARE, f"child used {share:.0%} of a core"
    assert statistics.median(latencies) < 0.1, latencies
    assert p90(latencies) < 0.25, latencies
    assert sum("out of file descriptors" in e for e in child.err) == 1, child.err
    assert not any("Traceback" in e for e in child.err), "".join(child.err)


def test_the_default_cap_answers_503_before_descriptors_run_out(
    sockets: list[socket.socket],
) -> None:
    child = Child(cap="default")
    try:
        ticks = StreamReader(open_stream(child.port, "/events/tick"))
        assert ticks.read_head() == 200
        ticks.read_until(lambda: len(ticks.events) >= 5)
        flood(child.port, sockets)
        stats = wait_until(
            lambda: (s := child.stats())["open"] + s["refused"] >= CONNECTIONS + 1 and s,
            what="every connection accepted or refused",
        )
        share, latencies = measure_window(child, ticks)
        refused = StreamReader(open_stream(child.port))
        assert refused.read_head() == 503
        assert b"Retry-After:" in refused.head
        refused.sock.close()
        ticks.sock.close()
    finally:
        child.stop()
    assert 0 < stats["open"] < LIMIT and stats["refused"] > 0, stats
    assert share < MAX_CPU_SHARE, f"child used {share:.0%} of a core"
    assert statistics.median(latencies) < 0.1, latencies
    assert not any("out of file descriptors" in e for e in child.err), child.err
    assert not any("Traceback" in e for e in child.err), "".join(child.err)
