"""The ``%load_ext sse_nb`` front door: line and cell magics that start, show and stop things.

Every server and client a magic starts is kept in one registry (per IPython shell) under a
short name, so that later magics can refer to it (``%sse_connect server``, ``%sse_close c1``)
and ``%unload_ext sse_nb`` can stop all of them. Bad input raises IPython's ``UsageError``,
which the shell prints as one line instead of a traceback.
"""

from __future__ import annotations

import html
import json
import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar, cast

from IPython.core import magic_arguments as _magic_arguments
from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, line_magic, magics_class
from IPython.display import display as _display

from .protocol import ReadyState

if TYPE_CHECKING:
    from .server import EventServer, Ticker

__all__ = ["SSEMagics", "load_ipython_extension", "unload_ipython_extension"]

_F = TypeVar("_F", bound=Callable[..., Any])

log = logging.getLogger("sse_nb.magics")

# IPython's argument helpers carry no type hints; these thin wrappers give them theirs.


def magic_arguments() -> Callable[[_F], _F]:
    return cast("Callable[[_F], _F]", _magic_arguments.magic_arguments())  # type: ignore[no-untyped-call]


def argument(*args: Any, **kwargs: Any) -> Callable[[_F], _F]:
    return cast("Callable[[_F], _F]", _magic_arguments.argument(*args, **kwargs))  # type: ignore[no-untyped-call]


def parse_argstring(func: Callable[..., Any], line: str) -> Any:
    return _magic_arguments.parse_argstring(func, line)  # type: ignore[no-untyped-call]


def display(*objs: Any) -> None:
    _display(*objs)  # type: ignore[no-untyped-call]


#: Names a magic invents when the user gives none: ``server``, ``server2``, ... and ``c1``, ...
SERVER_PREFIX = "server"
CLIENT_PREFIX = "c"

#: The shortest ticker period accepted: faster than this a teaching demo only floods the table.
MIN_TICKER_PERIOD = 0.01

_URL = re.compile(r"^https?://", re.IGNORECASE)
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# The options of %sse_publish come first; everything after them is the data, taken verbatim so
# that JSON keeps its quotes. ``--`` ends the options (for data that starts with "--").
_PUBLISH_OPTION = re.compile(
    r"""\s*--(?:event|id|to)(?:=|\s+)(?:"[^"]*"|'[^']*'|\S+)""",
)


@dataclass
class _Server:
    server: EventServer
    ticker: Ticker | None = None


@dataclass
class _Client:
    source: Any  # EventSource or BrowserEventSource
    url: str
    browser: bool
    server_name: str | None = None


def _parse(magics: Magics, name: str, line: str) -> Any:
    """Parse a magic's line with its ``magic_arguments`` parser; bad quotes are usage errors
    too. (Looked up by name: IPython's decorators hide the method's type.)"""
    try:
        return parse_argstring(getattr(magics, name), line)
    except ValueError as exc:  # shlex: "No closing quotation"
        raise UsageError(f"%{name}: {exc}") from None


def _state_name(state: object) -> str:
    if isinstance(state, ReadyState):
        return state.name
    try:
        return ReadyState(int(state)).name  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return str(state)


class StatusTable:
    """The result of ``%sse_status``: rows shown as an HTML table, or as text in a terminal."""

    HEADERS = ("kind", "name", "url", "state", "last id", "count", "detail")

    def __init__(self, rows: list[tuple[str, ...]]) -> None:
        self.rows = rows

    def __repr__(self) -> str:
        if not self.rows:
            return "no servers or clients started by %sse_ magics"
        table = [self.HEADERS, *self.rows]
        widths = [max(len(r[i]) for r in table) for i in range(len(self.HEADERS))]
        return "\n".join(
            "  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip()
            for r in table
        )

    def _repr_html_(self) -> str:
        if not self.rows:
            return f"<p>{html.escape(repr(self))}</p>"
        head = "".join(f"<th>{html.escape(h)}</th>" for h in self.HEADERS)
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in self.rows
        )
        return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


@magics_class
class SSEMagics(Magics):
    """The ``%sse_*`` magics and the registry of what they started."""

    def __init__(self, shell: Any) -> None:
        super().__init__(shell)
        self.servers: dict[str, _Server] = {}
        self.clients: dict[str, _Client] = {}

    # -- registry ---------------------------------------------------------------------------

    def _known(self) -> str:
        names = [*self.servers, *self.clients]
        return ", ".join(names) if names else "none yet"

    def _fresh_name(self, prefix: str, first: str) -> str:
        taken = set(self.servers) | set(self.clients)
        if first not in taken:
            return first
        n = 2
        while f"{prefix}{n}" in taken:
            n += 1
        return f"{prefix}{n}"

    def _check_new_name(self, name: str) -> None:
        if not _IDENTIFIER.match(name):
            raise UsageError(f"name {name!r} must be a Python identifier (letters, digits, _)")
        if name in self.servers or name in self.clients:
            raise UsageError(f"name {name!r} is already used; known names: {self._known()}")

    def _server(self, name: str | None) -> tuple[str, _Server]:
        if name is None:
            running = [n for n, s in self.servers.items() if s.server.running]
            if len(running) == 1:
                return running[0], self.servers[running[0]]
            if not running:
                raise UsageError("no running server; start one with %sse_serve")
            raise UsageError(f"several servers are running ({', '.join(running)}); use --to NAME")
        if name not in self.servers:
            raise UsageError(
                f"no server named {name!r}; known servers: {self._names(self.servers)}"
            )
        if not self.servers[name].server.running:
            raise UsageError(f"server {name!r} is stopped; start one with %sse_serve")
        return name, self.servers[name]

    @staticmethod
    def _names(d: dict[str, Any]) -> str:
        return ", ".join(d) if d else "none yet"

    def lookup(self, name: str) -> Any:
        """The server or client registered under ``name`` (for code next to the magics)."""
        if name in self.servers:
            return self.servers[name].server
        if name in self.clients:
            return self.clients[name].source
        raise UsageError(f"no server or client named {name!r}; known names: {self._known()}")

    def stop_all(self) -> tuple[int, int]:
        """Close every client, then stop every server (what ``%unload_ext`` does).

        One that fails to stop is logged and does not keep the others running. Returns how
        many clients and servers there were.
        """
        counts = len(self.clients), len(self.servers)
        stops: list[tuple[str, Callable[[], None]]] = [
            (name, c.source.close) for name, c in self.clients.items()
        ]
        for name, s in self.servers.items():
            if s.ticker is not None:
                stops.append((name, s.ticker.stop))
            stops.append((name, s.server.close))  # stop, and release its log file
        for name, stop in stops:
            try:
                stop()
            except Exception:
                log.exception("sse_nb: stopping %s failed", name)
        self.clients.clear()
        self.servers.clear()
        return counts

    # -- magics -----------------------------------------------------------------------------

    @magic_arguments()
    @argument("--port", type=int, default=0, help="TCP port (0 picks a free one)")
    @argument("--history", type=int, default=None, help="events kept for replay")
    @argument("--heartbeat", type=float, default=None, help="seconds between heartbeat comments")
    @argument(
        "--ticker",
        type=float,
        default=None,
        metavar="SECONDS",
        help="publish a counter every SECONDS (a demo source of events)",
    )
    @argument(
        "--log",
        default=None,
        metavar="PATH",
        help="SQLite file that keeps the events across restarts",
    )
    @argument(
        "--redis",
        default=None,
        metavar="URL",
        help="share one event log on Redis Streams with other servers (--history: its MAXLEN)",
    )
    @argument(
        "--token",
        default=None,
        metavar="TOKEN|auto",
        help="require this token (auto: a random one); clients made here send it",
    )
    @argument("--name", default=None, help="name used by the other magics (default: server)")
    @line_magic
    def sse_serve(self, line: str) -> None:
        """Start an EventServer on 127.0.0.1 and show its panel."""
        args = _parse(self, "sse_serve", line)
        name = args.name or self._fresh_name(SERVER_PREFIX, SERVER_PREFIX)
        self._check_new_name(name)
        if not 0 <= args.port <= 65535:
            raise UsageError(f"--port {args.port}: must be between 0 and 65535")
        if args.history is not None and args.history < 1:
            raise UsageError(f"--history {args.history}: must be at least 1")
        if args.heartbeat is not None and args.heartbeat <= 0:
            raise UsageError(f"--heartbeat {args.heartbeat}: must be more than 0 seconds")
        if args.ticker is not None and args.ticker < MIN_TICKER_PERIOD:
            raise UsageError(f"--ticker {args.ticker}: must be at least {MIN_TICKER_PERIOD} s")
        from .server import EventServer, Ticker

        kwargs: dict[str, Any] = {"port": args.port, "name": name}
        if args.history is not None:
            kwargs["history"] = args.history
        if args.heartbeat is not None:
            kwargs["heartbeat"] = args.heartbeat
        if args.log is not None:
            kwargs["log"] = args.log
        if args.token is not None:
            kwargs["token"] = args.token
        if args.redis is not None:
            if args.log is not None:
                raise UsageError("--redis and --log name two different logs: give one")
            from .server import RedisEventLog

            maxlen = kwargs.pop("history", None)
            try:
                kwargs["log"] = RedisEventLog(args.redis, **({"maxlen": maxlen} if maxlen else {}))
            except (ImportError, ValueError) as exc:
                raise UsageError(f"%sse_serve: {exc}") from None
        try:
            server = EventServer(**kwargs).start()
        except (OSError, ValueError) as exc:
            raise UsageError(f"%sse_serve: cannot start the server: {exc}") from None
        entry = _Server(server)
        if args.ticker is not None:
            entry.ticker = Ticker(server, args.ticker).start()
        self.servers[name] = entry
        from .widgets import ServerPanel

        display(ServerPanel(server))

    @magic_arguments()
    @argument("target", metavar="URL|NAME", help="an http(s) URL, or a server's name")
    @argument("--last-event-id", default=None, metavar="ID", help="resume after this id")
    @argument(
        "--idle-timeout",
        type=float,
        default=None,
        metavar="S",
        help="reconnect when nothing (not even a heartbeat) arrives for S seconds",
    )
    @argument(
        "--browser",
        action="store_true",
        help="use the browser's own EventSource (a widget) instead of the Python client",
    )
    @argument(
        "--as",
        dest="var",
        default=None,
        metavar="VAR",
        help="also bind the client to this variable",
    )
    @line_magic
    def sse_connect(self, line: str) -> None:
        """Open a client (Python, or the browser's with --browser) and show its panel."""
        args = _parse(self, "sse_connect", line)
        server_name: str | None = None
        if args.target in self.servers:
            server_name = args.target
            if not self.servers[server_name].server.running:
                raise UsageError(f"server {server_name!r} is stopped; start one with %sse_serve")
            url = self.servers[args.target].server.url
        elif _URL.match(args.target):
            url = args.target
        else:
            raise UsageError(
                f"{args.target!r} is neither an http(s) URL nor a server name; "
                f"known servers: {self._names(self.servers)}"
            )
        if args.idle_timeout is not None and args.idle_timeout <= 0:
            raise UsageError(f"--idle-timeout {args.idle_timeout}: must be more than 0 seconds")
        if args.browser and args.idle_timeout is not None:
            raise UsageError("--idle-timeout applies to the Python client, not to --browser")
        if args.var is not None:
            name = args.var
        else:
            name = self._fresh_name(CLIENT_PREFIX, f"{CLIENT_PREFIX}1")
        self._check_new_name(name)
        view: Any
        if args.browser:
            from .server import TICK_EVENT
            from .widgets import BrowserEventSource

            # Given the server itself, the widget can allow the page's origin and tell the
            # server when the page closes; a ticker's events are of the named type "tick".
            target: Any = url if server_name is None else self.servers[server_name].server
            ticking = server_name is not None and self.servers[server_name].ticker is not None
            source: Any = BrowserEventSource(
                target,
                last_event_id=args.last_event_id,
                event_types=(TICK_EVENT,) if ticking else (),
            )
            view = source
        else:
            from .client.sync import EventSource
            from .widgets import ClientPanel

            try:
                # Given the server itself, the client sends its token (if any).
                source = EventSource(
                    url if server_name is None else self.servers[server_name].server,
                    last_event_id=args.last_event_id,
                    idle_timeout=args.idle_timeout,
                )
            except ValueError as exc:
                raise UsageError(f"%sse_connect: {exc}") from None
            view = ClientPanel(source)
        self.clients[name] = _Client(source, url, args.browser, server_name)
        if args.var is not None and self.shell is not None:
            self.shell.user_ns[args.var] = source
        display(view)

    @magic_arguments()
    @argument("--event", default=None, metavar="TYPE", help="event type (default: message)")
    @argument("--id", default=None, help="event id (default: the server's next number)")
    @argument("--to", default=None, metavar="NAME", help="server name (needed when several run)")
    @argument(
        "data",
        nargs="*",
        help="the data, taken verbatim (JSON keeps its quotes; put -- before data starting "
        "with -). As a cell magic: one event per blank-line separated block, or each item of "
        "a JSON list (strings as they are, other values as JSON)",
    )
    @line_cell_magic
    def sse_publish(self, line: str, cell: str | None = None) -> None:
        """Publish events to a server started with %sse_serve."""
        if cell is None:
            options, data = _split_publish(line)
            args = _parse(self, "sse_publish", options)
            if not data:
                raise UsageError("%sse_publish needs DATA (or use %%sse_publish for a cell)")
            items = [data]
        else:
            args = _parse(self, "sse_publish", line)
            if args.data:
                raise UsageError("%%sse_publish: the data goes in the cell, not on the line")
            items = _cell_events(cell)
            if not items:
                raise UsageError("%%sse_publish: the cell holds no event")
            if args.id is not None and len(items) > 1:
                raise UsageError(
                    f"%%sse_publish: --id given but the cell holds {len(items)} events"
                )
        name, entry = self._server(args.to)
        ids = self._publish(entry.server, items, event=args.event, id=args.id)
        shown = ids[0] if len(ids) == 1 else f"{ids[0]}..{ids[-1]}"
        plural = "s" if len(ids) != 1 else ""
        print(f"published {len(ids)} event{plural} (id {shown}) to {name}")

    @staticmethod
    def _publish(
        server: EventServer, items: list[str], *, event: str | None, id: str | None
    ) -> list[str]:
        try:
            return [server.publish(item, event=event, id=id) for item in items]
        except (ValueError, TypeError) as exc:
            raise UsageError(f"cannot publish: {exc}") from None

    @magic_arguments()
    @argument("name", nargs="?", default=None, help="a client (closed) or server (stopped)")
    @argument("--all", action="store_true", help="close every client and stop every server")
    @line_magic
    def sse_close(self, line: str) -> None:
        """Close a client (its readyState becomes CLOSED) or stop a server."""
        args = _parse(self, "sse_close", line)
        if args.all:
            if args.name is not None:
                raise UsageError("%sse_close: give a NAME or --all, not both")
            clients, servers = self.stop_all()
            print(f"closed {clients} client(s), stopped {servers} server(s)")
            return
        name = args.name
        if name is None:
            open_clients = [n for n, c in self.clients.items() if not self._is_closed(c)]
            if len(open_clients) != 1:
                raise UsageError(
                    "%sse_close needs NAME or --all; open clients: "
                    + (", ".join(open_clients) or "none")
                )
            name = open_clients[0]
        if name in self.clients:
            self.clients[name].source.close()
            print(f"closed {name}")
        elif name in self.servers:
            entry = self.servers[name]
            if entry.ticker is not None:
                entry.ticker.stop()
            entry.server.close()  # stop, and release its log file for the next server
            print(f"stopped {name}")
        else:
            raise UsageError(f"no server or client named {name!r}; known names: {self._known()}")

    @staticmethod
    def _is_closed(c: _Client) -> bool:
        state = c.source.ready_state
        return _state_name(state) == "CLOSED"

    @magic_arguments()
    @argument("name", help="a client to reconnect with its last event id")
    @line_magic
    def sse_resume(self, line: str) -> None:
        """Reconnect a client with Last-Event-ID set to the last id it saw: the server replays
        what it missed."""
        args = _parse(self, "sse_resume", line)
        if args.name not in self.clients:
            raise UsageError(
                f"no client named {args.name!r}; known clients: {self._names(self.clients)}"
            )
        entry = self.clients[args.name]
        if entry.server_name is not None and not self.servers[entry.server_name].server.running:
            raise UsageError(f"server {entry.server_name!r} is stopped; nothing to resume from")
        if entry.browser:
            entry.source.open()  # the page sends its last id as the lastEventId parameter
        else:
            entry.source.reconnect()
        last = entry.source.last_event_id
        print(f"resuming {args.name} after id {last!r}" if last else f"reconnecting {args.name}")

    @line_magic
    def sse_status(self, line: str) -> StatusTable:
        """A table of the servers and clients started by the magics, with their state."""
        if line.strip():
            raise UsageError("%sse_status takes no arguments")
        return StatusTable(list(self._rows()))

    @line_magic
    def sse_doctor(self, line: str) -> Any:
        """Check the routes from this page to a server in the kernel (direct, and through
        jupyter-server-proxy): reach, time to arrival, buffering, heartbeats, HTTP version and
        the page's connections per origin; each finding with its fix. The report fills in
        after the cell finishes."""
        routes = tuple(line.split()) or ("direct", "proxy")
        from .lab.checkup import ROUTES, Doctor

        if any(r not in ROUTES for r in routes):
            raise UsageError(f"%sse_doctor [ROUTE ...]: routes are {', '.join(ROUTES)}")
        return Doctor(routes)

    @line_magic
    def sse_conformance(self, line: str) -> Any:
        """Serve the standard's cases from this kernel and run them against sse_nb's client and,
        when installed, httpx-sse and requests-sse: a pass/fail grid that fills in live."""
        if line.strip():
            raise UsageError("%sse_conformance takes no arguments")
        from .lab.conformance import Conformance

        return Conformance().run()

    def _rows(self) -> Iterator[tuple[str, ...]]:
        from .server import mask_token

        for name, s in self.servers.items():
            srv = s.server
            live = [c for c in srv.clients if c.state == "open"]
            state = "running" if srv.running else "stopped"
            ticker = f", ticker {s.ticker.period:g} s" if s.ticker else ""
            failure = srv.log_error  # e.g. "log unavailable since ..." for a Redis log
            trouble = f", {failure}" if failure is not None else ""
            token = f", token {mask_token(srv.token)}" if srv.token else ""
            yield (
                "server",
                name,
                srv.url,
                state,
                str(srv.last_id() or ""),
                f"{srv.published} published",
                f"{len(live)} open client{'s' if len(live) != 1 else ''}{ticker}{token}{trouble}",
            )
        for name, c in self.clients.items():
            src = c.source
            detail = "browser" if c.browser else "python"
            if not c.browser and src.error is not None:
                detail += f", error: {src.error}"
            count = src.events_received
            yield (
                "client",
                name,
                c.url,
                _state_name(src.ready_state),
                str(src.last_event_id or ""),
                f"{count} received",
                detail,
            )


def _split_publish(line: str) -> tuple[str, str]:
    """Split ``%sse_publish``'s line into its leading options and the verbatim data."""
    pos = 0
    while m := _PUBLISH_OPTION.match(line, pos):
        pos = m.end()
    rest = line[pos:].strip()
    if rest == "--" or rest.startswith("-- "):
        rest = rest[2:].strip()
    elif rest.startswith("-"):
        first = rest.split()[0]
        raise UsageError(
            f"%sse_publish: unknown option {first!r} (options: --event, --id, --to; "
            "put -- before data that starts with -)"
        )
    return line[:pos], rest


def _cell_events(cell: str) -> list[str]:
    """The events of a ``%%sse_publish`` cell: a JSON list, or blank-line separated blocks."""
    text = cell.strip()
    if text.startswith("["):
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            value = None
        if isinstance(value, list):
            return [v if isinstance(v, str) else json.dumps(v) for v in value]
    blocks = re.split(r"\n(?:[ \t]*\n)+", text)
    return [b.strip("\n") for b in blocks if b.strip()]


def _registered(shell: Any) -> SSEMagics | None:
    found = shell.magics_manager.registry.get(SSEMagics.__name__)
    return found if isinstance(found, SSEMagics) else None


def load_ipython_extension(ipython: Any) -> None:
    """Register the magics; a second load keeps the registry of the first."""
    if _registered(ipython) is None:
        ipython.register_magics(SSEMagics(ipython))


def unload_ipython_extension(ipython: Any) -> None:
    """Stop every server and client the magics started, then remove the magics."""
    magics = _registered(ipython)
    if magics is None:
        return
    try:
        magics.stop_all()
    finally:
        manager = ipython.magics_manager
        for kind, names in magics.magics.items():
            for name in names:
                manager.magics[kind].pop(name, None)
        manager.registry.pop(SSEMagics.__name__, None)
