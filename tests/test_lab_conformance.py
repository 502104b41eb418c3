"""The conformance grid over real HTTP: sse_nb passes every case; other clients get their score."""

from __future__ import annotations

from sse_nb.lab import Conformance
from sse_nb.protocol.cases import CASES

#: Seconds for the whole grid: cases x clients, each a few ms, on a loaded machine.
GRID_TIMEOUT = 300


def test_sse_nb_passes_every_case_and_every_installed_client_is_scored() -> None:
    grid = Conformance().run()
    results = grid.wait(GRID_TIMEOUT)
    assert grid.done
    failures = {k: v for k, v in results.items() if k.endswith("|sse_nb") and not v["ok"]}
    assert failures == {}
    summary = grid.summary()
    assert summary["sse_nb"] == (len(CASES), len(CASES))
    assert set(summary) >= {"sse_nb", "httpx-sse", "requests-sse"}  # the test extra has both
    assert len(results) == len(CASES) * len(grid.clients)
    print("conformance:", summary)
