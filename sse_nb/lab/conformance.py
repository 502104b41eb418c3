"""The conformance grid: the standard's cases served from the kernel, read by several clients.

Each case of ``sse_nb.protocol.cases`` becomes a one-response recording that an ``EventServer``
plays at ``/play/<case>`` (its chunks a few ms apart, so a split CRLF really arrives in two
reads). Every available reader (``sse_nb.client.others``: sse_nb, and httpx-sse and
requests-sse when installed) reads every case; a cell passes when the library delivered exactly
the expected ``(type, data, last event id)`` list. The grid fills in live, in a background
thread, so the notebook stays responsive.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import anywidget
import traitlets

from ..client.others import Reader, describe, readers
from ..protocol.cases import CASES, Case
from ..protocol.recording import Recording, Response
from ..server import EventServer
from .wire import escape_bytes

__all__ = ["CASE_TIMEOUT", "CHUNK_GAP", "Conformance"]

#: Seconds a reader may take for one case: a case is a few bytes, so only a hang takes this long.
CASE_TIMEOUT = 10.0
#: Seconds between a case's chunks, so that each arrives in its own read.
CHUNK_GAP = 0.02


def recording_of(case: Case) -> Recording:
    chunks = [(i * CHUNK_GAP, c) for i, c in enumerate(case.chunks)]
    headers = [("Content-Type", "text/event-stream"), ("Cache-Control", "no-cache")]
    return Recording("", 0.0, [Response(0.0, 200, headers, chunks)])


def check(case: Case, reader: Reader, url: str) -> dict[str, Any]:
    """One cell: did ``reader`` deliver exactly the case's events?"""
    try:
        got = reader(url, CASE_TIMEOUT)
    except Exception as exc:  # a library's failure is its answer
        return {"ok": False, "got": describe(exc)}
    ok = [tuple(e) for e in got] == [tuple(e) for e in case.events]
    return {"ok": ok, "got": repr(got)}


class Conformance(anywidget.AnyWidget):
    """``Conformance().run()``: the pass/fail grid of every case for every available client."""

    _esm = Path(__file__).parent / "static" / "conformance.js"

    clients = traitlets.List(traitlets.Unicode()).tag(sync=True)
    cases = traitlets.List(traitlets.Dict()).tag(sync=True)
    #: ``"case|client"`` -> ``{"ok": bool, "got": str}``, filled in as the run goes.
    results = traitlets.Dict().tag(sync=True)
    done = traitlets.Bool(False).tag(sync=True)

    def __init__(self, clients: dict[str, Reader] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._readers = clients if clients is not None else readers()
        self.clients = list(self._readers)
        self.cases = [
            {
                "name": c.name,
                "rule": c.rule,
                "bytes": " | ".join(escape_bytes(ch) for ch in c.chunks),
                "expected": repr([tuple(e) for e in c.events]),
            }
            for c in CASES
        ]
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def run(self) -> Conformance:
        """Start the run in the background (once); returns the widget to display."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="sse-nb-conformance")
            self._thread.daemon = True
            self._thread.start()
        return self

    def wait(self, timeout: float | None = None) -> dict[str, dict[str, Any]]:
        """Block until the run ends; return the results."""
        if self._thread is not None:
            self._thread.join(timeout)
        return dict(self.results)

    def summary(self) -> dict[str, tuple[int, int]]:
        """``{client: (passed, cases)}`` so far."""
        out: dict[str, tuple[int, int]] = {}
        for client in self.clients:
            cells = [v for k, v in self.results.items() if k.endswith("|" + client)]
            out[client] = (sum(1 for v in cells if v["ok"]), len(CASES))
        return out

    def _run(self) -> None:
        server = EventServer(heartbeat=None).start()
        try:
            for i, case in enumerate(CASES):
                url = server.play(recording_of(case), speed=1.0, name=f"case{i}")
                for client, reader in self._readers.items():
                    cell = check(case, reader, url)
                    with self._lock:
                        self.results = {**self.results, f"{case.name}|{client}": cell}
        finally:
            server.close()
            self.done = True
