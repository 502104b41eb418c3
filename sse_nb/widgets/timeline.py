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
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, cast

import anywidget
import traitlets

from ..protocol import GAP_EVENT, ReadyState
from ..server.reasons import LOST
from ._batch import Flusher
from ._observe import Follower, stop_following
from .contracts import Lane, Mark, ObservedClient, ObservedServer, Segment

if TYPE_CHECKING:
    from ..client import Transition
    from ..server import ClientInfo

__all__ = ["MAX_LANES", "Timeline", "client_lanes", "server_lanes"]

#: Lanes drawn for a server, newest kept: one per connection, so a long session must be cut.
MAX_LANES = 50


def client_lanes(
    transitions: Sequence[Transition], gap: dict[str, Any] | None = None
) -> list[Lane]:
    """One lane for a client, from its state transitions."""
    segments: list[Segment] = []
    marks: list[Mark] = []
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


def server_lanes(clients: Sequence[ClientInfo]) -> list[Lane]:
    """One lane per connection the server knows of, oldest first."""
    lanes: list[Lane] = []
    for c in clients[-MAX_LANES:]:
        start = c.connected_at
        end = c.closed_at
        marks: list[Mark] = []
        if c.resumed_from:
            marks.append(
                {"t": start, "kind": "resume", "label": f"resume from id {c.resumed_from}"}
            )
        else:
            marks.append({"t": start, "kind": "open", "label": "open"})
        if c.gap:
            marks.append({"t": start, "kind": "gap", "label": "gap", "detail": str(c.gap)})
        segments: list[Segment] = [{"start": start, "end": end, "kind": "open", "label": c.state}]
        if end is not None:
            reason = c.close_reason or "closed"
            kind: Literal["drop", "close"] = "drop" if reason in LOST else "close"
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

    def __init__(
        self,
        source: ObservedClient | ObservedServer,
        *,
        flusher: Flusher | None = None,
        **kwargs: Any,
    ) -> None:
        is_server = hasattr(source, "on_change") and hasattr(source, "clients")
        super().__init__(kind="server" if is_server else "client", **kwargs)
        self.source = source
        self.follower = Follower(self._flush, flusher)
        self.flusher = self.follower.flusher
        if is_server:
            server = cast("ObservedServer", source)
            self.follower.follow(server.on_change(self.follower.request))
        else:
            client = cast("ObservedClient", source)
            self.follower.follow(client.on("state", self.follower.request))
            self.follower.follow(client.on(GAP_EVENT, self.follower.request))
        self.flusher.request()

    def build(self) -> list[Lane]:
        """The lanes for the source's current state."""
        if self.kind == "server":
            server = cast("ObservedServer", self.source)
            lanes = server_lanes(list(server.clients))
            faults = getattr(server, "faults", None)
            marks = list(faults.marks()) if faults is not None else []
            if marks:  # one lane of the faults made on demand, each at its time
                start, end = marks[0]["t"], marks[-1]["t"]
                span: Segment = {"start": start, "end": end, "kind": "closed", "label": "faults"}
                lanes.insert(0, {"label": "faults", "segments": [span], "marks": marks})
            return lanes
        client = cast("ObservedClient", self.source)
        return client_lanes(list(client.transitions), client.gap)

    def _flush(self) -> None:
        lanes = self.build()
        if lanes == self.lanes:
            return
        with self.hold_sync():
            self.lanes = cast("list[dict[str, Any]]", lanes)  # the trait holds plain dicts
            self.now = time.time()
        # Look once more a flush later: a notice may come before the state settles.
        self.flusher.request()

    def close(self) -> None:
        """Stop following the source."""
        stop_following(self)
        super().close()
