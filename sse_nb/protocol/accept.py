"""What a stream request's ``Accept`` header tells a server that negotiates: ok, or why not.

HTML "Server-sent events" §9.2.2, the ``EventSource(url)`` constructor: "Set (`Accept`,
`text/event-stream`) in request's header list". A browser always sends that header, and so does
sse_nb's client. A request that reaches a server without it was changed on the way (a proxy
that drops or rewrites the header), or comes from a client that does not set it. sse_nb's own
server streams whatever the request accepts; a server or framework that negotiates the response
type (RFC 9110 §12.5.1) may answer HTML, JSON or 406 Not Acceptable instead, and a relay may
treat the request as an ordinary one (jupyter-server-proxy streams a response only when the
request's ``Accept`` is exactly ``text/event-stream``; otherwise it waits for the whole body).

:func:`accept_verdict` reads the header as RFC 9110 §12.5.1 does: a comma-separated list of
media ranges, each with optional parameters and a weight ``q`` (0 means "not acceptable"); the
most specific range that matches ``text/event-stream`` decides (``text/event-stream`` over
``text/*`` over ``*/*``). Names are case-insensitive. A quoted parameter holding a comma is not
split correctly; no client sends one on a stream request.
"""

from __future__ import annotations

from enum import Enum

from .state import EVENT_STREAM

__all__ = ["AcceptVerdict", "accept_verdict"]


class AcceptVerdict(str, Enum):
    """How a request's ``Accept`` header stands towards ``text/event-stream``."""

    #: Names ``text/event-stream`` with a weight above 0 (parameters and other types allowed).
    OK = "ok"
    #: Only ``*/*`` or ``text/*`` admit it: a server that negotiates may pick another type.
    WILDCARD = "wildcard"
    #: No ``Accept`` header, or one naming no media range at all.
    MISSING = "missing"
    #: Excludes ``text/event-stream`` (other types only, or a weight of 0).
    WRONG = "wrong"


def _weight(params: list[str]) -> float:
    """The ``q`` parameter (RFC 9110 §12.4.2); 1 when absent or not a number from 0 to 1."""
    for param in params:
        name, _, value = param.partition("=")
        if name.strip().lower() == "q":
            try:
                q = float(value.strip())
            except ValueError:
                return 1.0
            return q if 0.0 <= q <= 1.0 else 1.0
    return 1.0


def accept_verdict(value: str | None) -> AcceptVerdict:
    """The verdict on a request's ``Accept`` header (``None``: the request had none).

    ``accept_verdict("text/event-stream")`` is ``OK``; ``"*/*"`` is ``WILDCARD``; ``None`` or
    a blank value is ``MISSING``; ``"application/json"`` is ``WRONG``.
    """
    # The weights given to each range that can match text/event-stream, most specific first.
    weights: dict[str, list[float]] = {EVENT_STREAM: [], "text/*": [], "*/*": []}
    ranges = 0
    for item in (value or "").split(","):
        media_range, *params = item.split(";")
        name = media_range.strip().lower()
        if name:
            ranges += 1
            if name in weights:
                weights[name].append(_weight(params))
    if not ranges:
        return AcceptVerdict.MISSING
    for name, admitted in weights.items():
        if admitted:  # the most specific matching range decides (RFC 9110 §12.5.1)
            if max(admitted) <= 0:
                return AcceptVerdict.WRONG
            return AcceptVerdict.OK if name == EVENT_STREAM else AcceptVerdict.WILDCARD
    return AcceptVerdict.WRONG
