"""``EventServer``: the server's face: publish, serve, replay, track every client.

Threads: the server lives on one event loop (sse_nb's runtime thread unless mounted into an
existing Tornado app). ``publish()`` may be called from any thread, that loop's thread included
(callbacks run there); the :class:`~sse_nb.server.channels.Pipeline` numbers events on the
caller's thread and hands them to the sockets on the loop. Everything that touches sockets, the
log or the subscriber sets runs on the loop thread.

The parts it composes, one module each: ``channels`` (numbering and the publish pipeline),
``admission`` (a stream let in: registered, its opening bytes written, subscribed, replayed),
``opening`` (a stream's first bytes), ``registry`` (clients and their close reasons),
``handler`` (HTTP checks, talking to this class through ``seam.StreamHost``), ``access`` and
``cors`` (who is answered), ``lifecycle`` (start, mount, stop: the port through ``binding``
and ``listener``, the ``heartbeat``), ``hooks``, ``loop``, and ``labhooks`` (the lab tools'
face: ``play``, ``tap``, ``faults``). A log many processes share (``redis_log``) plugs in
through ``shared.SharedLog``: it numbers the events and feeds subscribers itself, so the
pipeline and admission hand those two jobs to it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import tornado.web

from .._display import panel_bundle
from ..protocol import check_retry
from .access import HostPolicy, check_max_connections, check_token, warn_if_exposed
from .admission import MAX_REPLAYS_IN_FLIGHT, Admission
from .channels import (
    CHANNEL_PATTERN,
    MAX_PENDING_EVENTS,
    Pipeline,
    check_channel,
    valid_channel,
)
from .connection import MAX_QUEUED_BYTES, ClientInfo, Connection
from .cors import CorsPolicy
from .faults import Faults
from .handler import EventStreamHandler
from .hooks import Callback, Hooks
from .labhooks import LabHooks
from .lifecycle import FINAL_LINGER, Lifecycle
from .log import DEFAULT_HISTORY, EventLog, open_log
from .loop import LoopHandle
from .play import Player
from .reasons import CloseReason
from .registry import MAX_CLOSED_CLIENTS, ClientRegistry
from .seam import StreamRequest
from .shared import SharedLog
from .tokens import mask_token, resolve_token

__all__ = [
    "DEFAULT_HISTORY",
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


class _DefaultHistory(int):
    """``history``'s default, :data:`DEFAULT_HISTORY`, told apart from the same number given:
    a ``history`` given with a log object is an error, the default is not."""

    def __repr__(self) -> str:  # what ``help(EventServer)`` shows as the default
        return "DEFAULT_HISTORY"


_HISTORY_NOT_GIVEN = _DefaultHistory(DEFAULT_HISTORY)


class EventServer(LabHooks):
    """A Server-Sent Events server that replays by ``Last-Event-ID`` and tracks its clients.

    >>> with EventServer() as server:                        # doctest: +SKIP
    ...     server.publish({"price": 3})                       # id "1", data '{"price": 3}'
    ...     print(server.url)                                  # http://127.0.0.1:PORT/events

    Parameters not obvious from their names:

    ``history``: events kept per channel for replay (default :data:`DEFAULT_HISTORY`) by the log
    the server makes (``log`` ``None`` or a file path). A log object has its own size
    (``MemoryLog(history=N)``, ``RedisEventLog(..., maxlen=N)``): ``history`` with one is a
    ``ValueError``.
    ``heartbeat``: seconds between comment lines on an idle stream (``None`` or 0: off); they
    also keep bytes in flight, which is how a peer that vanished without FIN or RST is
    detected (TCP_USER_TIMEOUT).
    ``retry``: reconnection delay in ms, sent as ``retry:`` on connect.
    ``cors``: ``None``, ``"*"`` or a list of allowed origins (see :meth:`allow_origin`).
    ``token``: when set, requests need ``Authorization: Bearer <token>`` or ``?token=``
    (else 401); ``"auto"`` makes a random one (read it back from ``server.token``); an empty
    token is refused. Clients and widgets given the server object send it themselves.
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
        history: int = _HISTORY_NOT_GIVEN,
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
        check_token(token)
        check_max_connections(max_connections)
        self.max_connections = max_connections
        self._hosts = HostPolicy(allowed_hosts)
        self.host = host
        self.heartbeat, self.retry = heartbeat or None, retry
        self.token = resolve_token(token)
        self.queue_limit = queue_limit
        self._name = name
        self._cors = CorsPolicy(cors)
        log = open_log(log, None if history is _HISTORY_NOT_GIVEN else history)
        self._log: EventLog = log
        # A log many processes share (Redis): it assigns ids and feeds subscribers by its tail.
        self._shared: SharedLog | None = log if isinstance(log, SharedLog) else None
        self._log_closed = False
        self._hooks = Hooks()
        self._pipeline = Pipeline(log, self._shared, on_drained=self._hooks.changed)
        self._registry = ClientRegistry()
        self._admission = Admission(log, self._pipeline, self._registry, self._hooks, self._shared)
        self._player = Player()  # recordings served under /play/<name>, see ``labhooks``
        self._panel: Any = None  # the ServerPanel shown by _repr_mimebundle_, made once
        self._loop = LoopHandle()
        #: Faults on demand (reset, stall, throttle, answers, trim, restart): see ``faults.py``.
        self.faults = Faults(
            self._loop, self._registry.open, self._log, self._restart, self._hooks.changed
        )
        self._lifecycle = Lifecycle(
            self._loop,
            self._pipeline,
            self._shared,
            port=port,
            reuse_port=reuse_port,
            heartbeat=self.heartbeat,
        )

    # -- properties ----------------------------------------------------------------------

    @property
    def port(self) -> int:
        """The port listened on (the free one chosen for ``port=0``); after ``start()`` only."""
        port = self._lifecycle.port
        if port is None:
            raise RuntimeError("the server is not started; call start() first")
        return port

    @property
    def running(self) -> bool:
        """Listening on its own port, and not stopped for good (a mounted server: False)."""
        return self._lifecycle.running

    @property
    def name(self) -> str:
        """How panels, logs and the magics call it: ``name=``, else ``sse-<port>``."""
        port = self._lifecycle.port
        return self._name or (f"sse-{port}" if port else "sse")

    @property
    def url(self) -> str:
        """``http://HOST:PORT/events``: the default channel."""
        host = "127.0.0.1" if self.host in ("", "0.0.0.0") else self.host
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}/events"

    def url_for(self, channel: str) -> str:
        """The URL of ``channel`` (``.../events/<channel>``; ``"default"`` is ``.../events``)."""
        check_channel(channel, self._pipeline.channels)
        return self.url if channel == "default" else f"{self.url}/{channel}"

    @property
    def published(self) -> int:
        """Events published so far, all channels (by this process)."""
        return self._pipeline.count

    def last_id(self, channel: str = "default") -> str | None:
        """Id of the newest event published to ``channel`` (also by an earlier run's log)."""
        if not valid_channel(channel):
            return None
        return self._pipeline.last_id(channel)

    @property
    def log_error(self) -> Exception | None:
        """The event log's last write failure, or ``None`` once a later write succeeded.

        Events of a failed write are still delivered live and replayed from memory; they are
        missing from a SQLite file until a later write stores them. ``publish()`` raises the
        failure once, so a publishing program hears of it. A shared log (Redis) that cannot be
        reached is reported here as "log unavailable since ..." until it answers again.
        """
        return self._pipeline.error

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
        return self._hosts.allows(host, local_port, self.host)

    def accepting(self, channel: str) -> bool:
        """False once the channel is closed or the server stopped for good (answer 204)."""
        if self._lifecycle.final:
            return False
        ch = self._pipeline.channels.get(channel)
        return ch is None or not ch.closed

    def open_stream(self, request: StreamRequest) -> Connection | None:
        """Register a detached stream and write its opening bytes (see ``admission``)."""
        return self._admission.open_stream(request, retry=self.retry, queue_limit=self.queue_limit)

    # -- publishing ----------------------------------------------------------------------

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
        check_channel(channel, self._pipeline.channels)
        accepted = self._pipeline.add(channel, data, event, id)
        if not (accepted.schedule or accepted.backlog):
            return accepted.id  # the common case under load: a drain is already on its way
        if accepted.schedule:
            self._loop.call_soon(self._pipeline.drain)
        if accepted.backlog and not self._loop.here():
            self._pipeline.wait_drained(accepted.drains, PUBLISH_WAIT)
        return accepted.id

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

        The response is cut as by a failing network (a chunked body ends without its last
        chunk; a close-delimited one with a TCP RST), so the client sees an error and
        reconnects with ``Last-Event-ID``; the registry records "dropped by server".
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

    def close_channel(self, channel: str = "default") -> int:
        """Close ``channel`` for good: end its streams; reconnects get 204 (stop reconnecting).

        Returns the number of connections ended (recorded as "dropped by server"). Publishing
        to a closed channel raises ``RuntimeError``.
        """
        check_channel(channel, self._pipeline.channels)
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
        self._lifecycle.mount(app, self.handlers(prefix), loop)

    def start(self) -> EventServer:
        """Listen (idempotent); the server runs on sse_nb's runtime thread."""
        handlers = self.handlers() + self._player.handlers(self.token)
        if self._lifecycle.start(handlers, self.host, self.max_connections):
            warn_if_exposed(self.name, self.addresses, self.token)
        return self

    @property
    def addresses(self) -> list[str]:
        """The ``host:port`` addresses really listened on (``0.0.0.0``: every interface)."""
        return self._lifecycle.addresses()

    def stop(self, final: bool = False, linger: float | None = None) -> None:
        """Stop: free the port and end every connection (reason "server stopped").

        A plain stop ends streams the way a restart would: browsers reconnect (and resume once a
        server listens again). ``final=True`` stops for good: for ``linger`` seconds (default
        :data:`~sse_nb.server.lifecycle.FINAL_LINGER`) every (re)connect is answered 204 No
        Content so clients stop trying, then the port is freed; called from another thread,
        ``stop`` waits for that.
        """
        self._lifecycle.stop(final, FINAL_LINGER if linger is None else linger)

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

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        where = self.url if self._lifecycle.port else "not started"
        token = f" token={mask_token(self.token)}" if self.token else ""
        return f"<EventServer {self.name} {where}{token} published={self._pipeline.count}>"

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        """In Jupyter, show the live server panel; plain text where widgets are unavailable."""
        return panel_bundle(self, "ServerPanel", **kwargs)
