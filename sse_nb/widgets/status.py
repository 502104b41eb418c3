"""Status light for a client: ready state as a colour, with last id, counts and last error.

CONNECTING is amber, OPEN green, CLOSED red, the colours of the seed story: green while events
flow, red after ``close()``, amber while a dropped connection is being re-established. The page
element carries ``data-state`` so a test (or a style sheet) can follow it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anywidget
import traitlets

from ..protocol import ReadyState
from ._batch import Flusher
from ._observe import Follower, describe_error, stop_following
from .contracts import ObservedClient

__all__ = ["StatusLight"]


class StatusLight(anywidget.AnyWidget):
    """Mirrors a client's ``ready_state``, ``last_event_id``, counts and ``error``.

    Changes reach the page through the (possibly shared) ``flusher``: at most ``FLUSH_HZ``
    updates a second, however fast events arrive.
    """

    _esm = Path(__file__).parent / "static" / "status.js"

    state = traitlets.Unicode(ReadyState.CONNECTING.name).tag(sync=True)
    last_event_id = traitlets.Unicode("").tag(sync=True)
    events_received = traitlets.Int(0).tag(sync=True)
    reconnects = traitlets.Int(0).tag(sync=True)
    error = traitlets.Unicode("").tag(sync=True)
    gap = traitlets.Unicode("").tag(sync=True)
    url = traitlets.Unicode("").tag(sync=True)

    def __init__(
        self, source: ObservedClient, *, flusher: Flusher | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.source = source
        self._shown: tuple[Any, ...] = ()
        self.follower = Follower(self._flush, flusher)
        self.flusher = self.follower.flusher
        self.follower.follow(source.on("state", self.follower.request))
        self.follower.follow(source.on("*", self.follower.request))
        self.flusher.request()

    def _flush(self) -> None:
        s = self.source
        gap = s.gap
        values = (
            ReadyState(s.ready_state).name,
            s.last_event_id or "",
            s.events_received,
            s.reconnects,
            describe_error(s.error),
            json.dumps(gap, sort_keys=True) if gap else "",
            str(s.url),
        )
        if values == self._shown:
            return
        self._shown = values
        with self.hold_sync():
            (
                self.state,
                self.last_event_id,
                self.events_received,
                self.reconnects,
                self.error,
                self.gap,
                self.url,
            ) = values
        # A source may notify before its counters move: look once more, a flush later, so the
        # light settles on the final values even when no further event comes.
        self.flusher.request()

    def close(self) -> None:
        """Stop following the source and close the widget."""
        stop_following(self)
        super().close()
