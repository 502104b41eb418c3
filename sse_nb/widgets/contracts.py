"""What the views need from what they observe, and the messages they exchange with the page.

The views never import a client or a server class to work: they take anything that has the
members below (``EventSource``, ``AsyncEventSource``, ``EventServer`` all do), and mypy checks
both sides against these Protocols. The TypedDicts spell every message a view sends to its page
or accepts from it (custom comm messages); what comes from the page is untrusted JSON, so each
view still checks ``kind`` and the types of the fields it reads.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypedDict

from ..protocol import ReadyState

if TYPE_CHECKING:
    from ..client import AsyncEventSource, EventSource, Received, Transition
    from ..server import ClientInfo, EventServer

__all__ = [
    "BrowserClosed",
    "BrowserEvents",
    "BrowserHello",
    "BrowserOpen",
    "BrowserProbe",
    "BrowserProbed",
    "BrowserReopen",
    "ClientRow",
    "DropRequest",
    "Lane",
    "Mark",
    "ObservedClient",
    "ObservedServer",
    "PageMessage",
    "PublishRequest",
    "Row",
    "RowsMessage",
    "Segment",
    "SyncRequest",
    "page_message",
]

#: A row of the event table: number, id, type, data, time received (epoch seconds).
Row = tuple[int, str, str, str, float]


class ObservedClient(Protocol):
    """A client a view follows: ``EventSource`` or ``AsyncEventSource``."""

    @property
    def url(self) -> str: ...
    @property
    def ready_state(self) -> ReadyState: ...
    @property
    def last_event_id(self) -> str: ...
    @property
    def events_received(self) -> int: ...
    @property
    def reconnects(self) -> int: ...
    @property
    def error(self) -> BaseException | None: ...
    @property
    def gap(self) -> dict[str, Any] | None: ...
    @property
    def history(self) -> list[Received]: ...
    @property
    def transitions(self) -> list[Transition]: ...

    def on(self, type: str, callback: Callable[[Any], None]) -> Callable[[], None]: ...
    def close(self) -> None: ...
    def reconnect(self) -> None: ...


class ObservedServer(Protocol):
    """A server a view follows or acts on: ``EventServer``."""

    @property
    def url(self) -> str: ...
    @property
    def running(self) -> bool: ...
    @property
    def published(self) -> int: ...
    @property
    def clients(self) -> Sequence[ClientInfo]: ...

    def on_change(self, callback: Callable[[], Any]) -> Callable[[], None]: ...
    def url_for(self, channel: str) -> str: ...
    def publish(self, data: Any, *, event: str | None = None) -> str: ...
    def disconnect(self, client_id: str | None = None) -> int: ...
    def client_closed(self, client_id: str, reason: str = ...) -> bool: ...
    def allow_origin(self, origin: str) -> None: ...

    #: Sent by the page as the ``token`` query parameter when set.
    token: str | None


if TYPE_CHECKING:  # mypy checks here that the project's own clients and server fit

    def conforms(
        sync: EventSource, asynchronous: AsyncEventSource, server: EventServer
    ) -> tuple[ObservedClient, ObservedClient, ObservedServer]:
        return sync, asynchronous, server


# -- the event table (widgets/table.py) -----------------------------------------------------


class RowsMessage(TypedDict):
    """To the page: rows since the last flush (``rows``) or the whole window (``reset``)."""

    kind: Literal["rows", "reset"]
    rows: list[Row]
    total: int


class SyncRequest(TypedDict):
    """From the page: send me the whole window (a view that appeared late)."""

    kind: Literal["sync"]


# -- the server panel (widgets/server.py) ---------------------------------------------------


class ClientRow(TypedDict):
    """One connection of the server's registry, as plain JSON values for the page."""

    id: str
    remote: str
    channel: str
    state: str
    connected_at: float | None
    closed_at: float | None
    last_event_id: str
    resumed_from: str
    events_sent: int
    close_reason: str
    gap: str


class PublishRequest(TypedDict):
    """From the page: publish ``data`` (as event type ``event``, when not empty)."""

    kind: Literal["publish"]
    data: str
    event: str


class DropRequest(TypedDict):
    """From the page: drop connection ``id`` (``None``: every connection)."""

    kind: Literal["drop"]
    id: str | None


class FaultRequest(TypedDict):
    """From the page: make fault ``fault`` (a ``server.faults`` method or answer kind) on
    connection ``id`` (``None``: every connection); ``n`` is its number (attempts, events)."""

    kind: Literal["fault"]
    fault: str
    id: str | None
    n: int


# -- the timeline (widgets/timeline.py) -----------------------------------------------------


class Segment(TypedDict):
    """A span of one state: ``end`` is ``None`` while it lasts."""

    start: float
    end: float | None
    kind: Literal["connecting", "open", "closed"]
    label: str


class Mark(TypedDict, total=False):
    """A moment on a lane: open, resume, drop, close or gap; ``detail`` is the hover text."""

    t: float
    kind: Literal["open", "resume", "drop", "close", "gap", "fault"]
    label: str
    detail: str


class Lane(TypedDict):
    """One client's, or one connection's, line of the picture."""

    label: str
    segments: list[Segment]
    marks: list[Mark]


# -- the browser's EventSource (widgets/browser.py) -----------------------------------------


class BrowserHello(TypedDict):
    """From the page, first: where the page is, so the kernel can pick the route."""

    kind: Literal["hello"]
    origin: str
    hostname: str
    base_url: str
    #: How the page itself was fetched (the navigation's ``nextHopProtocol``: ``"http/1.1"``,
    #: ``"h2"``, ...; ``""`` when the browser does not say).
    protocol: str
    #: EventSources open or connecting in this page to the page's own origin, this one not yet
    #: counted (a browser allows about six HTTP/1.1 connections per origin).
    same_origin_sources: int


class BrowserEvents(TypedDict):
    """From the page: events its ``EventSource`` delivered, ``[n, id, type, data, time]``."""

    kind: Literal["events"]
    rows: list[list[Any]]


class BrowserClosed(TypedDict):
    """From the page: its ``EventSource`` for registry id ``client`` closed."""

    kind: Literal["closed"]
    client: str
    reason: str


class BrowserReopen(TypedDict):
    """From the page: the user asked to open the connection again."""

    kind: Literal["reopen"]


class BrowserOpen(TypedDict):
    """To the page: open ``url``; ``last_event_id`` ``None`` means the browser's own."""

    kind: Literal["open"]
    url: str
    client: str
    route: str
    last_event_id: str | None


class BrowserProbe(TypedDict):
    """To the page: read ``url`` with ``fetch()`` for ``ms`` milliseconds and report it."""

    kind: Literal["probe"]
    url: str
    client: str
    ms: int


class BrowserProbed(TypedDict):
    """From the page: what a probe saw. Times are the page's clock, epoch seconds.

    ``status`` 0 and ``headers_ms`` -1: no response headers arrived before the probe ended.
    ``events``: ``[data, time]`` per ``data:`` line; ``heartbeats``: the time of each empty
    comment line; ``chunks``: reads that returned bytes; ``error``: a network error's text;
    ``same_origin_sources``: the page's EventSources to its own origin when the probe began.
    """

    kind: Literal["probed"]
    client: str
    url: str
    status: int
    content_type: str
    accel_buffering: str
    headers_ms: float
    events: list[list[Any]]
    heartbeats: list[float]
    chunks: int
    error: str
    same_origin_sources: int


#: Every message a page may send a view.
PageMessage = (
    SyncRequest
    | PublishRequest
    | DropRequest
    | FaultRequest
    | BrowserHello
    | BrowserEvents
    | BrowserClosed
    | BrowserReopen
    | BrowserProbed
)


def page_message(content: object) -> PageMessage | None:
    """What the page sent, as its TypedDict with every field of the right type; ``None`` for
    anything that is no message of ours. Fields are made ``str`` (a missing one ``""``)."""
    if not isinstance(content, dict):
        return None

    def text(key: str) -> str:
        value = content.get(key)
        return "" if value is None else str(value)

    def count(key: str) -> int:
        value = content.get(key)
        return value if isinstance(value, int) and not isinstance(value, bool) else 0

    kind = content.get("kind")
    if kind == "sync":
        return {"kind": "sync"}
    if kind == "publish":
        return {"kind": "publish", "data": text("data"), "event": text("event")}
    if kind == "drop":
        return {"kind": "drop", "id": None if content.get("id") is None else text("id")}
    if kind == "fault":
        n = content.get("n")
        return {
            "kind": "fault",
            "fault": text("fault"),
            "id": None if content.get("id") is None else text("id"),
            "n": n if isinstance(n, int) and not isinstance(n, bool) else 1,
        }
    if kind == "hello":
        return {
            "kind": "hello",
            "origin": text("origin"),
            "hostname": text("hostname"),
            "base_url": text("base_url"),
            "protocol": text("protocol"),
            "same_origin_sources": count("same_origin_sources"),
        }
    if kind == "events":
        rows = content.get("rows")
        kept = [r for r in rows if isinstance(r, list)] if isinstance(rows, list) else []
        return {"kind": "events", "rows": kept}
    if kind == "closed":
        return {"kind": "closed", "client": text("client"), "reason": text("reason")}
    if kind == "reopen":
        return {"kind": "reopen"}
    if kind == "probed":
        events = content.get("events")
        beats = content.get("heartbeats")
        ms = content.get("headers_ms")
        return {
            "kind": "probed",
            "client": text("client"),
            "url": text("url"),
            "status": count("status"),
            "content_type": text("content_type"),
            "accel_buffering": text("accel_buffering"),
            "headers_ms": float(ms) if isinstance(ms, (int, float)) else -1.0,
            "events": [e for e in events if isinstance(e, list) and len(e) == 2]
            if isinstance(events, list)
            else [],
            "heartbeats": [float(t) for t in beats if isinstance(t, (int, float))]
            if isinstance(beats, list)
            else [],
            "chunks": count("chunks"),
            "error": text("error"),
            "same_origin_sources": count("same_origin_sources"),
        }
    return None
