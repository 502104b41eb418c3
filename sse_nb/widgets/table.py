"""Live event table: rows reach the page as batched deltas; the page keeps a bounded window.

Python keeps nothing the source does not already keep: the full history is the source's own
(bounded) ``history``. The table holds only the last ``max_rows`` rows, the same rows the page
holds, so a view that appears late (a second ``display``, a reloaded page) asks for them with a
``sync`` message and gets them in one ``reset`` message. Every other message is a delta: the
rows received since the last flush, at most ``max_rows`` of them whatever the event rate.

Messages (custom comm messages, ``widget.send``):

- to the page: ``{"kind": "rows" | "reset", "rows": [[n, id, type, data, time], ...],
  "total": n}`` where ``n`` numbers rows from 1 and ``time`` is epoch seconds;
- from the page: ``{"kind": "sync"}``.

The page renders only the rows in view (``static/table.js``), and only with ``textContent``.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import deque
from pathlib import Path
from typing import Any

import anywidget
import traitlets

from ..protocol import Event
from ._batch import Flusher
from ._observe import Follower, stop_following
from .contracts import ObservedClient, Row, RowsMessage, page_message

__all__ = ["MAX_CELL_CHARS", "PAGE_ROWS", "EventTable", "Row"]

#: Rows the page holds by default: enough to read back through a burst, small enough that the
#: page's memory and a late view's ``reset`` message stay small.
PAGE_ROWS = 1_000

#: Characters of an event's data sent to the page per row: a row is one line; the whole data
#: stays in the source's history.
MAX_CELL_CHARS = 2_000


class EventTable(anywidget.AnyWidget):
    """The events of a source (anything with ``on("*", fn)`` and ``history``), newest last.

    ``EventTable(es)`` follows an ``EventSource``; ``EventTable()`` is fed with ``append``.
    Pass a shared ``flusher`` to flush together with other views of the same panel.
    """

    _esm = Path(__file__).parent / "static" / "table.js"

    #: Finds the page-side store shared by this model's views.
    key = traitlets.Unicode().tag(sync=True)

    @traitlets.default("key")
    def _default_key(self) -> str:
        return uuid.uuid4().hex

    #: Rows the page keeps (the oldest are dropped first).
    max_rows = traitlets.Int(PAGE_ROWS).tag(sync=True)
    #: Rows seen so far, kept or not.
    total = traitlets.Int(0).tag(sync=True)
    #: Height of the scrolling area in CSS pixels.
    height = traitlets.Int(260).tag(sync=True)

    def __init__(
        self,
        source: ObservedClient | None = None,
        *,
        max_rows: int = PAGE_ROWS,
        flusher: Flusher | None = None,
        **kwargs: Any,
    ) -> None:
        if max_rows < 1:
            raise ValueError(f"max_rows must be at least 1, got {max_rows!r}")
        super().__init__(max_rows=max_rows, **kwargs)
        self.source = source
        self._lock = threading.Lock()
        self._window: deque[Row] = deque(maxlen=max_rows)
        self._count = 0
        self._sent = 0
        self._sync = False
        #: Messages sent to the page so far (one per flush with news, or per sync).
        self.messages_sent = 0
        #: Rows carried by those messages (a burst beyond ``max_rows`` is counted, not sent).
        self.rows_sent = 0
        self.follower = Follower(self._flush, flusher)
        self.flusher = self.follower.flusher
        self.on_msg(self._on_page_msg)
        if source is not None:
            self.follower.follow(source.on("*", self._on_event))

    @property
    def rows(self) -> list[Row]:
        """The rows the page holds (the last ``max_rows``), oldest first."""
        with self._lock:
            return list(self._window)

    @property
    def history(self) -> list[Any]:  # the source's ``Received`` records, or ``Row`` tuples
        """The full history: the source's own when there is a source, else the kept rows."""
        if self.source is not None:
            return list(self.source.history)
        return self.rows

    def append(self, event: Event, received: float | None = None) -> None:
        """Add one event (thread safe; the page sees it at the next flush)."""
        self._on_event(event, received)

    def _on_event(self, event: Event, received: float | None = None) -> None:
        row_id = event.id if event.id is not None else ""
        with self._lock:
            self._count += 1
            self._window.append(
                (
                    self._count,
                    row_id,
                    event.type,
                    event.data[:MAX_CELL_CHARS],
                    time.time() if received is None else received,
                )
            )
        self.flusher.request()

    def _on_page_msg(self, _widget: Any, content: object, _buffers: Any) -> None:
        msg = page_message(content)
        if msg is not None and msg["kind"] == "sync":
            with self._lock:
                self._sync = True
            self.flusher.request()

    def _flush(self) -> None:
        with self._lock:
            count, sync = self._count, self._sync
            if sync:
                message: RowsMessage = {"kind": "reset", "rows": list(self._window), "total": count}
            elif count > self._sent:
                rows = [r for r in self._window if r[0] > self._sent]
                message = {"kind": "rows", "rows": rows, "total": count}
            else:
                return
            self._sent, self._sync = count, False
        self.total = count
        self.send(message)
        self.messages_sent += 1
        self.rows_sent += len(message["rows"])

    def close(self) -> None:
        """Stop following the source and close the widget."""
        stop_following(self)
        super().close()
