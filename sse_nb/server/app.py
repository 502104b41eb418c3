"""``EventServer``: publish events from any thread; serve, replay and track every client.

Threads: the server lives on one event loop (sse_nb's runtime thread unless mounted into an
existing Tornado app). ``publish()`` may be called from any thread, that loop's thread included
(callbacks run there): it numbers and encodes the event under a lock, appends it to a pending
list and schedules ONE drain callback on the loop for however many events pile up meanwhile. The
drain appends them to the log and sends each channel's batch, joined once, to every subscriber.
Everything that touches sockets, the log or the subscriber sets runs on the loop thread.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import json
import logging
import re
import threading
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import tornado.httpserver
import tornado.netutil
import tornado.web
from tornado.iostream import IOStream

from .. import _runtime
from .._display import panel_bundle
from ..errors import EventLogError
from ..protocol import encode_comment, encode_event
from .connection import MAX_QUEUED_BYTES, ClientInfo, Connection
from .handler import (
    CHANNEL_PATTERN,
    GAP_EVENT,
    EventStreamHandler,
    _malformed,
    gap_data,
    stream_head,
)
from .log import DEFAULT_HISTORY, EventLog, MemoryLog, SQLiteLog, StoredEvent

#: Sent first on every stream, before any replay (see ``_open_connection``).
OPENING_COMMENT = encode_comment("open")

__all__ = [
    "DEFAULT_HISTORY",
    "FINAL_LINGER",
    "MAX_CLOSED_CLIENTS",
    "MAX_PENDING_EVENTS",
    "PUBLISH_WAIT",
    "ClientInfo",
    "EventServer",
]

T = TypeVar("T")
logger = logging.getLogger("sse_nb.server")

#: Events published but not yet handed to the sockets, beyond which ``publish()`` from another
#: thread waits for the loop to hand them out. Without it a publisher in a tight loop outruns the
#: loop without bound (memory) and, holding the GIL, starves it (each ``send()`` lets the GIL go).
MAX_PENDING_EVENTS = 2_000
#: Longest ``publish()`` waits for the loop to catch up, so a stuck loop slows a publisher
#: down but never hangs it.
PUBLISH_WAIT = 5.0
#: Closed clients kept in the registry (for widgets and tests to see why they left); older ones
#: are forgotten so a long-running server's registry stays small.
MAX_CLOSED_CLIENTS = 500
#: Seconds ``stop(final=True)`` keeps answering 204 before freeing the port: longer than a
#: browser's default reconnection delay (a few seconds), so reconnecting clients hear "stop".
FINAL_LINGER = 5.0
#: Longest time a thread waits for the loop to run a start/stop/disconnect step.
_CALL_TIMEOUT = 30.0

_CHANNEL_RE = re.compile(CHANNEL_PATTERN)
_HEARTBEAT = encode_comment("")

Callback = Callable[[ClientInfo], Any]


class _Channel:
    __slots__ = ("closed", "last_id", "name", "seq", "subscribers")

    def __init__(self, name: str, seq: int, last_id: str | None) -> None:
        self.name = name
        self.seq = seq
        self.last_id = last_id
        self.subscribers: dict[Connection, None] = {}
        self.closed = False


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
    (else 401).
    ``log``: an :class:`EventLog`, or a file path for a SQLite log (replay survives restarts).
    ``queue_limit``: bytes a client may fall behind before it is dropped as a slow consumer.

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
    ) -> None:
        if retry is not None and (
            isinstance(retry, bool) or not isinstance(retry, int) or retry < 0
        ):
            raise ValueError(f"retry must be a non-negative int of milliseconds, not {retry!r}")
        if heartbeat is not None and heartbeat < 0:
            raise ValueError(f"heartbeat must be >= 0 seconds or None, not {heartbeat!r}")
        self.host = host
        self._requested_port = port
        self._port: int | None = None
        self.heartbeat = heartbeat or None
        self.retry = retry
        self.token = token
        self.queue_limit = queue_limit
        self._name = name
        self._cors_any = cors == "*"
        if cors is None or cors == "*":
            self._origins: set[str] = set()
        elif isinstance(cors, str):
            self._origins = {cors}
        else:
            self._origins = set(cors)
        if log is None:
            self._log: EventLog = MemoryLog(history)
        elif isinstance(log, (str, Path)):
            self._log = SQLiteLog(log, history)
        else:
            self._log = log

        self._log_closed = False
        self._log_error: Exception | None = None
        self._log_error_unraised = False
        self._panel: Any = None  # the ServerPanel shown by _repr_mimebundle_, made once
        self._lock = threading.Lock()  # guards channels' numbering, pending, counters
        self._channels: dict[str, _Channel] = {}
        self._pending: list[tuple[_Channel, StoredEvent]] = []
        # Notified when a drain has handed its events to the sockets (see MAX_PENDING_EVENTS).
        self._drained = threading.Condition(self._lock)
        self._drains = 0
        self._drain_scheduled = False
        self._published = 0

        self._registry_lock = threading.Lock()
        self._clients: dict[str, Connection] = {}
        self._next_client = 0
        self._closed_order: collections.deque[Connection] = collections.deque()

        self._connect_cbs: list[Callback] = []
        self._disconnect_cbs: list[Callback] = []
        self._change_cbs: list[Callable[[], Any]] = []

        self._loop: asyncio.AbstractEventLoop | None = None
        self._http: tornado.httpserver.HTTPServer | None = None
        self._heartbeat_handle: asyncio.TimerHandle | None = None
        self._final = False
        self._mounted = False
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
        """Events published so far, all channels."""
        return self._published

    def last_id(self, channel: str = "default") -> str | None:
        """Id of the newest event published to ``channel`` (also by an earlier run's log)."""
        if not isinstance(channel, str) or not _CHANNEL_RE.fullmatch(channel):
            return None
        with self._lock:
            return self._channel(channel).last_id

    @property
    def clients(self) -> list[ClientInfo]:
        """Snapshot of the registry, oldest first (closed clients included, a bounded number)."""
        with self._registry_lock:
            conns = list(self._clients.values())
        return [c.info() for c in conns]

    # -- CORS and auth (read by the handler) ----------------------------------------------

    def allow_origin(self, origin: str) -> None:
        """Allow cross-origin streams from ``origin`` (e.g. ``"http://127.0.0.1:8888"``)."""
        if not isinstance(origin, str) or not origin or _malformed(origin):
            raise ValueError(f"not an origin: {origin!r}")
        self._origins.add(origin.rstrip("/"))

    def cors_origin_for(self, origin: str | None) -> str | None:
        """The ``Access-Control-Allow-Origin`` value for a request from ``origin``, if allowed."""
        if self._cors_any:
            return "*"
        if origin is not None and origin in self._origins:
            return origin
        return None

    def accepting(self, channel: str) -> bool:
        """False once the channel is closed or the server stopped for good (answer 204)."""
        if self._final:
            return False
        ch = self._channels.get(channel)
        return ch is None or not ch.closed

    # -- publishing ----------------------------------------------------------------------

    def _check_channel(self, channel: str) -> None:
        if isinstance(channel, str) and channel in self._channels:
            return
        if not isinstance(channel, str) or not _CHANNEL_RE.fullmatch(channel):
            raise ValueError(
                f"channel {channel!r} is not a valid name: 1-128 of A-Z a-z 0-9 _ . : ~ -"
            )

    def _channel(self, name: str) -> _Channel:
        ch = self._channels.get(name)
        if ch is None:
            last = self._log.last(name)
            ch = _Channel(name, last.seq if last else 0, last.id if last else None)
            self._channels[name] = ch
        return ch

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
        must not contain CR, LF or NUL (HTML "Server-sent events": a browser ignores an id with
        NUL, and CR/LF would end the field).

        After the event log failed to store a batch (a full disk), the next call raises
        :class:`~sse_nb.errors.EventLogError` once and publishes nothing; see :attr:`log_error`.
        """
        if isinstance(data, str):
            text = data
        else:
            try:
                text = json.dumps(data)
            except (TypeError, ValueError) as exc:
                raise TypeError(
                    f"data must be a str or JSON-serialisable, not {type(data).__name__}: {exc}"
                ) from None
        if id is not None:
            if not isinstance(id, str):
                raise TypeError(f"id must be a str, not {type(id).__name__}")
            if not id or any(c in id for c in "\r\n\x00"):
                raise ValueError(
                    f"id {id!r} is not usable: an SSE id must be non-empty and hold no CR, LF "
                    "or NUL (a browser ignores an id with NUL; CR/LF would end the field)"
                )
        self._check_channel(channel)
        with self._lock:
            if self._log_error_unraised and self._log_error is not None:
                self._log_error_unraised = False
                raise EventLogError(
                    f"this event was not published: {self._log_error}; earlier events were "
                    "delivered live (see server.log_error)"
                ) from self._log_error
            ch = self._channel(channel)
            if ch.closed:
                raise RuntimeError(f"channel {channel!r} is closed; nothing more can be published")
            seq = ch.seq + 1
            eid = id if id is not None else str(seq)
            frame = encode_event(text, event=event, id=eid)
            ch.seq = seq
            ch.last_id = eid
            self._published += 1
            self._pending.append((ch, StoredEvent(seq, eid, frame)))
            schedule = not self._drain_scheduled
            self._drain_scheduled = True
            backlog = len(self._pending) >= MAX_PENDING_EVENTS
            drains = self._drains  # read with the append: a drain after it ends the wait
        if not (schedule or backlog):
            return eid  # the common case under load: a drain is already on its way
        on_loop = self._on_loop()
        if schedule:
            loop = self._get_loop()
            if on_loop:
                loop.call_soon(self._drain)
            else:
                loop.call_soon_threadsafe(self._drain)
        if backlog and not on_loop:
            # Backpressure: wait (GIL released) until the loop has sent a drain's worth out.
            with self._drained:
                self._drained.wait_for(lambda: self._drains != drains, PUBLISH_WAIT)
        return eid

    def _drain(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, []
            self._drain_scheduled = False
        batches: dict[_Channel, list[StoredEvent]] = {}
        failure: Exception | None = None
        for ch, ev in pending:
            try:
                self._log.append(ch.name, ev)
            except Exception as exc:
                failure = failure or exc
            batches.setdefault(ch, []).append(ev)
        try:
            self._log.commit()
        except Exception as exc:
            failure = failure or exc
        # The batch has left the pending list: it goes out live whatever the log said.
        self._log_result(failure)
        for ch, events in batches.items():
            if not ch.subscribers:
                continue
            data = events[0].frame if len(events) == 1 else b"".join(e.frame for e in events)
            last = events[-1].id
            for conn in list(ch.subscribers):
                conn.send(data, len(events), last)
        with self._drained:
            self._drains += 1
            self._drained.notify_all()
        self._changed()

    def _log_result(self, failure: Exception | None) -> None:
        """Record a batch's log write: a failure is kept, logged once, raised by ``publish()``."""
        if failure is None:
            if self._log_error is not None:
                logger.warning("sse_nb: the event log is writable again")
                self._log_error = None
            return
        first = self._log_error is None
        with self._lock:
            self._log_error = failure
            self._log_error_unraised = True
        if first:
            logger.error("sse_nb: %s; the events were still delivered live", failure)

    @property
    def log_error(self) -> Exception | None:
        """The event log's last write failure, or ``None`` once a later write succeeded.

        Events of a failed write are still delivered live and replayed from memory; they are
        missing from a SQLite file until a later write stores them. ``publish()`` raises the
        failure once, so a publishing program hears of it.
        """
        return self._log_error

    # -- connections (called by the handler, on the loop thread) ----------------------------

    def _open_connection(
        self,
        channel: str,
        stream: IOStream,
        remote: str,
        client_id: str | None,
        resume: str | None,
        extra_headers: dict[str, str],
    ) -> Connection | None:
        """Register a detached stream and write headers + retry + gap + replay in one go."""
        # Events published but not drained yet are neither in the log nor sent: drain first so
        # the replay below and the live feed after it meet exactly.
        if self._pending:
            self._drain()
        with self._lock:
            ch = self._channel(channel)
        gap: dict[str, str | None] | None = None
        frames: list[bytes] = []
        count, last_id = 0, None
        if resume is not None:
            replay = self._log.replay(channel, None if _malformed(resume) else resume)
            if _malformed(resume) or replay.gap:
                gap = json.loads(gap_data(resume, replay.oldest))
            frames, count, last_id = replay.frames, replay.count, replay.last_id
        # A comment opens every body: a proxy that holds the headers until the first body bytes
        # (jupyter-server-proxy does) would otherwise keep a browser CONNECTING until the first
        # event or heartbeat.
        parts = [stream_head(extra_headers, gap is not None), OPENING_COMMENT]
        if self.retry is not None:
            parts.append(b"retry: %d\n\n" % self.retry)
        if gap is not None:
            parts.append(encode_event(json.dumps(gap), event=GAP_EVENT))
        parts.extend(frames)
        with self._registry_lock:
            if client_id is None:
                self._next_client += 1
                client_id = f"c{self._next_client}"
            old = self._clients.pop(client_id, None)
        if old is not None and old.open:
            # The same client came back before its old connection was seen to close.
            old.close("client closed")
        conn = Connection(
            client_id,
            remote,
            channel,
            stream,
            resumed_from=resume,
            gap=gap,
            queue_limit=self.queue_limit,
            on_closed=self._connection_closed,
        )
        with self._registry_lock:
            self._clients[client_id] = conn
        ch.subscribers[conn] = None
        head_bytes = len(parts[0]) + len(OPENING_COMMENT)
        conn.send(b"".join(parts), count, last_id)
        conn.bytes_sent -= head_bytes  # count the event stream, not the HTTP head
        if not conn.open:
            return None
        self._emit(self._connect_cbs, conn.info())
        self._changed()
        return conn

    def _connection_closed(self, conn: Connection) -> None:
        ch = self._channels.get(conn.channel)
        if ch is not None:
            ch.subscribers.pop(conn, None)
        with self._registry_lock:
            self._closed_order.append(conn)
            while len(self._closed_order) > MAX_CLOSED_CLIENTS:
                old = self._closed_order.popleft()
                if self._clients.get(old.id) is old:
                    del self._clients[old.id]
        self._emit(self._disconnect_cbs, conn.info())
        self._changed()

    # -- callbacks -----------------------------------------------------------------------

    def _emit(self, callbacks: list[Callback], info: ClientInfo) -> None:
        for cb in list(callbacks):
            try:
                cb(info)
            except Exception:
                logger.exception("sse_nb: a client callback raised")

    def _changed(self) -> None:
        for cb in list(self._change_cbs):
            try:
                cb()
            except Exception:
                logger.exception("sse_nb: an on_change callback raised")

    @staticmethod
    def _subscribe(callbacks: list[Any], callback: Any) -> Callable[[], None]:
        callbacks.append(callback)

        def unsubscribe() -> None:
            if callback in callbacks:
                callbacks.remove(callback)

        return unsubscribe

    def on_connect(self, callback: Callback) -> Callable[[], None]:
        """Call ``callback(ClientInfo)`` on the loop thread when a client connects."""
        return self._subscribe(self._connect_cbs, callback)

    def on_disconnect(self, callback: Callback) -> Callable[[], None]:
        """Call ``callback(ClientInfo)`` on the loop thread when a client's connection ends."""
        return self._subscribe(self._disconnect_cbs, callback)

    def on_change(self, callback: Callable[[], Any]) -> Callable[[], None]:
        """Call ``callback()`` on the loop thread after any registry change or publish batch."""
        return self._subscribe(self._change_cbs, callback)

    # -- dropping clients ----------------------------------------------------------------

    def disconnect(self, client_id: str | None = None) -> int:
        """Drop one open client (or all), as a network failure would; returns how many.

        The connection is reset (TCP RST), so the client sees an error and reconnects with
        ``Last-Event-ID``; the registry records "dropped by server".
        """

        def drop() -> int:
            with self._registry_lock:
                conns = [
                    c
                    for c in self._clients.values()
                    if c.open and (client_id is None or c.id == client_id)
                ]
            return sum(c.close("dropped by server", reset=True) for c in conns)

        return self._call(drop)

    def client_closed(self, client_id: str, reason: str = "client closed") -> bool:
        """Record that a client closed (told by a browser widget whose close a proxy may hide).

        Returns True if the client was open; its connection is then ended on this side too.
        """

        def mark() -> bool:
            with self._registry_lock:
                conn = self._clients.get(client_id)
            return conn is not None and conn.close(reason)

        return self._call(mark)

    def close_channel(self, channel: str = "default") -> int:
        """Close ``channel`` for good: end its streams; reconnects get 204 (stop reconnecting).

        Returns the number of connections ended (recorded as "dropped by server"). Publishing
        to a closed channel raises ``RuntimeError``.
        """
        self._check_channel(channel)
        with self._lock:
            ch = self._channel(channel)
            ch.closed = True
        return self._call(lambda: sum(c.close("dropped by server") for c in list(ch.subscribers)))

    # -- loop plumbing -------------------------------------------------------------------

    def _get_loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None or self._loop.is_closed():
            self._loop = _runtime.get_loop()
        return self._loop

    def _on_loop(self) -> bool:
        try:
            return asyncio.get_running_loop() is self._loop
        except RuntimeError:
            return False

    def _call(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` on the server's loop thread and return its result (directly if there)."""
        loop = self._get_loop()
        if self._on_loop():
            return fn()
        fut: concurrent.futures.Future[T] = concurrent.futures.Future()

        def run() -> None:
            try:
                fut.set_result(fn())
            except BaseException as exc:  # handed to the waiting thread
                fut.set_exception(exc)

        loop.call_soon_threadsafe(run)
        return fut.result(_CALL_TIMEOUT)

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
        self._loop = loop
        self._mounted = True
        app.add_handlers(r".*$", self.handlers(prefix))
        loop.call_soon_threadsafe(self._schedule_heartbeat)

    def start(self) -> EventServer:
        """Listen (idempotent); the server runs on sse_nb's runtime thread."""
        if self._mounted:
            raise RuntimeError("this server is mounted into an existing Tornado app")
        if self._final:
            raise RuntimeError("this server was stopped for good (stop(final=True))")
        self._call(self._start_on_loop)
        return self

    def _start_on_loop(self) -> None:
        if self._http is not None:
            return
        app = tornado.web.Application(self.handlers())
        http = tornado.httpserver.HTTPServer(app)
        sockets = tornado.netutil.bind_sockets(self._requested_port, self.host)
        http.add_sockets(sockets)
        self._port = sockets[0].getsockname()[1]
        self._http = http
        self._schedule_heartbeat()

    def _schedule_heartbeat(self) -> None:
        if self.heartbeat is None:
            return
        self._heartbeat_handle = self._get_loop().call_later(self.heartbeat, self._beat)

    def _beat(self) -> None:
        for ch in list(self._channels.values()):
            for conn in list(ch.subscribers):
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
            if self._pending:
                self._drain()
            for conn in [c for ch in self._channels.values() for c in ch.subscribers]:
                conn.close("server stopped")
            if self._heartbeat_handle is not None:
                self._heartbeat_handle.cancel()
                self._heartbeat_handle = None
            if final and linger > 0 and self._http is not None:

                def free_port() -> None:
                    self._close_listener()
                    done.set()

                self._get_loop().call_later(linger, free_port)
            else:
                self._close_listener()
                done.set()

        self._call(stop_on_loop)
        if not self._on_loop():
            done.wait(linger + _CALL_TIMEOUT)

    def _close_listener(self) -> None:
        http, self._http = self._http, None
        if http is None:
            return
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
                self._log_result(exc)

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
        return f"<EventServer {self.name} {where} published={self._published}>"

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        """In Jupyter, show the live server panel; plain text where widgets are unavailable."""
        return panel_bundle(self, "ServerPanel", **kwargs)
