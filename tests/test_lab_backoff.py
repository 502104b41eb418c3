"""The backoff explorer: the planned waits of a policy and what a live client really waited."""

from __future__ import annotations

from sse_nb import EventServer, EventSource, ReadyState, ReconnectPolicy
from sse_nb.lab import BackoffExplorer, wait_until


def test_a_policy_alone_draws_its_seeded_schedule() -> None:
    policy = ReconnectPolicy(delay=1.0, backoff=2.0, max_delay=8.0, jitter=0.5)
    view = BackoffExplorer(policy, attempts=5, seed=3)
    try:
        assert [p["base"] for p in view.planned] == [1.0, 2.0, 4.0, 8.0, 8.0]
        assert view.planned == [w._asdict() for w in policy.schedule(5, seed=3)]
        assert view.measured == [] and "jitter ±50%" in view.title
    finally:
        view.close()


def test_a_live_client_waits_what_its_policy_planned() -> None:
    policy = ReconnectPolicy(delay=0.2, backoff=2.0, max_delay=5.0, jitter=0.0)
    server = EventServer(heartbeat=None).start()
    es = EventSource(server.url, reconnect=policy)
    view = BackoffExplorer(es, attempts=4)
    try:
        es.wait_for(ReadyState.OPEN, 20)
        server.stop()  # every attempt from now on is refused
        wait_until(lambda: len(view.measured) >= 3, 30, what="three measured waits")
        waits = [m["wait"] for m in view.measured[:3]]
    finally:
        view.close()
        es.close()
        server.close()
    assert [m["attempt"] for m in view.measured[:3]] == [0, 1, 2]
    for planned, waited in zip([0.2, 0.4, 0.8], waits, strict=True):
        assert planned * 0.9 <= waited < planned + 3.0  # the loop adds latency, never less
