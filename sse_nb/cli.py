"""The ``sse-nb`` command line: ``serve``, ``listen`` with resume, ``demo``, ``record``, ``play``,
``doctor``.

``sse-nb listen URL`` is what ``curl -N`` is not: when the connection drops it reconnects by
itself and sends ``Last-Event-ID``, so a server that keeps history replays what was missed.
``sse-nb demo`` plays the whole story (close, detect, resume) in one terminal and checks it.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.metadata
import json
import logging
import os
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import TYPE_CHECKING, Any

from .protocol import GAP_EVENT, Event, ReadyState, ReconnectPolicy

if TYPE_CHECKING:
    from .client.sync import EventSource
    from .server import ClientInfo
    from .server.app import EventServer

__all__ = ["main"]

#: A fixed default port, so that the commands of the tour can be copied as they are.
DEFAULT_PORT = 8765
#: How long the demo waits for any one step before it declares the step failed: far longer
#: than a step takes on a loaded machine, short enough that a fault ends the demo, not hangs it.
DEMO_STEP_TIMEOUT = 15.0
#: The demo's ticker period: fast enough to finish in a few seconds, slow enough to read.
DEMO_TICK = 0.05
#: Environment variable by which ``--workers`` hands the Redis URL to its worker processes (not
#: their command line, which every local user can read).
WORKER_URL_VARIABLE = "SSE_NB_REDIS_URL"
#: Environment variable holding a token for ``serve``, ``listen`` and ``doctor``: unlike a
#: command line (``--token``), the environment of a process is not readable by other local users.
TOKEN_VARIABLE = "SSE_NB_TOKEN"
#: The demo's reconnection delay (server ``retry:``), so the automatic reconnect is visible
#: but quick.
DEMO_RETRY_MS = 300


# -- shared pieces ------------------------------------------------------------------------------


# Lines come from the main thread and from the runtime thread (state changes): one lock and
# one write per line, so that they never interleave.
_print_lock = threading.Lock()


def _err(text: str) -> None:
    with _print_lock:
        sys.stderr.write(f"sse-nb: {text}\n")
        sys.stderr.flush()


def _out(text: str) -> None:
    with _print_lock:
        sys.stdout.write(f"{text}\n")
        sys.stdout.flush()


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


@contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM ends the command as Ctrl-C does: cleanly, with the server stopped."""
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _positive(kind: type[float] | type[int]) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be more than 0: {text!r}")
        return value

    parse.__name__ = kind.__name__
    return parse


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must be between 0 and 65535: {text!r}")
    return value


# -- tokens -------------------------------------------------------------------------------------


def _given_token(args: argparse.Namespace) -> str | None:
    """The token of ``--token``, else of ``--token-file`` (read), else of ``$SSE_NB_TOKEN``."""
    if args.token is not None:
        return str(args.token)
    if args.token_file is not None:
        try:
            with open(args.token_file, encoding="utf-8") as f:
                return f.read().strip() or None
        except OSError as exc:
            raise ValueError(f"cannot read the token file: {exc}") from None
    return os.environ.get(TOKEN_VARIABLE) or None


def _write_token(token: str, path: str | None) -> str:
    """Write ``token`` to ``path`` (a new private file when ``None``), readable by its owner
    only; returns the path."""
    if path is None:
        fd, path = tempfile.mkstemp(prefix="sse-nb-", suffix=".token")  # mode 0600
    else:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(token + "\n")
    return path


def _auth_headers(args: argparse.Namespace) -> dict[str, str]:
    token = _given_token(args)
    return {"Authorization": f"Bearer {token}"} if token else {}


def _add_token_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--token",
        metavar="TOKEN",
        help=f"send this token (other local users can read a command line: prefer "
        f"--token-file or ${TOKEN_VARIABLE})",
    )
    parser.add_argument("--token-file", metavar="PATH", help="read the token from this file")


# -- serve --------------------------------------------------------------------------------------


def _describe_client(info: ClientInfo) -> str:
    resumed = f", resuming after id {info.resumed_from!r}" if info.resumed_from else ""
    return f"client {info.id} from {info.remote}{resumed}"


def cmd_serve(args: argparse.Namespace) -> int:
    from .server import AUTO_TOKEN, EventServer, Ticker, mask_token
    from .server.tokens import resolve_token

    token_path: str | None = None
    if args.worker_index is not None:
        args.redis = os.environ.get(WORKER_URL_VARIABLE)
        args.token = os.environ.get(TOKEN_VARIABLE) or None
    else:
        given = args.token if args.token is not None else os.environ.get(TOKEN_VARIABLE)
        args.token = resolve_token(given or None)
        if args.token is not None and (given == AUTO_TOKEN or args.token_file is not None):
            try:
                token_path = _write_token(args.token, args.token_file)
            except OSError as exc:
                _err(f"cannot write the token file: {exc}")
                return 1
    if args.redis is not None and args.log is not None:
        _err("--redis and --log name two different logs: give one")
        return 2
    if args.workers > 1:
        if args.redis is None:
            _err("--workers needs --redis URL: the processes must share one event log")
            return 2
        from .server.workers import serve_workers

        return serve_workers(args, _out, _err)
    kwargs: dict[str, Any] = {"host": args.host, "port": args.port}
    for option in ("history", "heartbeat", "log"):
        if getattr(args, option) is not None:
            kwargs[option] = getattr(args, option)
    if args.retry is not None:
        kwargs["retry"] = args.retry
    if args.token is not None:
        kwargs["token"] = args.token
    where = ""
    try:
        if args.redis is not None:
            from .server.redis_log import RedisEventLog

            history = kwargs.pop("history", None)
            options: dict[str, Any] = {"prefix": args.redis_prefix}
            if history:
                options["maxlen"] = history
            log = RedisEventLog(args.redis, **options)
            kwargs["log"] = log
            kwargs["reuse_port"] = args.worker_index is not None
            where = f" with the event log {log.url}"
        server = EventServer(**kwargs)
        server.start()
    except (OSError, ValueError, ImportError) as exc:
        _err(f"cannot start the server: {exc}")
        return 1
    server.on_connect(lambda info: _out(f"connected: {_describe_client(info)}"))
    server.on_disconnect(
        lambda info: _out(
            f"closed: client {info.id} ({info.close_reason}), last id sent {info.last_event_id!r}"
        )
    )
    ticker = Ticker(server, args.ticker).start() if args.ticker else None
    listening = ", ".join(server.addresses)
    if server.token:
        # Never the whole token: output is often logged (a service manager, a shared terminal).
        where += f", token {mask_token(server.token)}"
        if token_path is not None:
            where += f" (the whole token is in {token_path}, readable by you only)"
    if any(not a.startswith(("127.", "[::1]", "localhost")) for a in server.addresses):
        # Bound beyond this machine: say where, not just the loopback URL (the server also
        # logs a warning to stderr).
        _out(f"serving {server.url}{where}  (listening on {listening}; Ctrl-C stops)")
    else:
        _out(f"serving {server.url}{where}  (Ctrl-C stops)")
    if not sys.stdin.isatty():
        threading.Thread(target=_publish_stdin, args=(server,), daemon=True).start()
    try:
        with _sigterm_as_interrupt():
            # Runs until Ctrl-C or SIGTERM; the wait wakes up so that signals are handled.
            forever = threading.Event()
            while not forever.wait(1.0):
                pass
    except KeyboardInterrupt:
        pass
    finally:
        if ticker is not None:
            ticker.stop()
        server.close()
        if token_path is not None and args.token_file is None:
            with contextlib.suppress(OSError):
                os.unlink(token_path)  # made for this run only
    _out(f"stopped after {server.published} events")
    return 0


def cmd_record(args: argparse.Namespace) -> int:
    from .client.sync import EventSource

    with EventSource(args.url) as es:
        try:
            recorder = es.record(args.output)
        except OSError as exc:
            _err(f"cannot write {args.output}: {exc}")
            return 1
        deadline = time.monotonic() + args.seconds if args.seconds else None
        _out(f"recording {args.url} to {args.output}  (Ctrl-C stops)")

        def done(es: EventSource) -> bool:
            return (
                es.ready_state is ReadyState.CLOSED
                or (args.count is not None and es.events_received >= args.count)
                or (deadline is not None and time.monotonic() >= deadline)
            )

        try:
            with _sigterm_as_interrupt():
                while True:  # one-second waits, so that Ctrl-C is handled promptly
                    try:
                        es.wait_for(done, timeout=1.0)
                        break
                    except TimeoutError:
                        continue
        except KeyboardInterrupt:
            pass
        finally:
            recorder.close()
        if es.error is not None and es.ready_state == ReadyState.CLOSED:
            _err(f"stream failed: {es.error}")
    _out(f"recorded {recorder.responses} response(s), {recorder.chunks} chunk(s)")
    return 0


def cmd_play(args: argparse.Namespace) -> int:
    from .protocol.recording import Recording
    from .server import EventServer

    try:
        recording = Recording.load(args.file)
        server = EventServer(host=args.host, port=args.port, heartbeat=None).start()
        url = server.play(recording, speed=None if args.speed == 0 else args.speed, name="r")
    except (OSError, ValueError) as exc:
        _err(f"cannot play {args.file}: {exc}")
        return 1
    _out(f"playing {args.file} at {url}  (Ctrl-C stops)")
    try:
        with _sigterm_as_interrupt():
            forever = threading.Event()
            while not forever.wait(1.0):
                pass
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
    return 0


def _publish_stdin(server: EventServer) -> None:
    """Each line of stdin becomes one event (its data, without the line break)."""
    count = 0
    for line in sys.stdin:
        if not server.running:
            return
        server.publish(line.rstrip("\r\n"))
        count += 1
    if count:  # an empty stdin (/dev/null, a service manager) is not worth a line
        _out(f"stdin ended after {count} line{'s' if count != 1 else ''}; still serving")


# -- listen -------------------------------------------------------------------------------------


def _format_event(ev: Event, as_json: bool) -> str:
    if as_json:
        return json.dumps(
            {"id": ev.id, "event": ev.type, "data": ev.data, "last_event_id": ev.last_event_id}
        )
    shown = ev.data.replace("\n", "\n    ")
    return f"[{ev.last_event_id}] {ev.type}: {shown}"


def cmd_listen(args: argparse.Namespace) -> int:
    from .client.sync import EventSource
    from .errors import SourceClosed, SSEError

    policy = ReconnectPolicy(
        delay=args.reconnect_delay, max_delay=args.max_delay, max_attempts=args.max_attempts
    )

    def on_state(t: Any) -> None:
        last = f" (last id {t.last_event_id!r})" if t.last_event_id else ""
        reason = f": {t.reason}" if t.reason else ""
        _err(f"{ReadyState(t.state).name}{reason}{last}")

    try:
        headers = _auth_headers(args)
    except ValueError as exc:
        _err(str(exc))
        return 2
    es = EventSource(
        args.url,
        last_event_id=args.last_event_id,
        idle_timeout=args.idle_timeout,
        reconnect=policy,
        headers=headers,
    )
    es.on("state", on_state)
    received, code = 0, 0
    try:
        with _sigterm_as_interrupt():
            # Events are taken from the client's queue, which holds them from the first byte
            # on (a callback added after the client started could miss a fast replay). Runs
            # until Ctrl-C, --count events, or the client stops; short waits keep signals live.
            while args.count is None or received < args.count:
                try:
                    ev = es.next(timeout=0.5)
                except TimeoutError:
                    continue
                except SourceClosed:
                    _err("stopped: the server said not to reconnect (HTTP 204)")
                    break
                except SSEError as exc:
                    _err(f"stopped: {exc}")
                    code = 1
                    break
                if ev.type == GAP_EVENT:
                    continue  # the client logs the gap as a warning, on stderr
                received += 1
                _out(_format_event(ev, args.json))
    except KeyboardInterrupt:
        pass
    finally:
        es.close()
    return code


# -- doctor -------------------------------------------------------------------------------------


def cmd_doctor(args: argparse.Namespace) -> int:
    from .lab.checkup import check_url

    try:
        token = _given_token(args)
    except ValueError as exc:
        _err(str(exc))
        return 2
    _out(f"watching {args.url} for {args.seconds:g} s ...")
    report = check_url(args.url, token=token, seconds=args.seconds)
    _out(str(report))
    return 0 if report.ok else 1


# -- demo ---------------------------------------------------------------------------------------


class _Watch:
    """Wakes a waiting thread whenever a client or the server reports something."""

    def __init__(self) -> None:
        self._cond = threading.Condition()

    def poke(self, *_: Any) -> None:
        with self._cond:
            self._cond.notify_all()

    def until(self, predicate: Callable[[], Any], what: str) -> Any:
        deadline = time.monotonic() + DEMO_STEP_TIMEOUT
        with self._cond:
            while not (value := predicate()):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"gave up after {DEMO_STEP_TIMEOUT:g} s waiting for {what}")
                # Callbacks can race the check above; a short cap keeps that harmless.
                self._cond.wait(min(left, 0.1))
            return value


def _say(step: str, text: str) -> None:
    _out(f"{step:>8}  {text}")


def cmd_demo(args: argparse.Namespace) -> int:
    from .client.sync import EventSource
    from .server import TICK_EVENT, EventServer, Ticker

    watch = _Watch()
    clients: list[EventSource] = []

    def received() -> list[str]:
        # From each client's own history, which holds events from the first byte on.
        return [
            r.event.id
            for c in clients
            for r in c.history
            if r.event.type == TICK_EVENT and r.event.id is not None
        ]

    def follow(es: EventSource) -> EventSource:
        clients.append(es)
        es.on("*", watch.poke)
        es.on("state", watch.poke)
        return es

    server = EventServer(heartbeat=1.0, retry=DEMO_RETRY_MS, history=args.history)
    server.start()
    server.on_change(watch.poke)
    ticker = Ticker(server, args.tick)
    try:
        es = follow(EventSource(server.url))
        watch.until(lambda: es.ready_state == ReadyState.OPEN, "the client to connect")
        ticker.start()  # only now, so that every event published is one the client should get
        _say("server", f"{server.url} publishes a tick every {args.tick:g} s")
        first = watch.until(lambda: received()[:5] if len(received()) >= 5 else None, "5 events")
        _say("client", f"OPEN, received ids {first[0]}..{first[-1]}")

        # 1. The client closes the connection itself.
        es.close()
        closed_at = time.monotonic()
        _say("close", f"client called close(): readyState {es.ready_state.name}")
        info = watch.until(lambda: _closed_client(server), "the server to see the close")
        took = (time.monotonic() - closed_at) * 1000
        _say(
            "detect",
            f"server: client {info.id} {info.state} ({info.close_reason}), "
            f"noticed within {took:.0f} ms",
        )
        last_seen = es.last_event_id
        target = server.published + 5
        watch.until(lambda: server.published >= target, "5 more events")
        _say(
            "missed",
            f"server published up to id {server.last_id()} while the client was "
            f"closed; it last saw id {last_seen}",
        )

        # 2. Resume: a new client carries the last id it saw.
        es2 = follow(EventSource(server.url, last_event_id=last_seen))
        upto = server.last_id() or ""
        watch.until(lambda: upto in received(), f"the replay up to id {upto}")
        _say(
            "resume",
            f"new client sent Last-Event-ID: {last_seen}; server replayed "
            f"{_next_id(last_seen)}..{upto}, then live",
        )

        # 3. A network failure: the server drops the connection, the client reconnects itself.
        before = es2.reconnects
        server.disconnect()
        watch.until(
            lambda: es2.reconnects > before or es2.ready_state == ReadyState.CONNECTING,
            "the client to notice the drop",
        )
        _say(
            "drop",
            f"server dropped the connection: client readyState CONNECTING, "
            f"retrying in {DEMO_RETRY_MS} ms with Last-Event-ID",
        )
        watch.until(
            lambda: es2.ready_state == ReadyState.OPEN and es2.reconnects > before,
            "the automatic reconnect",
        )
        _say("resume", f"client reconnected by itself after id {_resumed_from(server)}")

        ticker.stop()
        final = server.last_id() or ""
        watch.until(lambda: final in received(), f"the last event, id {final}")
    except TimeoutError as exc:
        _err(str(exc))
        for n, c in enumerate(clients, 1):
            _err(
                f"client {n}: {c.ready_state.name}, last id {c.last_event_id!r}, "
                f"{c.events_received} events, error {c.error!r}, "
                f"transitions {[(t.state.name, t.reason) for t in c.transitions]}"
            )
        for info in server.clients:
            _err(f"server sees {info}")
        return 1
    finally:
        ticker.stop()
        for c in clients:
            c.close()
        server.stop()

    published = [str(i) for i in range(1, server.published + 1)]
    got = received()
    lost = len(set(published) - set(got))
    duplicated = len(got) - len(set(got))
    _say(
        "result",
        f"published {len(published)}, received {len(got)}: {lost} lost, {duplicated} duplicated",
    )
    return 0 if lost == 0 and duplicated == 0 else 1


def _closed_client(server: EventServer) -> ClientInfo | None:
    closed = [c for c in server.clients if c.state == "closed"]
    return closed[-1] if closed else None


def _resumed_from(server: EventServer) -> str:
    live = [c for c in server.clients if c.state == "open"]
    return str(live[-1].resumed_from) if live else "?"


def _next_id(last: str) -> str:
    return str(int(last) + 1) if last.isdigit() else "?"


# -- entry point --------------------------------------------------------------------------------


def _version() -> str:
    """The installed distribution's version, which the build reads from ``sse_nb.__version__``.

    Read from the metadata because the package's face is above the command line's layer.
    """
    try:
        return importlib.metadata.version("sse_nb")
    except importlib.metadata.PackageNotFoundError:
        return "(not installed)"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sse-nb",
        description="Server-Sent Events from the terminal: a replaying server, a resumable "
        "listener, and a demo of close / detect / resume.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = sub.add_parser(
        "serve",
        help="run an event server (publishes stdin lines when stdin is not a terminal)",
        description="Run an SSE server that keeps history and replays it on Last-Event-ID. "
        "When stdin is not a terminal, each line read becomes one event.",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument(
        "--port",
        type=_port,
        default=DEFAULT_PORT,
        help=f"port (default {DEFAULT_PORT}; 0 picks a free one)",
    )
    serve.add_argument(
        "--ticker",
        type=_positive(float),
        metavar="S",
        help="also publish a counter every S seconds",
    )
    serve.add_argument("--history", type=_positive(int), metavar="N", help="events kept for replay")
    serve.add_argument(
        "--heartbeat", type=_positive(float), metavar="S", help="seconds between heartbeat comments"
    )
    serve.add_argument(
        "--retry",
        type=_positive(int),
        metavar="MS",
        help="reconnection delay the server asks clients to use",
    )
    serve.add_argument(
        "--log",
        metavar="PATH",
        help="SQLite file keeping the events, so a restarted server replays them",
    )
    serve.add_argument(
        "--redis",
        metavar="URL",
        help="share one event log on Redis Streams (redis://[user:password@]host:port/db) with "
        "other server processes; --history is then the stream's MAXLEN",
    )
    serve.add_argument(
        "--redis-prefix",
        default="sse_nb",
        metavar="PREFIX",
        help="key prefix of the streams, <PREFIX>:<channel> (default sse_nb)",
    )
    serve.add_argument(
        "--workers",
        type=_positive(int),
        default=1,
        metavar="N",
        help="run N server processes on one port (SO_REUSEPORT); needs --redis",
    )
    serve.add_argument(
        "--token",
        metavar="TOKEN|auto",
        help="require this token from every client (auto: a random one, written to a file "
        f"only you can read); also read from ${TOKEN_VARIABLE}",
    )
    serve.add_argument(
        "--token-file",
        metavar="PATH",
        help="write the token here (mode 0600) instead of a temporary file",
    )
    serve.add_argument("--worker-index", type=int, default=None, help=argparse.SUPPRESS)
    serve.set_defaults(func=cmd_serve)

    listen = sub.add_parser(
        "listen",
        help="print a stream's events; reconnect and resume with Last-Event-ID",
        description="Print the events of URL as they come. When the connection drops, "
        "reconnect and send Last-Event-ID so the server can replay what was missed. State "
        "changes go to stderr. Ctrl-C ends it.",
    )
    listen.add_argument("url", metavar="URL")
    listen.add_argument("--last-event-id", metavar="ID", help="resume after this id")
    listen.add_argument("--json", action="store_true", help="one JSON object per event")
    listen.add_argument("--count", type=_positive(int), metavar="N", help="exit after N events")
    listen.add_argument(
        "--idle-timeout",
        type=_positive(float),
        metavar="S",
        help="treat S seconds without a byte (heartbeats count) as a drop",
    )
    listen.add_argument(
        "--reconnect-delay",
        type=_positive(float),
        default=1.0,
        metavar="S",
        help="first reconnection delay when the server sent no retry: (default 1)",
    )
    listen.add_argument(
        "--max-delay",
        type=_positive(float),
        default=10.0,
        metavar="S",
        help="longest delay between attempts (default 10)",
    )
    listen.add_argument(
        "--max-attempts",
        type=_positive(int),
        metavar="N",
        help="give up after N failed attempts in a row (default: never)",
    )
    _add_token_options(listen)
    listen.set_defaults(func=cmd_listen)

    doctor = sub.add_parser(
        "doctor",
        help="check a stream as proxies see it: answer, framing, buffering header, Accept, "
        "heartbeats",
        description="Connect to URL for a while and report, with a fix for each finding: the "
        "answer, the headers proxies act on (X-Accel-Buffering), the body's framing, the Accept "
        "that reached the server (sse_nb's server echoes it), heartbeats and events arriving. "
        "The checks from a notebook page (routes through jupyter-server-proxy, HTTP version) "
        "are %sse_doctor's. Exit status 1 when something needs a fix.",
    )
    doctor.add_argument("url", metavar="URL")
    doctor.add_argument(
        "--seconds",
        type=_positive(float),
        default=20.0,
        metavar="S",
        help="how long to watch (default 20: longer than the default 15 s heartbeat)",
    )
    _add_token_options(doctor)
    doctor.set_defaults(func=cmd_doctor)

    demo = sub.add_parser(
        "demo",
        help="close, detect and resume, in one terminal",
        description="Start a server with a ticker and a client; close the client, watch the "
        "server notice, resume with Last-Event-ID, survive a dropped connection, and count "
        "what was lost (nothing).",
    )
    demo.add_argument(
        "--tick",
        type=_positive(float),
        default=DEMO_TICK,
        metavar="S",
        help=f"seconds between published events (default {DEMO_TICK:g})",
    )
    demo.add_argument(
        "--history",
        type=_positive(int),
        default=1000,
        metavar="N",
        help="events the server keeps for replay (default 1000)",
    )
    demo.set_defaults(func=cmd_demo)

    record = sub.add_parser(
        "record",
        help="record a stream (status, headers, raw chunks with their times) to a file",
        description="Connect to URL and write every response and chunk of bytes it sends, "
        "one JSON line each, until Ctrl-C, --count events or --seconds. `sse-nb play` serves "
        "the file back byte for byte.",
    )
    record.add_argument("url", metavar="URL")
    record.add_argument("-o", "--output", required=True, metavar="FILE")
    record.add_argument("--count", type=_positive(int), metavar="N", help="stop after N events")
    record.add_argument("--seconds", type=_positive(float), metavar="S", help="stop after S s")
    record.set_defaults(func=cmd_record)

    play = sub.add_parser(
        "play",
        help="serve a recording back, byte for byte, with its timing",
        description="Serve FILE (from `sse-nb record` or es.record()) at /play/r: each "
        "connection gets the next recorded response, its chunks at their recorded times.",
    )
    play.add_argument("file", metavar="FILE")
    play.add_argument(
        "--speed",
        type=float,
        default=1.0,
        metavar="X",
        help="play X times faster (default 1; 0 means as fast as possible)",
    )
    play.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    play.add_argument("--port", type=_port, default=DEFAULT_PORT, help="port (0: a free one)")
    play.set_defaults(func=cmd_play)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run ``sse-nb``; returns the exit status (0 also after Ctrl-C)."""
    args = build_parser().parse_args(argv)
    # Warnings of the server and client (a gap signal, a slow consumer) go to stderr, marked.
    logging.basicConfig(format="sse-nb: %(message)s", level=logging.WARNING)
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        return 0
