"""``EventServer``: the server's face and lifecycle: publish, serve, replay, track every client.

Threads: the server lives on one event loop (sse_nb's runtime thread unless mounted into an
existing Tornado app). ``publish()`` may be called from any thread, that loop's thread included
(callbacks run there); the :class:`~sse_nb.server.channels.Pipeline` numbers events on the
caller's thread and hands them to the sockets on the loop. Everything that touches sockets, the
log or the subscriber sets runs on the loop thread.

The parts it composes, one module each: ``channels`` (numbering and the publish pipeline),
``opening`` (a stream's first bytes), ``registry`` (clients and their close reasons), ``cors``,
``handler`` (HTTP checks, talking to this class through ``seam.StreamHost``). A log many
processes share (``redis_log``) plugs in through ``shared.SharedLog``: it numbers the events
and feeds subscribers itself, so ``publish()`` and ``open_stream()`` hand those two jobs to it.
"""

from __future__ import annotations

import asyncio
import collections
import ipaddress
import logging
import threading
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

import tornado.httpserver
import tornado.netutil
import tornado.web

from .._display import panel_bundle
from ..protocol import check_retry, encode_comment
from ..protocol.recording import Recording
from .channels import (
    CHANNEL_PATTERN,
    MAX_PENDING_EVENTS,
    Channel,
    Pipeline,
    event_text,
    valid_channel,
)
from .connection import MAX_QUEUED_BYTES, ClientInfo, Connection
from .cors import CorsPolicy
from .faults import Answer, Faults
from .handler import EventStreamHandler, hide_token, host_allowed
from .hooks import Callback, Hooks
from .listener import (
    BODY_TIMEOUT,
    HEADER_TIMEOUT,
    MAX_HEADER_BYTES,
    MAX_REQUEST_BODY,
    Listener,
    default_max_connections,
)
from .log import DEFAULT_HISTORY, EventLog, MemoryLog, Replay, SQLiteLog
from .loop import CALL_TIMEOUT, LoopHandle
from .opening import is_malformed, opening
from .play import PLAY_PREFIX, Player
from .reasons import CloseReason
from .registry import MAX_CLOSED_CLIENTS, ClientRegistry
from .seam import StreamRequest
from .shared import SharedLog

__all__ = [
    "DEFAULT_HISTORY",
    "FINAL_LINGER",
    "MAX_CLOSED_CLIENTS",
    "MAX_PENDING_EVENTS",
    "MAX_REPLAYS_IN_FLIGHT",
    "PUBLISH_WAIT",
    "ClientInfo",
    "EventServer",
]

#: Longest ``publish()`` waits for the loop to catch up, so a stuck loop slows a publisher
#: down but never hangs it.
PUBLISH_WAIT = 5.0
#: Replays being sent at once; later ones wait their turn (their clients registered, live events
#: queued behind). Each costs at most one ``REPLAY_PIECE`` outside the log, so this bounds what a
#: crowd of resuming (or hostile) clients can hold, without refusing anyone: a browser takes any
#: answer but 200 as "stop reconnecting".
MAX_REPLAYS_IN_FLIGHT = 16
#: Seconds ``stop(final=True)`` keeps answering 204 before freeing the port: longer than a
#: browser's default reconnection delay (a few seconds), so reconnecting clients hear "stop".
FINAL_LINGER = 5.0

_HEARTBEAT = encode_comment("")
logger = logging.getLogger("sse_nb.server")
access_log = logging.getLogger("tornado.access")


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def _log_request(handler: tornado.web.RequestHandler) -> None:
    """Tornado's access log line, with any ``?token=`` hidden (also on 404s of other paths)."""
    status = handler.get_status()
    if status < 400:
        log = access_log.info
    elif status < 500:
        log = access_log.warning
    else:
        log = access_log.error
    request = handler.request
    log(
        "%d %s %s (%s) %.2fms",
        status,
        request.method,
        hide_token(request.uri or ""),
        request.remote_ip,
        1000.0 * request.request_time(),
    )


class _LogHost:
    """What a shared log may ask of its server (``shared.LogHost``), on the loop thread."""

    __slots__ = ("server",)

    def __init__(self, server: EventServer) -> None:
        self.server = server

    def deliver(self, channel: str, data: bytes, count: int, last_id: str) -> None:
        ch = self.server._pipeline.channels.get(channel)
        if ch is not None:
            for conn in list(ch.subscribers):
                conn.send(data, count, last_id)
        self.server._hooks.changed()

    def resync(self, channel: str) -> int:
        ch = self.server._pipeline.channels.get(channel)
        if ch is None:
            return 0
        return sum(c.close(CloseReason.DROPPED_BY_SERVER) for c in list(ch.subscribers))

    def changed(self) -> None:
        self.server._hooks.changed()


class EventServer:
    """A Server-Sent Events server that replays by ``Last-Event-ID`` and tracks its clients.

    >>> with EventServer() as server:                        # doctest: +SKIP
    ...     server.publish({"price": 3})                       # id "1", data '{"price": 3}'
    ...     print(server.url)                                  # http://127.0.0.1:PORT/events

    Parameters not obvious from their names:

    ``history``: events kept per channel for replay.
    ``heartbeat``: seconds between comment lines on an idle stream (``None`` or 0: off); they
    also keep bytes in flight, which is how a peer that vanished without FIN or RST is
    detected (TCP_USER_TIMEOUT).
    ``retry``: reconnection delay in ms, sent as ``retry:`` on connect.
    ``cors``: ``None``, ``"*"`` or a list of allowed origins (see :meth:`allow_origin`).
    ``token``: when set, requests need ``Authorization: Bearer <token>`` or ``?token=``
    (else 401); an empty token is refused.
    ``log``: an :class:`EventLog`, or a file path for a SQLite log (replay survives restarts).
    ``queue_limit``: bytes a client may fall behind before it is dropped as a slow consumer.
    ``max_connections``: open connections beyond which new ones are answered 503 with
    ``Retry-After`` (default: the file descriptors still free at ``start()``, less a reserve).
    ``allowed_hosts``: ``Host`` names answered besides ``localhost``, IP addresses and the bound
    host (``"*"``: any); other names get 403, which stops DNS rebinding (``docs/security.md``).
    ``reuse_port``: bind with ``SO_REUSEPORT``, so several processes serve one port (with a
    shared log such as ``RedisEventLog``; see docs/scale-out.md).

    Ending for good: :meth:`close_channel` and ``stop(final=True)`` answer later (re)connects with
    204 No Content, which tells browsers (and sse_nb's client) to stop reconnecting.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        history: int = DEFAULT_HISTORY,
        heartbeat: float | None = 15.0,
        retry: int | None = None,
        cors: str | list[str] | tuple[str, ...] | None = None,
        token: str | None = None,
        log: EventLog | str | Path | None = None,
        name: str | None = None,
        queue_limit: int = MAX_QUEUED_BYTES,
        reuse_port: bool = False,
        max_connections: int | None = None,
        allowed_hosts: str | list[str] | tuple[str, ...] | None = None,
    ) -> None:
        if retry is not None:
            check_retry(retry)
        if heartbeat is not None and heartbeat < 0:
            raise ValueError(f"heartbeat must be >= 0 seconds or None, not {heartbeat!r}")
        if token is not None and (not isinstance(token, str) or not token.strip()):
            raise ValueError(
                "token must be a non-empty str (an empty one would let `?token=` in); "
                "use token=None for no token"
            )
        if max_connections is not None and (
            isinstance(max_connections, bool)
            or not isinstance(max_connections, int)
            or max_connections < 1
        ):
            raise ValueError(f"max_connections must be a positive int, not {max_connections!r}")
        self.max_connections = max_connections
        if allowed_hosts == "*":
            self._any_host = True
            self._hosts: frozenset[str] = frozenset()
        else:
            self._any_host = False
            names = [allowed_hosts] if isinstance(allowed_hosts, str) else list(allowed_hosts or [])
            if not all(isinstance(n, str) and n and not is_malformed(n) for n in names):
                raise ValueError(f"allowed_hosts must be host names, not {allowed_hosts!r}")
            plain = {n.lower().rstrip(".") for n in names}
            self._hosts = frozenset(plain | {f"{n}." for n in plain})
        self._listener: Listener | None = None
        self._replays_active: set[Connection] = set()
        self._replays_waiting: collections.deque[Connection] = collections.deque()
        self.host, self._requested_port, self._port = host, port, None
        self.heartbeat, self.retry, self.token = heartbeat or None, retry, token
        self.queue_limit = queue_limit
        self._name = name
        self._cors = CorsPolicy(cors)
        if log is None or isinstance(log, (str, Path)):
            log = MemoryLog(history) if log is None else SQLiteLog(log, history)
        self._log: EventLog = log
        # A log many processes share (Redis): it assigns ids and feeds subscribers by its tail.
        self._shared: SharedLog | None = log if isinstance(log, SharedLog) else None
        self._reuse_port = reuse_port
        self._log_closed = False
        self._hooks = Hooks()
        self._pipeline = Pipeline(log, on_drained=self._hooks.changed)
        self._registry = ClientRegistry()
        self._taps: dict[str, Callable[[bytes], None]] = {}  # client id -> byte tap
        self._player = Player()  # recordings served under /play/<name>
        self._panel: Any = None  # the ServerPanel shown by _repr_mimebundle_, made once
        self._loop = LoopHandle()
        #: Faults on demand (reset, stall, throttle, answers, trim, restart): see ``faults.py``.
        self.faults = Faults(
            self._loop, self._registry.open, self._trim, self._restart, self._hooks.changed
        )
        self._http: tornado.httpserver.HTTPServer | None = None
        self._heartbeat_handle: asyncio.TimerHandle | None = None
        self._final = self._mounted = False
        self._background: set[asyncio.Task[Any]] = set()

    # -- properties ----------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("the server is not started; call start() first")
        return self._port

    @property
    def running(self) -> bool:
        return self._http is not None and not self._final

    @property
    def name(self) -> str:
        return self._name or (f"sse-{self._port}" if self._port else "sse")

    @property
    def url(self) -> str:
        """``http://HOST:PORT/events``: the default channel."""
        host = "127.0.0.1" if self.host in ("", "0.0.0.0") else self.host
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}/events"

    def url_for(self, channel: str) -> str:
        """The URL of ``channel`` (``.../events/<channel>``; ``"default"`` is ``.../events``)."""
        self._check_channel(channel)
        return self.url if channel == "default" else f"{self.url}/{channel}"

    @property
    def published(self) -> int:
        """Events published so far, all channels (by this process)."""
        return self._pipeline.published if self._shared is None else self._shared.published

    def last_id(self, channel: str = "default") -> str | None:
        """Id of the newest event published to ``channel`` (also by an earlier run's log)."""
        if not valid_channel(channel):
            return None
        if self._shared is not None:
            return self._shared.last_id(channel)
        return self._pipeline.channel(channel).last_id

    @property
    def log_error(self) -> Exception | None:
        """The event log's last write failure, or ``None`` once a later write succeeded.

        Events of a failed write are still delivered live and replayed from memory; they are
        missing from a SQLite file until a later write stores them. ``publish()`` raises the
        failure once, so a publishing program hears of it. A shared log (Redis) that cannot be
        reached is reported here as "log unavailable since ..." until it answers again.
        """
        if self._shared is not None:
            return self._shared.error
        return self._pipeline.log_error

    @property
    def clients(self) -> list[ClientInfo]:
        """Snapshot of the registry, oldest first (closed clients included, a bounded number)."""
        return self._registry.snapshot()

    # -- what the handler asks (seam.StreamHost) -------------------------------------------

    def allow_origin(self, origin: str) -> None:
        """Allow cross-origin streams from ``origin`` (e.g. ``"http://127.0.0.1:8888"``)."""
        self._cors.allow(origin)

    def cors_origin_for(self, origin: str | None) -> str | None:
        """The ``Access-Control-Allow-Origin`` value for a request from ``origin``, if allowed."""
        return self._cors.origin_for(origin)

    def host_allowed(self, host: str | None, local_port: int | None) -> bool:
        """Whether a request with this ``Host`` header is answered (else 403)."""
        return self._any_host or host_allowed(host, local_port, self.host, self._hosts)

    def accepting(self, channel: str) -> bool:
        """False once the channel is closed or the server stopped for good (answer 204)."""
        if self._final:
            return False
        ch = self._pipeline.channels.get(channel)
        return ch is None or not ch.closed

    def open_stream(self, request: StreamRequest) -> Connection | None:
        """Register a detached stream and write its opening bytes in one go; loop thread.

        Called by the handler. Events published but not drained yet are neither in the log nor
        sent: they are drained first, so the replay and the live feed after it meet exactly.
        """
        if self._pipeline.pending:
            self._pipeline.drain()
        ch = self._pipeline.channel(request.channel)
        if self._shared is not None:
            # A shared log reads the replay over the network: the connection waits, registered
            # but not subscribed, until the log calls back in the loop step it may go live.
            conn = self._register(request)
            self._shared.join(
                request.channel, request.resume, conn, lambda r: self._go_live(ch, conn, request, r)
            )
            return conn
        return self._go_live(ch, self._register(request), request, None)

    def _register(self, request: StreamRequest) -> Connection:
        # A client that came back before its old connection was seen to close gets a second
        # entry; the old one ends by itself (EOF, heartbeat). Closing it here would let any
        # request that names an id end another client's stream.
        client_id = self._registry.take(request.client_id)
        conn = Connection(
            client_id,
            request.remote,
            request.channel,
            request.stream,
            resumed_from=request.resume,
            gap=None,
            queue_limit=self.queue_limit,
            on_closed=self._connection_closed,
        )
        conn.tap = self._taps.get(client_id)
        self._registry.add(conn)
        return conn

    def _go_live(
        self, ch: Channel, conn: Connection, request: StreamRequest, replay: Replay | None
    ) -> Connection | None:
        """Write the opening bytes (``replay``, or the log's now) and subscribe, in one step."""
        if not conn.open:
            return None
        first = opening(
            self._log,
            request.channel,
            request.resume,
            retry=self.retry,
            extra_headers=request.headers,
            replay=replay,
        )
        conn.gap = first.gap
        ch.subscribers[conn] = None
        conn.send(first.data, 0, None)
        conn.bytes_sent -= first.head_length  # count the event stream, not the HTTP head
        if first.replay and conn.open:
            # Streamed from the stored frames as the socket drains, a few at a time (below).
            conn.replay(first.replay, first.count, first.last_id, self._replay_finished)
            self._replays_waiting.append(conn)
            self._start_replays()
        if not conn.open:
            return None
        self._hooks.emit(self._hooks.connect, conn.info())
        self._hooks.changed()
        return conn

    def _start_replays(self) -> None:
        """Start waiting replays while fewer than MAX_REPLAYS_IN_FLIGHT are being sent."""
        while self._replays_waiting and len(self._replays_active) < MAX_REPLAYS_IN_FLIGHT:
            conn = self._replays_waiting.popleft()
            if conn.open and conn.replaying:
                self._replays_active.add(conn)
                conn.start_replay()

    def _replay_finished(self, conn: Connection) -> None:
        self._replays_active.discard(conn)
        self._start_replays()

    def _connection_closed(self, conn: Connection) -> None:
        ch = self._pipeline.channels.get(conn.channel)
        if ch is not None:
            ch.subscribers.pop(conn, None)
        self._registry.closed(conn)
        self._hooks.emit(self._hooks.disconnect, conn.info())
        self._hooks.changed()

    # -- publishing ----------------------------------------------------------------------

    def _check_channel(self, channel: str) -> None:
        if isinstance(channel, str) and channel in self._pipeline.channels:
            return
        if not valid_channel(channel):
            raise ValueError(
                f"channel {channel!r} is not a valid name: 1-128 of A-Z a-z 0-9 _ . : ~ -"
            )

    def publish(
        self,
        data: Any,
        *,
        event: str | None = None,
        id: str | None = None,
        channel: str = "default",
    ) -> str:
        """Publish one event to ``channel``'s subscribers and log; thread safe; returns its id.

        ``data`` is a ``str`` (sent as is) or any JSON-serialisable value (sent as JSON). Ids
        default to the channel's sequence number (``"1"``, ``"2"``, ...); a caller-given ``id``
        must be one a client can resume from (``sse_nb.protocol.check_id``: non-empty, no CR,
        LF, NUL or other control character, no space at an end, at most ``MAX_ID_LENGTH``).

        After the event log failed to store a batch (a full disk), the next call raises
        :class:`~sse_nb.errors.EventLogError` once and publishes nothing; see :attr:`log_error`.

        Backpressure: called from a thread other than the loop's while
        :data:`~sse_nb.server.channels.MAX_PENDING_EVENTS` events wait to be sent, it waits
        (at most :data:`PUBLISH_WAIT` s) until the loop has sent them out.
        """
        self._check_channel(channel)
        if self._shared is not None:
            return self._publish_shared(self._shared, channel, data, event, id)
        accepted = self._pipeline.add(channel, data, event, id)
        if not (accepted.schedule or accepted.backlog):
            return accepted.id  # the common case under load: a drain is already on its way
        if accepted.schedule:
            self._loop.call_soon(self._pipeline.drain)
        if accepted.backlog and not self._loop.here():
            self._pipeline.wait_drained(accepted.drains, PUBLISH_WAIT)
        return accepted.id

    def _publish_shared(
        self, shared: SharedLog, channel: str, data: Any, event: str | None, id: str | None
    ) -> str:
        """Append to the shared log; its tail, not this call, hands the event to subscribers."""
        text = event_text(data)
        if self._pipeline.channel(channel).closed:
            raise RuntimeError(f"channel {channel!r} is closed; nothing more can be published")
        return shared.publish(channel, text, event, id)

    # -- callbacks -----------------------------------------------------------------------

    def on_connect(self, callback: Callback) -> Callable[[], None]:
        """Call ``callback(ClientInfo)`` on the loop thread when a client connects."""
        return self._hooks.add(self._hooks.connect, callback)

    def on_disconnect(self, callback: Callback) -> Callable[[], None]:
        """Call ``callback(ClientInfo)`` on the loop thread when a client's connection ends."""
        return self._hooks.add(self._hooks.disconnect, callback)

    def on_change(self, callback: Callable[[], Any]) -> Callable[[], None]:
        """Call ``callback()`` on the loop thread after any registry change or publish batch."""
        return self._hooks.add(self._hooks.change, callback)

    # -- dropping clients ----------------------------------------------------------------

    def disconnect(self, client_id: str | None = None) -> int:
        """Drop one open client (or all), as a network failure would; returns how many.

        The connection is reset (TCP RST), so the client sees an error and reconnects with
        ``Last-Event-ID``; the registry records "dropped by server".
        """
        reason = CloseReason.DROPPED_BY_SERVER
        return self._loop.call(
            lambda: sum(c.close(reason, reset=True) for c in self._registry.open(client_id))
        )

    def client_closed(
        self, client_id: str, reason: CloseReason | str = CloseReason.CLIENT_CLOSED
    ) -> bool:
        """Record that a client closed (told by a browser widget whose close a proxy may hide).

        ``reason`` is a :class:`CloseReason` or one of its values. Returns True if the client
        was open; its connection is then ended on this side too.
        """
        why = CloseReason(reason)

        def mark() -> bool:
            conn = self._registry.get(client_id)
            return conn is not None and conn.close(why)

        return self._loop.call(mark)

    # -- lab hooks -----------------------------------------------------------------------

    def play(
        self,
        recording: Recording | str | Path,
        *,
        speed: float | None = 1.0,
        name: str | None = None,
    ) -> str:
        """Serve a recording (a ``Recording`` or a file from ``es.record``) and return its URL.

        Each request there gets the next recorded response, byte for byte, its chunks at their
        recorded times divided by ``speed`` (``None``: as fast as possible); see ``play.py``.
        Needs the server's own listener (``start()``), not ``mount()``.
        """
        name = self._player.add(recording, speed, name)
        return self.url.rsplit("/events", 1)[0] + f"{PLAY_PREFIX}/{name}"

    def injected_answer(self, url: str) -> Answer | None:
        """The answer a fault wants for this connection attempt instead of a stream, if any."""
        return self.faults.take_answer(url)

    def _trim(self, channel: str, keep: int) -> int:
        trim = getattr(self._log, "trim", None)
        if trim is None:
            raise TypeError(f"{type(self._log).__name__} cannot trim its history")
        dropped: int = trim(channel, keep)
        return dropped

    def _restart(self) -> None:
        port = self.port
        self.stop()
        self._requested_port = port
        self.start()

    def tap(self, client_id: str, callback: Callable[[bytes], None]) -> Callable[[], None]:
        """Hear every byte sent to client ``client_id`` (the ``?client=`` query parameter),
        HTTP head included, on the loop thread; returns a function that removes the tap.

        For lab tools that show the wire; it applies to the client's open connection, if any,
        and to its next ones.
        """

        def attach(tap: Callable[[bytes], None] | None) -> None:
            if tap is None:
                self._taps.pop(client_id, None)
            else:
                self._taps[client_id] = tap
            conn = self._registry.get(client_id)
            if conn is not None and conn.open:
                conn.tap = tap

        self._loop.call(lambda: attach(callback))
        return lambda: self._loop.call(lambda: attach(None))

    def close_channel(self, channel: str = "default") -> int:
        """Close ``channel`` for good: end its streams; reconnects get 204 (stop reconnecting).

        Returns the number of connections ended (recorded as "dropped by server"). Publishing
        to a closed channel raises ``RuntimeError``.
        """
        self._check_channel(channel)
        ch = self._pipeline.channel(channel)
        ch.closed = True
        reason = CloseReason.DROPPED_BY_SERVER
        return self._loop.call(lambda: sum(c.close(reason) for c in list(ch.subscribers)))

    # -- lifecycle -----------------------------------------------------------------------

    def handlers(self, prefix: str = "/events") -> list[tuple[str, type, dict[str, Any]]]:
        """Tornado URL specs for ``prefix`` (default channel) and ``prefix/<channel>``."""
        prefix = prefix.rstrip("/")
        return [
            (prefix, EventStreamHandler, {"server": self, "channel": "default"}),
            (rf"{prefix}/({CHANNEL_PATTERN})", EventStreamHandler, {"server": self}),
        ]

    def mount(
        self,
        app: tornado.web.Application,
        prefix: str = "/events",
        *,
        loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        """Serve this server's streams from an existing Tornado ``app``.

        Call it on the thread whose loop runs ``app`` (or pass that ``loop``); ``url`` and
        ``start()`` do not apply, the app's own server decides where it listens.
        """
        if self._http is not None:
            raise RuntimeError("the server is already started on its own port")
        if loop is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                raise RuntimeError(
                    "mount() needs the app's event loop: call it from that loop or pass loop="
                ) from None
        self._loop.loop = loop
        self._mounted = True
        app.add_handlers(r".*$", self.handlers(prefix))
        loop.call_soon_threadsafe(self._schedule_heartbeat)
        if self._shared is not None:
            loop.call_soon_threadsafe(self._shared.attach, _LogHost(self), loop)

    def start(self) -> EventServer:
        """Listen (idempotent); the server runs on sse_nb's runtime thread."""
        if self._mounted:
            raise RuntimeError("this server is mounted into an existing Tornado app")
        if self._final:
            raise RuntimeError("this server was stopped for good (stop(final=True))")
        self._loop.call(self._start_on_loop)
        return self

    def _start_on_loop(self) -> None:
        if self._http is not None:
            return
        app = tornado.web.Application(
            self.handlers() + self._player.handlers(self.token), log_function=_log_request
        )
        http = tornado.httpserver.HTTPServer(
            app,
            idle_connection_timeout=HEADER_TIMEOUT,
            max_header_size=MAX_HEADER_BYTES,
            max_body_size=MAX_REQUEST_BODY,
            body_timeout=BODY_TIMEOUT,
        )
        sockets = tornado.netutil.bind_sockets(
            self._requested_port, self.host, reuse_port=self._reuse_port
        )
        self._listener = Listener(http, sockets, self.max_connections or default_max_connections())
        self._listener.start()
        self._port = sockets[0].getsockname()[1]
        self._http = http
        self._schedule_heartbeat()
        if self._shared is not None:
            self._shared.attach(_LogHost(self), self._loop.get())
        exposed = [a for a in self.addresses if not _loopback(a.rpartition(":")[0].strip("[]"))]
        if exposed:
            logger.warning(
                "sse_nb: %s listens on %s, reachable from other machines%s",
                self.name,
                ", ".join(exposed),
                "" if self.token else "; anyone who can reach it reads every stream (set a token)",
            )

    @property
    def addresses(self) -> list[str]:
        """The ``host:port`` addresses really listened on (``0.0.0.0``: every interface)."""
        listener = self._listener
        if listener is None:
            return []
        found = []
        for sock in listener.sockets:
            host, port = sock.getsockname()[:2]
            found.append(f"[{host}]:{port}" if ":" in host else f"{host}:{port}")
        return found

    def _schedule_heartbeat(self) -> None:
        if self.heartbeat is None:
            return
        self._heartbeat_handle = self._loop.get().call_later(self.heartbeat, self._beat)

    def _beat(self) -> None:
        for conn in self._pipeline.subscribers():
            conn.heartbeat(_HEARTBEAT)
        if self._http is not None or self._mounted:
            self._schedule_heartbeat()

    def stop(self, final: bool = False, linger: float | None = None) -> None:
        """Stop: free the port and end every connection (reason "server stopped").

        A plain stop ends streams the way a restart would: browsers reconnect (and resume once a
        server listens again). ``final=True`` stops for good: for ``linger`` seconds (default
        :data:`FINAL_LINGER`) every (re)connect is answered 204 No Content so clients stop
        trying, then the port is freed; called from another thread, ``stop`` waits for that.
        """
        if final:
            self._final = True
        linger = FINAL_LINGER if linger is None else linger
        done = threading.Event()

        def stop_on_loop() -> None:
            if self._pipeline.pending:
                self._pipeline.drain()
            for conn in self._pipeline.subscribers():
                conn.close(CloseReason.SERVER_STOPPED)
            if self._shared is not None:
                self._shared.detach()  # ends pending joins too
            if self._heartbeat_handle is not None:
                self._heartbeat_handle.cancel()
                self._heartbeat_handle = None
            if final and linger > 0 and self._http is not None:

                def free_port() -> None:
                    self._close_listener()
                    done.set()

                self._loop.get().call_later(linger, free_port)
            else:
                self._close_listener()
                done.set()

        self._loop.call(stop_on_loop)
        if not self._loop.here():
            done.wait(linger + CALL_TIMEOUT)

    def _close_listener(self) -> None:
        http, self._http = self._http, None
        if http is None:
            return
        if self._listener is not None:
            self._listener.stop()
        http.stop()
        task = asyncio.ensure_future(http.close_all_connections())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def close(self) -> None:
        """Stop and release the log (files, connections); idempotent."""
        self.stop()
        if not self._log_closed:
            self._log_closed = True
            try:
                self._log.close()
            except Exception as exc:  # the last write failed; the file is released anyway
                self._pipeline.log_result(exc)

    def __enter__(self) -> EventServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        where = self.url if self._port else "not started"
        return f"<EventServer {self.name} {where} published={self._pipeline.published}>"

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        """In Jupyter, show the live server panel; plain text where widgets are unavailable."""
        return panel_bundle(self, "ServerPanel", **kwargs)
