"""A real nginx balancing event streams over several upstream servers, for tests.

``NginxBalancer(tmp, [port_a, port_b]).start()`` writes a config into ``tmp`` (pid file, logs
and temp paths there too; nothing outside it) and runs it with ``tests._nginx.run_nginx`` on a
free loopback port; ``stop()`` ends it by its PID.

The config is the one docs/scale-out.md recommends: HTTP/1.1 to the upstreams, no buffering,
a long read timeout, and ``proxy_next_upstream error timeout``, so a reconnect that reaches a
dead process is passed to the next one.
"""

from __future__ import annotations

from pathlib import Path

from tests._nginx import Nginx, run_nginx, stop_nginx
from tests.processes import free_port

#: Characters of nginx's error log that ``log()`` returns: the end, where a failure is told.
LOG_TAIL_CHARS = 3000

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


class NginxBalancer:
    """One nginx process in front of ``upstreams`` (loopback ports)."""

    def __init__(self, directory: Path, upstreams: list[int]) -> None:
        self.dir = directory
        self.upstreams = upstreams
        self.port = free_port()
        self.nginx: Nginx | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/events"

    def config(self) -> str:
        servers = "\n".join(
            f"        server 127.0.0.1:{p} max_fails=1 fail_timeout=60s;" for p in self.upstreams
        )
        return CONFIG.format(dir=self.dir, servers=servers, port=self.port)

    def start(self) -> NginxBalancer:
        self.nginx = run_nginx(self.dir, self.config(), self.port)
        return self

    def log(self) -> str:
        error_log = self.dir / "error.log"
        return error_log.read_text(errors="replace")[-LOG_TAIL_CHARS:] if error_log.exists() else ""

    def stop(self) -> None:
        nginx, self.nginx = self.nginx, None
        if nginx is not None:
            stop_nginx(nginx)
