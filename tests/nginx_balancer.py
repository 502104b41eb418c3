"""A real nginx balancing event streams over several upstream servers, for tests.

``NginxBalancer(tmp, [port_a, port_b]).start()`` writes a config into ``tmp`` (pid file, logs
and temp paths there too; nothing outside it), runs ``nginx`` in the foreground on a free
loopback port and waits until it accepts connections; ``stop()`` ends it by its PID.

The config is the one docs/scale-out.md recommends: HTTP/1.1 to the upstreams, no buffering,
a long read timeout, and ``proxy_next_upstream error timeout``, so a reconnect that reaches a
dead process is passed to the next one.
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

#: Seconds nginx gets to accept connections after it is started, or to exit after SIGTERM.
START_TIMEOUT = 20.0

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"

CONFIG = """\
worker_processes 1;
daemon off;
master_process off;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log {dir}/access.log;
    client_body_temp_path {dir}/client_body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    upstream sse_nb {{
{servers}
    }}
    server {{
        listen 127.0.0.1:{port};
        location /events {{
            proxy_pass http://sse_nb;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
            proxy_buffering off;
            proxy_cache off;
            proxy_read_timeout 1h;
            proxy_next_upstream error timeout;
        }}
    }}
}}
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1.0):
            return True
    except OSError:
        return False


class NginxBalancer:
    """One nginx process in front of ``upstreams`` (loopback ports)."""

    def __init__(self, directory: Path, upstreams: list[int]) -> None:
        self.dir = directory
        self.upstreams = upstreams
        self.port = _free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/events"

    def config(self) -> str:
        servers = "\n".join(
            f"        server 127.0.0.1:{p} max_fails=1 fail_timeout=60s;" for p in self.upstreams
        )
        return CONFIG.format(dir=self.dir, servers=servers, port=self.port)

    def start(self) -> NginxBalancer:
        if not Path(NGINX).exists():
            raise RuntimeError("nginx is not installed; scripts/test.sh installs it")
        self.dir.mkdir(parents=True, exist_ok=True)
        conf = self.dir / "nginx.conf"
        conf.write_text(self.config())
        out = (self.dir / "nginx.out").open("ab")
        self.proc = subprocess.Popen(
            [NGINX, "-p", str(self.dir), "-c", str(conf), "-e", str(self.dir / "error.log")],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        out.close()
        deadline = time.monotonic() + START_TIMEOUT
        while not _accepts(self.port):
            if self.proc.poll() is not None:
                raise RuntimeError(f"nginx exited with {self.proc.returncode}: {self.log()}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"nginx did not listen within {START_TIMEOUT} s: {self.log()}")
            time.sleep(0.02)
        return self

    def log(self) -> str:
        parts = [p.read_text(errors="replace") for p in self.dir.glob("*.out")]
        err = self.dir / "error.log"
        if err.exists():
            parts.append(err.read_text(errors="replace"))
        return "\n".join(parts)[-3000:]

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(START_TIMEOUT)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            proc.wait(START_TIMEOUT)
