"""Server panel: url, events published, the live client registry, a publish box, drop buttons.

The registry shows what the server knows of each connection: its state, the last id it sent,
where it resumed from and why it closed, so a client's row turning "closed" is the server
detecting the close. "Drop" calls ``server.disconnect(id)`` (the network-failure button); the
panel never opens a connection itself.

Messages from the page (custom comm messages): ``{"kind": "publish", "data": str,
"event": str}``, ``{"kind": "drop", "id": str | null}`` (null drops every connection).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import anywidget
import traitlets

from ._batch import Flusher
from ._observe import Follower, stop_following
from .contracts import ClientRow, ObservedServer, page_message

if TYPE_CHECKING:
    from ..server import ClientInfo

__all__ = ["MAX_CLIENT_ROWS", "ServerPanel", "client_row"]

#: Registry rows shown, newest kept: a long-running server with clients that come and go would
#: otherwise grow the page without bound.
MAX_CLIENT_ROWS = 200

log = logging.getLogger(__name__)


def client_row(info: ClientInfo) -> ClientRow:
    """A ``ClientInfo`` as plain JSON values for the page."""
    return {
        "id": str(info.id),
        "remote": str(info.remote or ""),
        "channel": str(info.channel or ""),
        "state": str(info.state or ""),
        "connected_at": info.connected_at,
        "closed_at": info.closed_at,
        "last_event_id": "" if info.last_event_id is None else str(info.last_event_id),
        "resumed_from": "" if info.resumed_from is None else str(info.resumed_from),
        "events_sent": int(info.events_sent or 0),
        "close_reason": str(info.close_reason or ""),
        "gap": "" if not info.gap else str(info.gap),
    }


class ServerPanel(anywidget.AnyWidget):
    """``ServerPanel(server)``: what an ``EventServer`` is doing, with its controls."""

    _esm = Path(__file__).parent / "static" / "server.js"

    url = traitlets.Unicode("").tag(sync=True)
    running = traitlets.Bool(False).tag(sync=True)
    published = traitlets.Int(0).tag(sync=True)
    clients = traitlets.List(traitlets.Dict()).tag(sync=True)
    #: The result of the last action taken from the page (publish, drop), or its error.
    message = traitlets.Unicode("").tag(sync=True)
    #: The server's event-log failure (``server.log_error``), empty while the log works.
    log_error = traitlets.Unicode("").tag(sync=True)

    def __init__(
        self, server: ObservedServer, *, flusher: Flusher | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.server = server
        self._note = ""
        self._shown: tuple[Any, ...] = ()
        self.follower = Follower(self._flush, flusher)
        self.flusher = self.follower.flusher
        self.follower.follow(server.on_change(self.follower.request))
        self.on_msg(self._on_page_msg)
        self.flusher.request()

    def _flush(self) -> None:
        s = self.server
        rows = [client_row(c) for c in s.clients][-MAX_CLIENT_ROWS:]
        failure = getattr(s, "log_error", None)
        values = (
            bool(s.running),
            str(s.url) if s.running else "",
            int(s.published),
            "" if failure is None else str(failure),
            rows,
        )
        if values == self._shown and self.message == self._note:
            return
        self._shown = values
        with self.hold_sync():
            self.running, self.url, self.published, self.log_error = values[:4]
            if rows != self.clients:
                self.clients = cast("list[dict[str, Any]]", rows)  # the trait holds plain dicts
            self.message = self._note
        # Look once more a flush later: a notice may come before the registry settles.
        self.flusher.request()

    def _on_page_msg(self, _widget: Any, content: object, _buffers: Any) -> None:
        msg = page_message(content)
        if msg is None:
            return
        kind = msg["kind"]
        try:
            if msg["kind"] == "publish":
                new_id = self.server.publish(msg["data"], event=msg["event"] or None)
                self._note = f"published id {new_id}"
            elif msg["kind"] == "drop":
                n = self.server.disconnect(msg["id"])
                self._note = f"dropped {n} connection(s)"
            elif msg["kind"] == "fault":
                self._note = fault(self.server, msg["fault"], msg["id"], msg["n"])
        except Exception as exc:  # shown in the panel: a bad input must not pass silently
            log.warning("server panel action %r failed: %s", kind, exc)
            self._note = f"{kind} failed: {type(exc).__name__}: {exc}"
        self.flusher.request()

    def close(self) -> None:
        """Stop following the server (the server keeps running)."""
        stop_following(self)
        super().close()


#: Bytes per second of the panel's "throttle" button when the page gives none: slow enough to
#: watch events trickle in.
PANEL_THROTTLE = 200


def fault(server: Any, name: str, client: str | None, n: int) -> str:
    """Make the fault a panel button asked for (``server.faults``); returns what was done.

    ``client``: the target's id, ``None`` for every connection. ``n``: attempts to answer, the
    events trim keeps, or throttle's bytes per second.
    """
    faults = server.faults
    who = "" if client is None else f" of {client}"
    if name in ("reset", "close", "stall", "resume"):
        count = getattr(faults, name)(client)
        return f"{name}: {count} connection(s){who}"
    if name == "throttle":
        rate = n or PANEL_THROTTLE
        count = faults.throttle(client, rate)
        return f"throttle: {count} connection(s){who} at {rate} B/s"
    if name in ("204", "500", "content-type", "redirect"):
        faults.answer_next(n, name)
        return f"the next {n} attempt(s) get {name}"
    if name == "trim":
        return f"trim: dropped {faults.trim(n)} event(s), kept the last {n}"
    if name == "restart":
        faults.restart()
        return "restarted on the same port"
    raise ValueError(f"no such fault: {name!r}")
