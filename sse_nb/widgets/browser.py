"""``BrowserEventSource``: the browser's native ``EventSource`` in the page, watched from Python.

This is the client the standard describes, not a Python imitation: the page runs
``new EventSource(url)`` and reports its ``readyState``, ``lastEventId`` and the events it
received back to the kernel (batched, at most ``FLUSH_HZ`` reports a second). Python can
``close()`` it and ``open()`` it again.

Resuming after ``close()``. A closed ``EventSource`` cannot be reopened, and a new one cannot set
request headers, so it cannot send ``Last-Event-ID`` itself (HTML, "Server-sent events": the
header is only sent by the user agent when it *reestablishes* a connection). ``open()`` therefore
passes the browser's own last event id in the ``lastEventId`` query parameter, which
``EventServer`` reads when the header is absent. After a network drop the browser reconnects by
itself and sends the header: both paths end in the same replay.

Routes. ``"direct"``: the page connects to the server's own url; the page and the server have
different origins (ports), so the widget sends ``location.origin`` to the kernel, which calls
``server.allow_origin(origin)`` before the page connects (CORS). ``"proxy"``: the page connects
to ``<baseUrl>proxy/<port>/<path>`` through jupyter-server-proxy (same origin, no CORS); this is
the route on Binder, where the browser cannot reach the kernel's 127.0.0.1. ``"auto"`` (the
default) picks direct when the page's host is the server's host (both loopback counts), proxy
otherwise.

Telling the server. The proxy does not pass a browser's close on: the server would keep the
connection "open" until a heartbeat write fails. So each connection carries a ``client`` query
parameter (its id in the server's registry), and when the page's ``EventSource`` closes, the
widget calls ``server.client_closed(id)`` through the kernel.

Order. The page redraws its view only after sending the kernel its report, so whatever the view
shows (``data-state``, ``data-last-id``, ``data-received``) the kernel has already been sent; a
request the page sends after seeing it is handled after the report.

Tokens. A page's ``EventSource`` cannot set headers, so a server's token goes in the ``token``
query parameter of the url the page opens; the page shows and reports that url with the token
masked (its first characters and "…"), and the server hides it from its access log.

Probes. ``probe(seconds)`` has the page read the same route with ``fetch()`` for a while and
report what an ``EventSource`` hides: the status, ``Content-Type`` and ``X-Accel-Buffering``, the
time to the response headers, and when each event and heartbeat arrived (``sse_nb.lab.doctor``
is built on it). It needs no open ``EventSource``.

Messages. Page to kernel: ``hello`` (origin, hostname, base_url, protocol,
same_origin_sources), ``probed`` (what a probe saw), ``events`` (rows),
``closed`` (client, reason), ``reopen``. Kernel to page: ``open`` (url, client, last_event_id or
null for the browser's own), ``close``, ``probe`` (url, client, ms).
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import anywidget
import traitlets

from ..protocol import GAP_EVENT, ReadyState
from ._batch import FLUSH_HZ
from .contracts import BrowserOpen, BrowserProbe, BrowserProbed, ObservedServer, page_message

__all__ = [
    "BROWSER_HISTORY",
    "BROWSER_ROWS",
    "LOOPBACK",
    "BrowserEventSource",
    "BrowserView",
    "choose_route",
]

#: Events kept in Python from the page's reports: the page is the client, this is a log of it.
BROWSER_HISTORY = 10_000

#: Events the page lists under the status line (newest last); the rest are only counted.
BROWSER_ROWS = 20

#: Host names that all mean "this machine" when comparing the page's host with the server's.
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})

ROUTES = ("auto", "direct", "proxy")

log = logging.getLogger(__name__)


def choose_route(mode: str, page_hostname: str, server_host: str) -> str:
    """``"direct"`` or ``"proxy"`` for a requested ``mode`` (see the module docstring)."""
    if mode not in ROUTES:
        raise ValueError(f"mode must be one of {ROUTES}, got {mode!r}")
    if mode != "auto":
        return mode
    page, server = page_hostname.lower(), server_host.lower()
    if page == server or (page in LOOPBACK and server in LOOPBACK):
        return "direct"
    return "proxy"


def _with_query(url: str, **params: str) -> str:
    sep = "&" if urlsplit(url).query else "?"
    return url + sep + urlencode(params)


class BrowserView(anywidget.AnyWidget):
    """The page side of a ``BrowserEventSource``: its traits are the page's reports."""

    _esm = Path(__file__).parent / "static" / "browser.js"

    #: Finds the page-side store shared by this model's views.
    key = traitlets.Unicode().tag(sync=True)

    @traitlets.default("key")
    def _default_key(self) -> str:
        return uuid.uuid4().hex

    # Written by the page only.
    ready_state = traitlets.Int(int(ReadyState.CONNECTING)).tag(sync=True)
    last_event_id = traitlets.Unicode("").tag(sync=True)
    events_received = traitlets.Int(0).tag(sync=True)
    page_url = traitlets.Unicode("").tag(sync=True)
    error = traitlets.Unicode("").tag(sync=True)
    # Written by Python only, at construction.
    event_types = traitlets.List(traitlets.Unicode()).tag(sync=True)
    #: The gap signal's event type, listened to always: the page learns it from here.
    gap_type = traitlets.Unicode(GAP_EVENT).tag(sync=True)
    max_rows = traitlets.Int(BROWSER_ROWS).tag(sync=True)
    flush_hz = traitlets.Float(float(FLUSH_HZ)).tag(sync=True)


class BrowserEventSource:
    """``BrowserEventSource(server)`` or ``(url)``: a native EventSource running in the page.

    Give the ``EventServer`` itself when you can: the widget then allows the page's origin
    (direct route), tells the server when the page closes the connection (proxy route) and
    sends the server's token, if it has one.
    ``event_types`` lists named event types to listen to besides ``message`` (a native
    ``EventSource`` only delivers named events to listeners registered by name). Display it
    (``display(b)`` or as a cell's last expression) to start it: the page runs the connection.
    The state below is what the page last reported; it reaches the kernel between cells.
    """

    def __init__(
        self,
        url_or_server: str | ObservedServer,
        *,
        mode: str = "auto",
        channel: str | None = None,
        last_event_id: str | None = None,
        event_types: tuple[str, ...] = (),
        open: bool = True,
    ) -> None:
        if mode not in ROUTES:
            raise ValueError(f"mode must be one of {ROUTES}, got {mode!r}")
        self.server: ObservedServer | None = None
        if isinstance(url_or_server, str):
            self.url = url_or_server
        else:
            self.server = url_or_server
            srv = url_or_server
            self.url = srv.url_for(channel) if channel and channel != "default" else srv.url
        parts = urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) url: {self.url!r}")
        self.mode = mode
        #: The route used by the last ``open()``: "direct" or "proxy" ("" before the page spoke).
        self.route = ""
        #: Registry ids given to the page's connections, oldest first.
        self.client_ids: list[str] = []
        #: What the page reported: origin, hostname, base_url and protocol (the HTTP version
        #: the page was fetched with, e.g. "http/1.1" or "h2"; "" when the browser does not say).
        self.page: dict[str, str] | None = None
        #: EventSources the page had open or connecting to its own origin when it said hello
        #: (this one not counted): a browser allows about six per origin over HTTP/1.1.
        self.same_origin_sources = 0
        self._base_id = f"browser-{uuid.uuid4().hex[:8]}"
        self._lock = threading.Lock()
        self._history: deque[list[Any]] = deque(maxlen=BROWSER_HISTORY)
        self._want_open = open
        self._resume_from = last_event_id
        #: What the page's probes saw, oldest first (see ``probe()``).
        self.probes: list[BrowserProbed] = []
        self._probe_listeners: list[Callable[[BrowserProbed], None]] = []
        self._pending_probes: list[float] = []  # asked before the page said hello
        #: Called with ``self`` once the page has said hello (``page`` is set).
        self.on_hello: Callable[[BrowserEventSource], None] | None = None
        #: The widget shown in the page.
        self.view = BrowserView(event_types=list(event_types))
        self.view.on_msg(self._on_page_msg)

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.view._repr_mimebundle_(**kwargs)

    def __repr__(self) -> str:
        return (
            f"<BrowserEventSource {self.ready_state.name} {self.url} route={self.route or '?'} "
            f"last_event_id={self.last_event_id!r} events={self.events_received}>"
        )

    @property
    def ready_state(self) -> ReadyState:
        """The page's ``EventSource.readyState``, as last reported."""
        return ReadyState(self.view.ready_state)

    @property
    def last_event_id(self) -> str:
        """The page's last event id (``MessageEvent.lastEventId``), as last reported."""
        return str(self.view.last_event_id)

    @property
    def events_received(self) -> int:
        """Events the page's EventSource delivered, as last reported."""
        return int(self.view.events_received)

    @property
    def error(self) -> str:
        """The page's last ``error`` event in words, as last reported: "connection failed"
        (closed for good) or "connection lost; the browser reconnects"; ``""`` once open."""
        return str(self.view.error)

    @property
    def client_id(self) -> str:
        """The registry id of the page's current (or last) connection."""
        return self.client_ids[-1] if self.client_ids else ""

    @property
    def history(self) -> list[list[Any]]:
        """Events the page reported, oldest first: ``[n, id, type, data, time]``."""
        with self._lock:
            return list(self._history)

    def open(self, last_event_id: str | None = None) -> None:
        """(Re)open the page's EventSource, resuming from ``last_event_id``.

        ``None`` resumes from the browser's own last event id (sent as the ``lastEventId``
        query parameter); ``""`` starts from the live end.
        """
        self._want_open = True
        self._resume_from = last_event_id
        self._send_open()

    def close(self) -> None:
        """Close the page's EventSource (the widget stays on the page)."""
        self._want_open = False
        if self.view.comm is None:
            return  # the widget itself is gone
        self.view.send({"kind": "close"})
        self._tell_server(self.client_id, "client closed")

    def remove(self) -> None:
        """Close the connection and the widget itself."""
        self.close()
        self.view.close()

    def _route_url(self) -> str:
        assert self.page is not None
        parts = urlsplit(self.url)
        self.route = choose_route(self.mode, self.page.get("hostname", ""), parts.hostname or "")
        if self.route == "direct":
            origin = self.page.get("origin", "")
            if self.server is not None and origin:
                self.server.allow_origin(origin)
            return self.url
        if not parts.port:
            raise ValueError(f"the proxy route needs a port in the url: {self.url!r}")
        base = self.page.get("base_url") or "/"
        if not base.endswith("/"):
            base += "/"
        url = f"{base}proxy/{parts.port}{parts.path or '/'}"
        return url + (f"?{parts.query}" if parts.query else "")

    def probe(
        self, seconds: float, on_result: Callable[[BrowserProbed], None] | None = None
    ) -> str:
        """Have the page read this route with ``fetch()`` for ``seconds``; returns the registry
        id its connection will carry. What the page saw is appended to ``probes`` and given to
        ``on_result`` (on the kernel's thread, between cells). Sent when the page says hello."""
        if not seconds > 0:
            raise ValueError(f"seconds must be more than 0, not {seconds!r}")
        if on_result is not None:
            self._probe_listeners.append(on_result)
        if self.page is None:
            self._pending_probes.append(seconds)
            return ""
        url, client = self._connection_url()
        message: BrowserProbe = {
            "kind": "probe",
            "url": url,
            "client": client,
            "ms": int(seconds * 1000),
        }
        self.view.send(message)
        return client

    def _connection_url(self) -> tuple[str, str]:
        """A new registry id and the url that carries it (and the server's token)."""
        client = f"{self._base_id}-{len(self.client_ids) + 1}"
        params = {"client": client}
        token = self.server.token if self.server is not None else None
        if token:
            params["token"] = token
        url = _with_query(self._route_url(), **params)
        self.client_ids.append(client)
        return url, client

    def _send_open(self) -> None:
        if self.page is None:
            return  # sent when the page says hello
        url, client = self._connection_url()
        message: BrowserOpen = {
            "kind": "open",
            "url": url,
            "client": client,
            "route": self.route,
            "last_event_id": self._resume_from,
        }
        self.view.send(message)

    def _tell_server(self, client: str, reason: str) -> None:
        if self.server is None or not client:
            return
        try:
            self.server.client_closed(client, reason)
        except Exception as exc:  # a stopped server has nothing left to tell
            log.debug("client_closed(%r) failed: %s", client, exc)

    def _on_page_msg(self, _widget: Any, content: object, _buffers: Any) -> None:
        msg = page_message(content)
        if msg is None:
            return
        if msg["kind"] == "hello":
            if self.page is not None and self._resume_from is None and self.last_event_id:
                # A new page (a reload): it has no last id of its own, the kernel remembers it.
                self._resume_from = self.last_event_id
            self.page = {
                "origin": msg["origin"],
                "hostname": msg["hostname"],
                "base_url": msg["base_url"],
                "protocol": msg["protocol"],
            }
            self.same_origin_sources = msg["same_origin_sources"]
            if self._want_open:
                self._send_open()
            pending, self._pending_probes = self._pending_probes, []
            for seconds in pending:
                self.probe(seconds)
            if self.on_hello is not None:
                self.on_hello(self)
        elif msg["kind"] == "probed":
            self.probes.append(msg)
            for listener in self._probe_listeners:
                listener(msg)
        elif msg["kind"] == "events":
            with self._lock:
                self._history.extend(msg["rows"])
        elif msg["kind"] == "closed":
            self._tell_server(msg["client"], "client closed")
        elif msg["kind"] == "reopen":
            self.open()
