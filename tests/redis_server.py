"""A real ``redis-server`` for tests: a free loopback port, a temp dir, no persistence.

``RedisServer(tmp).start()`` runs ``redis-server`` in the foreground as a child process and
waits until it answers ``PING``; ``stop()`` ends it by its PID; ``start()`` again brings it back
on the same port (what an outage looks like to the servers using it).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
from pathlib import Path

from tests.processes import free_port, stop_process, wait_serving

#: Seconds redis-server gets to answer PING after it is started.
START_TIMEOUT = 20.0
#: Characters of redis-server's log shown when it fails to start: the end, where it says why.
LOG_TAIL_CHARS = 2000

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


def ping(port: int, password: str | None = None) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1.0) as s:
            if password is not None:
                s.sendall(f"AUTH {password}\r\n".encode())
                if not s.recv(64).startswith(b"+OK"):
                    return False
            s.sendall(b"PING\r\n")
            return s.recv(64).startswith(b"+PONG")
    except OSError:
        return False


class RedisServer:
    """One redis-server child process (``--save "" --appendonly no``: nothing on disk)."""

    def __init__(
        self, directory: Path, port: int | None = None, password: str | None = None
    ) -> None:
        self.dir = directory
        self.port = port or free_port()
        self.password = password
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        if not Path(REDIS_SERVER).exists():
            raise RuntimeError("redis-server is not installed; scripts/test.sh installs it")
        self.dir.mkdir(parents=True, exist_ok=True)
        log = (self.dir / "redis.log").open("ab")
        self.proc = subprocess.Popen(
            [
                REDIS_SERVER,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.dir),
                "--daemonize",
                "no",
                *(["--requirepass", self.password] if self.password else []),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        wait_serving(
            self.proc,
            lambda: ping(self.port, self.password),
            what="redis-server",
            timeout=START_TIMEOUT,
            log=lambda: (self.dir / "redis.log").read_text(errors="replace")[-LOG_TAIL_CHARS:],
        )
        return self

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None:
            stop_process(proc, START_TIMEOUT)
