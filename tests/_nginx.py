"""A real nginx (the Debian package) in front of a server, for tests: config in a temp dir.

:func:`start_nginx` writes a configuration into a temporary directory (its pid file, logs and
temporary files stay there too), starts ``nginx`` in the foreground on a free loopback port and
returns once it accepts connections; :func:`stop_nginx` stops it by its PID. The location is
nginx's defaults plus what a site would set for a long-lived stream (a read timeout, and the
upstream's HTTP version); ``proxy_buffering`` is left on, as nginx ships it, so a server that
wants its events passed on one by one must say so in its own headers (``X-Accel-Buffering:
no``). Extra directives go into the location as given, e.g. ``proxy_ignore_headers
X-Accel-Buffering;`` to force buffering.

Usage::

    nginx = start_nginx(tmp_path, upstream_port=server.port, read_timeout=1.0)
    try:
        httpx.get(nginx.url + "events", ...)
    finally:
        stop_nginx(nginx)
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.processes import accepts, free_port, stop_process, wait_serving

__all__ = ["NGINX_START_TIMEOUT", "Nginx", "find_nginx", "run_nginx", "start_nginx", "stop_nginx"]

#: Seconds for nginx to accept connections: it starts in milliseconds, but the box is loaded.
NGINX_START_TIMEOUT = 20.0

_CONFIG = """\
worker_processes 1;
daemon off;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log info;
events {{ worker_connections 256; }}
http {{
    access_log {tmp}/access.log;
    client_body_temp_path {tmp}/client_body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://127.0.0.1:{upstream};
            proxy_http_version {http_version};
            proxy_set_header Host $host;
            proxy_set_header Connection "";
            proxy_read_timeout {read_timeout}s;
{directives}
        }}
    }}
}}
"""


@dataclass
class Nginx:
    """A running nginx."""

    url: str  # "http://127.0.0.1:PORT/"
    port: int
    process: subprocess.Popen[bytes]
    config: Path
    error_log: Path

    def log_tail(self, chars: int = 4000) -> str:
        return (
            self.error_log.read_text(errors="replace")[-chars:] if self.error_log.exists() else ""
        )


def find_nginx() -> str | None:
    """The nginx binary (Debian puts it in /usr/sbin, often not on a user's PATH)."""
    return shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if Path(p).exists()), None
    )


def start_nginx(
    tmp: Path,
    upstream_port: int,
    *,
    read_timeout: float = 60.0,
    http_version: str = "1.1",
    directives: tuple[str, ...] = (),
) -> Nginx:
    """Start nginx proxying everything to ``127.0.0.1:<upstream_port>``.

    ``read_timeout``: nginx's ``proxy_read_timeout`` (seconds of silence from the upstream
    before it gives up on a response). ``http_version``: what nginx speaks to the upstream
    (``"1.0"`` is nginx's default, ``"1.1"`` what a site set up for streams uses).
    ``directives``: more lines for the location.
    """
    port = free_port()
    config = _CONFIG.format(
        tmp=tmp,
        port=port,
        upstream=upstream_port,
        http_version=http_version,
        read_timeout=f"{read_timeout:g}",
        directives="\n".join(f"            {d}" for d in directives),
    )
    return run_nginx(tmp, config, port)


def run_nginx(tmp: Path, config: str, port: int) -> Nginx:
    """Run nginx in the foreground with ``config`` (which listens on ``port``) from ``tmp``.

    Returns once nginx accepts connections on ``port``.
    """
    binary = find_nginx()
    if binary is None:
        raise RuntimeError("nginx not found; scripts/test.sh installs it")
    tmp.mkdir(parents=True, exist_ok=True)
    config_path = tmp / "nginx.conf"
    config_path.write_text(config)
    error_log = tmp / "error.log"
    cmd = [binary, "-p", str(tmp), "-c", str(config_path), "-e", str(error_log)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    nginx = Nginx(f"http://127.0.0.1:{port}/", port, proc, config_path, error_log)
    wait_serving(
        proc, lambda: accepts(port), what="nginx", timeout=NGINX_START_TIMEOUT, log=nginx.log_tail
    )
    return nginx


def stop_nginx(nginx: Nginx) -> None:
    """Stop nginx by its PID (SIGTERM: fast shutdown), killing it if it does not exit."""
    stop_process(nginx.process)
