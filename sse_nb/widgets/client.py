"""Client panel: a status light, Close / Reconnect buttons and the live event table of a client.

This is what ``display(es)`` shows for an ``EventSource``. The three views share one flusher,
so the panel as a whole updates the page at most ``FLUSH_HZ`` times a second. The buttons only
call the client's own ``close()`` and ``reconnect()``: the panel opens no connection itself.
"""

from __future__ import annotations

from typing import Any

import ipywidgets

from ._batch import Flusher
from .contracts import ObservedClient
from .status import StatusLight
from .table import PAGE_ROWS, EventTable

__all__ = ["ClientPanel"]


class ClientPanel(ipywidgets.VBox):  # type: ignore[misc]
    """``ClientPanel(es)``: watch an ``EventSource``, close it and reconnect it by hand."""

    def __init__(self, source: ObservedClient, *, max_rows: int = PAGE_ROWS, **kwargs: Any) -> None:
        self.source = source
        self.flusher = Flusher()
        self.status = StatusLight(source, flusher=self.flusher)
        self.table = EventTable(source, max_rows=max_rows, flusher=self.flusher)
        self.close_button = ipywidgets.Button(
            description="Close", icon="stop", tooltip="es.close(): stop, no reconnect"
        )
        self.reconnect_button = ipywidgets.Button(
            description="Reconnect",
            icon="refresh",
            tooltip="es.reconnect(): connect again, resuming from the last event id",
        )
        self.close_button.on_click(lambda _b: source.close())
        self.reconnect_button.on_click(lambda _b: source.reconnect())
        buttons = ipywidgets.HBox([self.close_button, self.reconnect_button])
        super().__init__([self.status, buttons, self.table], **kwargs)
        self.add_class("sse-nb-client-panel")

    def close(self) -> None:
        """Stop following the client (the client itself stays as it is)."""
        self.flusher.close()
        for w in (self.status, self.table, self.close_button, self.reconnect_button):
            w.close()
        super().close()
