"""The backoff explorer: a policy's planned reconnect waits, with their jitter band, next to what
a live client actually waited.

The plan is ``ReconnectPolicy.schedule(n, retry_ms, seed=...)``. The measured waits come from the
client's transition log: a client that loses its connection records a CONNECTING transition,
waits, then records ``"reconnect attempt N"``; the time between the two is the wait it really
took (the loop's own latency included), numbered from 0 since the connection last opened.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anywidget
import traitlets

from ..protocol import ReadyState, ReconnectPolicy
from ..widgets import Flusher, Follower, stop_following

__all__ = ["PLANNED_ATTEMPTS", "BackoffExplorer", "measured_waits"]

#: Attempts drawn by default: enough to reach the cap of the default policy (3 s doubling to 30).
PLANNED_ATTEMPTS = 8
#: Measured waits kept (the newest): a flapping connection must not grow the view.
MAX_MEASURED = 100


def measured_waits(transitions: list[Any]) -> list[dict[str, Any]]:
    """``[{"attempt": k, "wait": seconds}]`` from a client's transitions, oldest first.

    ``attempt`` counts from 0 after each OPEN, as ``ReconnectPolicy`` does.
    """
    out: list[dict[str, Any]] = []
    attempt = 0
    prev = None
    for tr in transitions:
        if tr.state == ReadyState.OPEN:
            attempt = 0
        elif prev is not None and str(tr.reason).startswith("reconnect attempt"):
            out.append({"attempt": attempt, "wait": round(tr.time - prev.time, 4)})
            attempt += 1
        prev = tr
    return out[-MAX_MEASURED:]


class BackoffExplorer(anywidget.AnyWidget):
    """``BackoffExplorer(policy)``, or ``BackoffExplorer(es)`` to draw a live client's policy
    and the waits it really took; ``seed`` fixes the planned jitter, ``retry_ms`` the base."""

    _esm = Path(__file__).parent / "static" / "backoff.js"

    planned = traitlets.List(traitlets.Dict()).tag(sync=True)
    measured = traitlets.List(traitlets.Dict()).tag(sync=True)
    title = traitlets.Unicode("").tag(sync=True)

    def __init__(
        self,
        source: Any,
        *,
        attempts: int = PLANNED_ATTEMPTS,
        retry_ms: int | None = None,
        seed: int | None = 0,
        flusher: Flusher | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.source = None if isinstance(source, ReconnectPolicy) else source
        self.policy: ReconnectPolicy = (
            source if isinstance(source, ReconnectPolicy) else source.policy
        )
        self.attempts, self.retry_ms, self.seed = attempts, retry_ms, seed
        self.follower = Follower(self._flush, flusher)
        self.flusher = self.follower.flusher
        if self.source is not None:
            self.follower.follow(self.source.on("state", self.follower.request))
        self._flush()

    def _flush(self) -> None:
        retry = self.retry_ms
        if retry is None and self.source is not None:
            retry = self.source.retry  # the server's retry: is the base the client uses
        p = self.policy
        with self.hold_sync():
            self.title = (
                f"delay {p.delay:g} s × {p.backoff:g}^attempt, cap {p.max_delay:g} s, "
                f"jitter ±{p.jitter:.0%}" + (f", server retry: {retry} ms" if retry else "")
            )
            self.planned = [w._asdict() for w in p.schedule(self.attempts, retry, seed=self.seed)]
            if self.source is not None:
                self.measured = measured_waits(list(self.source.transitions))

    def close(self) -> None:
        """Stop following the client and close the view."""
        stop_following(self)
        super().close()
