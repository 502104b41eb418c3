"""Child processes for tests: a free loopback port, waiting until one serves, stopping it by PID.

The starters of real programs (nginx, redis-server, a Jupyter server) share these, so each says
only how to launch its program and how to tell that it is ready.
"""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Callable

from sse_nb.server.workers import stop_processes

__all__ = ["POLL_INTERVAL", "STOP_TIMEOUT", "accepts", "free_port", "stop_process", "wait_serving"]

#: Seconds a child process gets to exit after SIGTERM before it is killed.
STOP_TIMEOUT = 10.0
#: Seconds between two looks at a starting process: a start has no event to wait on.
POLL_INTERVAL = 0.05


def free_port() -> int:
    """A loopback port nothing listens on now (the OS picks it)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def accepts(port: int) -> bool:
    """Whether something accepts TCP connections on ``127.0.0.1:<port>``."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1.0):
            return True
    except OSError:
        return False


def wait_serving(
    proc: subprocess.Popen[bytes],
    ready: Callable[[], bool],
    *,
    what: str,
    timeout: float,
    log: Callable[[], str],
    interval: float = POLL_INTERVAL,
) -> None:
    """Return once ``ready()`` is true; raise, with ``log()``, if ``proc`` exits or time runs out.

    A process that does not get ready in ``timeout`` seconds is stopped before the error.
    """
    deadline = time.monotonic() + timeout
    while not ready():
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}:\n{log()}")
        if time.monotonic() > deadline:
            stop_process(proc)
            raise RuntimeError(f"{what} was not ready within {timeout:g} s:\n{log()}")
        time.sleep(interval)


def stop_process(proc: subprocess.Popen[bytes], timeout: float = STOP_TIMEOUT) -> None:
    """SIGTERM ``proc`` (by its PID) and wait; kill it if it has not exited in ``timeout`` s."""
    stop_processes([proc], timeout)
