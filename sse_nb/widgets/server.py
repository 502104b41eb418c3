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
from typing import Any

import anywidget
import traitlets

from ._batch import Flusher
from ._observe import Subscriptions, stop_following

__all__ = ["MAX_CLIENT_ROWS", "ServerPanel", "client_row"]

#: Registry rows shown, newest kept: a long-running server with clients that come and go would
#: otherwise grow the page without bound.
MAX_CLIENT_ROWS = 200

log = logging.getLogger(__name__)


def client_row(info: Any) -> dict[str, Any]:
    """A ``ClientInfo`` as plain JSON values for the page."""

    def get(name: str, default: Any = None) -> Any:
        return getattr(info, name, default)

    gap = get("gap")
    return {
        "id": str(get("id", "")),
        "remote": str(get("remote", "") or ""),
        "channel": str(get("channel", "") or ""),
        "state": str(get("state", "") or ""),
        "connected_at": get("connected_at"),
        "closed_at": get("closed_at"),
        "last_event_id": "" if get("last_event_id") is None else str(get("last_event_id")),
        "resumed_from": "" if get("resumed_from") is None else str(get("resumed_from")),
        "events_sent": int(get("events_sent", 0) or 0),
        "close_reason": str(get("close_reason") or ""),
        "gap": "" if not gap else str(gap),
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

    def __init__(self, server: Any, *, flusher: Flusher | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.server = server
        self._owns_flusher = flusher is None
        self.flusher = flusher if flusher is not None else Flusher()
        self.flusher.add(self._flush)
        self._note = ""
        self._shown: tuple[Any, ...] = ()
        self._subs = Subscriptions()
        self._subs.add(server.on_change(self.flusher.request))
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
                self.clients = rows
            self.message = self._note
        # Look once more a flush later: a notice may come before the registry settles.
        self.flusher.request()

    def _on_page_msg(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if not isinstance(content, dict):
            return
        kind = content.get("kind")
        try:
            if kind == "publish":
                event = content.get("event") or None
                new_id = self.server.publish(str(content.get("data", "")), event=event)
                self._note = f"published id {new_id}"
            elif kind == "drop":
                target = content.get("id")
                n = self.server.disconnect(None if target is None else str(target))
                self._note = f"dropped {n} connection(s)"
        except Exception as exc:  # shown in the panel: a bad input must not pass silently
            log.warning("server panel action %r failed: %s", kind, exc)
            self._note = f"{kind} failed: {type(exc).__name__}: {exc}"
        self.flusher.request()

    def close(self) -> None:
        """Stop following the server (the server keeps running)."""
        stop_following(self)
        super().close()
