"""``sse-nb serve --redis URL --workers N``: N server processes on one port, one shared log.

The parent process binds the port first with ``SO_REUSEPORT`` (so port 0 picks one port for
all), starts N workers (``python -m sse_nb serve --worker-index i``) that bind the same port with
``SO_REUSEPORT`` and share the Redis event log, and relays their output lines, each marked
``[worker i]``. The kernel spreads new connections over the workers; a client that reconnects
may land on any of them and resumes from the shared log. The parent publishes the lines of its
stdin (when it is not a terminal) through a ``RedisPublisher``; ``--ticker`` runs in worker 0.
Ctrl-C or SIGTERM stops every worker (by PID); a worker that exits by itself stops the rest.

The Redis URL and the token reach the workers in environment variables, never on a command
line; the URL is printed only with its password replaced.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from typing import IO, Any

from .publisher import RedisPublisher, redact_url

__all__ = [
    "TOKEN_VARIABLE",
    "WORKER_START_TIMEOUT",
    "WORKER_STOP_TIMEOUT",
    "serve_workers",
    "stop_processes",
]

#: Seconds a worker gets to say it is serving: an import and a bind, on a loaded machine.
WORKER_START_TIMEOUT = 60.0
#: Seconds a worker gets to stop after SIGTERM before it is killed.
WORKER_STOP_TIMEOUT = 10.0
#: Environment variable carrying the Redis URL to the workers (``cli.WORKER_URL_VARIABLE``).
_URL_VARIABLE = "SSE_NB_REDIS_URL"
#: Environment variable carrying the token to the workers (``cli.TOKEN_VARIABLE``), for the
#: same reason: a command line is readable by every local user.
TOKEN_VARIABLE = "SSE_NB_TOKEN"

Say = Callable[[str], None]


def _hold_port(host: str, port: int) -> socket.socket:
    """Bind (not listen) with SO_REUSEPORT: picks the port for port 0 and keeps it ours."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def _worker_argv(args: argparse.Namespace, port: int, index: int) -> list[str]:
    argv = [sys.executable, "-m", "sse_nb", "serve", "--host", args.host, "--port", str(port)]
    argv += ["--worker-index", str(index), "--redis-prefix", args.redis_prefix]
    for option in ("history", "heartbeat", "retry"):
        value = getattr(args, option)
        if value is not None:
            argv += [f"--{option}", str(value)]
    if args.ticker and index == 0:
        argv += ["--ticker", str(args.ticker)]
    return argv


def _relay(index: int, stream: IO[str], out: Say, ready: threading.Event) -> None:
    for line in stream:
        line = line.rstrip("\n")
        if line.startswith("serving "):
            ready.set()
        out(f"[worker {index}] {line}")


def stop_processes(
    procs: Sequence[subprocess.Popen[Any]], timeout: float = WORKER_STOP_TIMEOUT
) -> None:
    """SIGTERM each process still running, then wait ``timeout`` s for each; SIGKILL the ones
    that are still there (a process that ignores SIGTERM must not hold its port forever)."""
    for proc in procs:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            proc.wait(timeout)


def serve_workers(args: argparse.Namespace, out: Say, err: Say) -> int:
    """Run ``args.workers`` server processes until Ctrl-C, SIGTERM or one of them exits."""
    url: str = args.redis
    try:
        holder = _hold_port(args.host, args.port)
    except OSError as exc:
        err(f"cannot bind {args.host}:{args.port}: {exc}")
        return 1
    port = holder.getsockname()[1]
    env = {**os.environ, _URL_VARIABLE: url}
    if getattr(args, "token", None):
        env[TOKEN_VARIABLE] = args.token  # resolved already: every worker has the same token
    procs: list[subprocess.Popen[str]] = []
    ready: list[threading.Event] = []
    stopping = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    try:
        for i in range(args.workers):
            proc = subprocess.Popen(
                _worker_argv(args, port, i),
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                text=True,
                bufsize=1,
            )
            procs.append(proc)
            ready.append(threading.Event())
            assert proc.stdout is not None
            threading.Thread(
                target=_relay, args=(i, proc.stdout, out, ready[-1]), daemon=True
            ).start()
        for i, (proc, event) in enumerate(zip(procs, ready, strict=True)):
            # Bounded: a worker either says it serves or exits, within the timeout.
            waited = 0.0
            while not event.wait(0.1) and proc.poll() is None and waited < WORKER_START_TIMEOUT:
                waited += 0.1
            if not event.is_set():
                err(f"worker {i} did not start (exit code {proc.poll()})")
                return 1
        shown = "127.0.0.1" if args.host in ("", "0.0.0.0") else args.host
        out(
            f"serving http://{shown}:{port}/events with {args.workers} workers sharing the "
            f"event log {redact_url(url)}  (Ctrl-C stops)"
        )
        if not sys.stdin.isatty():
            threading.Thread(
                target=_publish_stdin, args=(url, args.redis_prefix, out, err), daemon=True
            ).start()
        try:
            # Wakes every half second to notice a signal or a worker that exited.
            while not stopping.wait(0.5):
                dead = [i for i, p in enumerate(procs) if p.poll() is not None]
                if dead:
                    err(f"worker {dead[0]} exited with code {procs[dead[0]].returncode}; stopping")
                    return 1
        except KeyboardInterrupt:
            pass
        return 0
    finally:
        signal.signal(signal.SIGTERM, previous)
        stop_processes(procs)
        holder.close()
        out(f"stopped {len(procs)} workers")


def _publish_stdin(url: str, prefix: str, out: Say, err: Say) -> None:
    """Each stdin line becomes one event, appended to the shared log."""
    count = 0
    try:
        with RedisPublisher(url, prefix=prefix) as pub:
            for line in sys.stdin:
                pub.publish(line.rstrip("\r\n"))
                count += 1
    except Exception as exc:  # reported; the workers keep serving
        err(f"publishing stdin stopped: {exc}")
        return
    if count:
        out(f"stdin ended after {count} line{'s' if count != 1 else ''}; still serving")
