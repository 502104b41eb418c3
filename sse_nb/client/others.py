"""Readers for one event stream through several client libraries, for the conformance grid.

Each reader connects to ``url``, reads the response to its end (the server closes it) and
returns what the library delivered to its user, as ``(type, data, last_event_id)`` per event,
the shape of ``sse_nb.protocol.cases``. sse_nb's own ``EventSource`` is always there; httpx-sse
and requests-sse are used when installed (``pip install httpx-sse requests-sse``). A library
that raises gets its error reported as the result: that, too, is an answer to the case.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from typing import Any

from ..protocol import ReadyState, ReconnectPolicy
from .sync import EventSource

__all__ = ["Delivered", "Reader", "readers"]

Delivered = list[tuple[str, str, str]]
Reader = Callable[[str, float], Delivered]


class _Stop(Exception):
    """Raised from requests-sse's error hook: the stream ended, do not reconnect."""


def read_with_sse_nb(url: str, timeout: float) -> Delivered:
    # No reconnect: the case is one response, read to its end.
    es = EventSource(url, reconnect=ReconnectPolicy(max_attempts=0), dedupe=False)
    try:
        es.wait_for(ReadyState.CLOSED, timeout)
        return [(r.event.type, r.event.data, r.event.last_event_id) for r in es.history]
    finally:
        es.close()


def read_with_httpx_sse(url: str, timeout: float) -> Delivered:
    import httpx
    from httpx_sse import connect_sse

    out: Delivered = []
    with (
        httpx.Client(timeout=timeout) as client,
        connect_sse(client, "GET", url) as source,
    ):
        for sse in source.iter_sse():
            out.append((sse.event, sse.data, sse.id))
    return out


def read_with_requests_sse(url: str, timeout: float) -> Delivered:
    from requests_sse import EventSource as RequestsEventSource

    def stop() -> None:
        raise _Stop

    out: Delivered = []
    try:
        with RequestsEventSource(url, timeout=timeout, on_error=stop) as source:
            for event in source:
                out.append((event.type, event.data, event.last_event_id or ""))
    except _Stop:
        pass
    return out


def readers() -> dict[str, Reader]:
    """The readers available here, by library name; sse_nb first."""
    found: dict[str, Reader] = {"sse_nb": read_with_sse_nb}
    if importlib.util.find_spec("httpx_sse") is not None:
        found["httpx-sse"] = read_with_httpx_sse
    if importlib.util.find_spec("requests_sse") is not None:
        found["requests-sse"] = read_with_requests_sse
    return found


def describe(exc: BaseException) -> str:
    """An error as one short line for the grid."""
    text: Any = str(exc)
    return f"{type(exc).__name__}: {text}"[:200] if text else type(exc).__name__
