"""The odd servers of the client tests answer as their handlers say (tests/odd_server.py)."""

from __future__ import annotations

from typing import Any

import httpx
from odd_server import OddServer


def test_odd_server_replays_after_last_event_id(odd: OddServer) -> None:
    odd.state.log = [(str(i), f"e{i}") for i in range(5)]
    r = httpx.get(odd.url("/replay?per=2"), headers={"Last-Event-ID": "1"}, timeout=5)
    assert r.text == "id: 2\ndata: e2\n\nid: 3\ndata: e3\n\n"
    assert odd.state.requests("/replay")[0].last_event_id == "1"


def test_odd_server_answers_the_odd_cases(odd: OddServer) -> None:
    statuses: dict[str, Any] = {}
    for path in ("/status/204", "/status/500", "/wrong-type"):
        r = httpx.get(odd.url(path), timeout=5)
        statuses[path] = (r.status_code, r.headers.get("content-type"))
    assert statuses["/status/204"][0] == 204
    assert statuses["/status/500"][0] == 500
    assert statuses["/wrong-type"] == (200, "application/json; charset=utf-8")
