"""A pytest plugin (entry point ``pytest11``): the ``sse_replay`` fixture serves a recording.

Record a real stream once (``sse-nb record URL -o tests/data/feed.jsonl`` or ``es.record``),
then test the code that consumes it against a byte-identical replay, offline::

    def test_my_consumer(sse_replay):
        url = sse_replay("tests/data/feed.jsonl")        # as fast as possible
        assert my_consumer(url) == [...]

``sse_replay(recording, speed=None)`` starts a server on 127.0.0.1 (a free port) and returns the
URL where the recording plays (``speed=1.0`` keeps its timing); the servers stop after the test.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

__all__ = ["sse_replay"]

Serve = Callable[..., str]


@pytest.fixture()
def sse_replay() -> Iterator[Serve]:
    """A function that serves a recording and returns its URL (see the module docstring)."""
    from ..server import EventServer

    servers: list[Any] = []

    def serve(recording: Any, *, speed: float | None = None) -> str:
        if isinstance(recording, str):
            recording = Path(recording)
        server = EventServer(heartbeat=None).start()
        servers.append(server)
        url: str = server.play(recording, speed=speed)
        return url

    try:
        yield serve
    finally:
        for server in servers:
            server.close()
