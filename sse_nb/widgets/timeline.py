"""Connection lifecycle over time, as a picture: opens, closes, drops, reconnect waits, resumes.

For a client the lane is built from its ``transitions`` (time, state, reason, last event id):
OPEN spans are green, CONNECTING spans amber (a "reconnect wait" once it has been open), and a
CLOSED end is marked red; an OPEN reached with a last event id is marked "resume from id N", and
the server's gap signal is marked where it arrived. For a server there is one lane per
connection in its registry, from ``connected_at`` to ``closed_at``, marked with the id it resumed
from and the reason it closed. The page draws an SVG, with every label as a text node.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import anywidget
import traitlets

from ..protocol import GAP_EVENT, ReadyState
from ..server.reasons import LOST
from ._batch import Flusher
from ._observe import Subscriptions, stop_following

__all__ = ["MAX_LANES", "Timeline", "client_lanes", "server_lanes"]

#: Lanes drawn for a server, newest kept: one per connection, so a long session must be cut.
MAX_LANES = 50

Lane = dict[str, Any]


def client_lanes(transitions: list[Any], gap: dict[str, Any] | None = None) -> list[Lane]:
    """One lane for a client, from its state transitions."""
    segments: list[dict[str, Any]] = []
    marks: list[dict[str, Any]] = []
    opened = False
    for i, tr in enumerate(transitions):
        end = transitions[i + 1].time if i + 1 < len(transitions) else None
        state = ReadyState(tr.state)
        if state is ReadyState.CONNECTING:
            label = "reconnect wait" if opened else "connecting"
            if segments and segments[-1]["kind"] == "open":
                marks.append(
                    {"t": tr.time, "kind": "drop", "label": "drop", "detail": tr.reason or "lost"}
                )
            segments.append({"start": tr.time, "end": end, "kind": "connecting", "label": label})
        elif state is ReadyState.OPEN:
            if tr.last_event_id:
                text = f"resume from id {tr.last_event_id}"
                marks.append({"t": tr.time, "kind": "resume", "label": text})
            else:
                marks.append({"t": tr.time, "kind": "open", "label": "open"})
            opened = True
            segments.append({"start": tr.time, "end": end, "kind": "open", "label": "open"})
        else:
            marks.append(
                {"t": tr.time, "kind": "close", "label": "close", "detail": tr.reason or "closed"}
            )
            segments.append({"start": tr.time, "end": end, "kind": "closed", "label": "closed"})
    if gap and segments:
        opens = [s["start"] for s in segments if s["kind"] == "open"]
        t = opens[-1] if opens else segments[-1]["start"]
        detail = f"gap: asked {gap.get('requested')}, oldest {gap.get('oldest')}"
        marks.append({"t": t, "kind": "gap", "label": "gap", "detail": detail})
    return [{"label": "client", "segments": segments, "marks": marks}]


def server_lanes(clients: list[Any]) -> list[Lane]:
    """One lane per connection the server knows of, oldest first."""
    lanes: list[Lane] = []
    for c in clients[-MAX_LANES:]:
        start = c.connected_at
        end = c.closed_at
        marks: list[dict[str, Any]] = []
        if c.resumed_from:
            marks.append(
                {"t": start, "kind": "resume", "label": f"resume from id {c.resumed_from}"}
            )
        else:
            marks.append({"t": start, "kind": "open", "label": "open"})
        if getattr(c, "gap", None):
            marks.append({"t": start, "kind": "gap", "label": "gap", "detail": str(c.gap)})
        segments = [{"start": start, "end": end, "kind": "open", "label": c.state}]
        if end is not None:
            reason = c.close_reason or "closed"
            kind = "drop" if reason in LOST else "close"
            marks.append({"t": end, "kind": kind, "label": reason})
        label = str(c.id)
        lanes.append({"label": label, "segments": segments, "marks": marks})
    return lanes


class Timeline(anywidget.AnyWidget):
    """``Timeline(es)`` for a client, ``Timeline(server)`` for a server's connections."""

    _esm = Path(__file__).parent / "static" / "timeline.js"

    kind = traitlets.Unicode("client").tag(sync=True)
    lanes = traitlets.List(traitlets.Dict()).tag(sync=True)
    #: Epoch seconds of the last update; the page advances open spans from it by its own clock.
    now = traitlets.Float(0.0).tag(sync=True)

    def __init__(self, source: Any, *, flusher: Flusher | None = None, **kwargs: Any) -> None:
        is_server = hasattr(source, "on_change") and hasattr(source, "clients")
        super().__init__(kind="server" if is_server else "client", **kwargs)
        self.source = source
        self._owns_flusher = flusher is None
        self.flusher = flusher if flusher is not None else Flusher()
        self.flusher.add(self._flush)
        self._subs = Subscriptions()
        if is_server:
            self._subs.add(source.on_change(self.flusher.request))
        else:
            self._subs.add(source.on("state", self._changed))
            self._subs.add(source.on(GAP_EVENT, self._changed))
        self.flusher.request()

    def _changed(self, _arg: Any = None) -> None:
        self.flusher.request()

    def build(self) -> list[Lane]:
        """The lanes for the source's current state."""
        s = self.source
        if self.kind == "server":
            return server_lanes(list(s.clients))
        return client_lanes(list(s.transitions), s.gap)

    def _flush(self) -> None:
        lanes = self.build()
        if lanes == self.lanes:
            return
        with self.hold_sync():
            self.lanes = lanes
            self.now = time.time()
        # Look once more a flush later: a notice may come before the state settles.
        self.flusher.request()

    def close(self) -> None:
        """Stop following the source."""
        stop_following(self)
        super().close()
