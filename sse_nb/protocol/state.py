"""The client's state machine, as data: what a response decides, and which state may follow which.

Theory of operation
-------------------
HTML "Server-sent events" §9.2.3 "Processing model" names three steps a user agent takes once a
request for the stream has an outcome:

- "announce the connection": readyState becomes OPEN and ``open`` fires; the body is then read
  line by line;
- "reestablish the connection": readyState becomes CONNECTING, ``error`` fires, the reconnection
  time passes, and the request is made again (with ``Last-Event-ID``);
- "fail the connection": readyState becomes CLOSED, ``error`` fires, and no reconnect follows.

Which step follows is a pure function of the outcome, ``connect_decision(status, content_type)``:
a network error (no response at all) reestablishes; "if res's status is not 200, or if res's
``Content-Type`` is not ``text/event-stream``, then fail the connection" (parameters such as
``charset`` are ignored; a 204 No Content is the server's way to say "stop reconnecting", and
fails like any other status); otherwise announce. A stream that ends after it was announced,
"whether the connection is closed gracefully or unexpectedly", reestablishes.

``close()`` "must set the readyState attribute to CLOSED" from any state; and each step above is
queued as a task that does nothing once readyState is CLOSED, which is why a closed source
dispatches nothing more. sse_nb adds one step of its own: ``reconnect()`` takes a CLOSED source
back to CONNECTING (a browser would need a new ``EventSource``).

``TRANSITIONS`` lists every legal change of readyState with the step that makes it;
``check_transition`` refuses the rest. Nothing here does I/O: the client calls it where its state
changes, and the tests drive it with no socket.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from types import MappingProxyType

from .events import ReadyState

__all__ = [
    "EVENT_STREAM",
    "TRANSITIONS",
    "ConnectDecision",
    "IllegalTransition",
    "check_transition",
    "connect_decision",
    "media_type",
]

#: The only media type an event stream may be served as (HTML §9.2.3).
EVENT_STREAM = "text/event-stream"


class ConnectDecision(str, Enum):
    """What the standard says to do with the outcome of a request for the stream."""

    #: 200 with ``text/event-stream``: OPEN, fire ``open``, read the body.
    ANNOUNCE = "announce the connection"
    #: Any other status (204 included), or another media type: CLOSED, fire ``error``, stop.
    FAIL = "fail the connection"
    #: A network error, or the end of an announced stream: CONNECTING, fire ``error``, retry.
    REESTABLISH = "reestablish the connection"


def media_type(content_type: str | None) -> str:
    """``"Text/Event-Stream; charset=utf-8"`` -> ``"text/event-stream"`` (``""`` for none)."""
    if not content_type:
        return ""
    return content_type.split(";", 1)[0].strip().lower()


def connect_decision(status: int | None, content_type: str | None) -> ConnectDecision:
    """The step HTML §9.2.3 takes for a response with ``status`` and ``content_type``.

    ``status=None`` means no response came (connection refused, reset, DNS failure): reestablish.
    Redirects are followed before this is asked, as fetch follows them.
    """
    if status is None:
        return ConnectDecision.REESTABLISH
    if status != 200 or media_type(content_type) != EVENT_STREAM:
        return ConnectDecision.FAIL
    return ConnectDecision.ANNOUNCE


_C, _O, _X = ReadyState.CONNECTING, ReadyState.OPEN, ReadyState.CLOSED

#: Every legal change of readyState, with the step that makes it. Absent pairs are illegal:
#: OPEN -> OPEN (announced twice), CLOSED -> OPEN (a closed source dispatches nothing, so it
#: cannot announce), CLOSED -> CLOSED (``close()`` twice changes nothing).
TRANSITIONS: Mapping[tuple[ReadyState, ReadyState], str] = MappingProxyType(
    {
        (_C, _O): ConnectDecision.ANNOUNCE.value,
        (_C, _C): "reestablish the connection (the attempt failed; wait and try again)",
        (_C, _X): "fail the connection, or close()",
        (_O, _C): ConnectDecision.REESTABLISH.value,
        (_O, _X): "fail the connection, or close()",
        (_X, _C): "reconnect() (sse_nb's own: a browser makes a new EventSource)",
    }
)


class IllegalTransition(RuntimeError):
    """A change of readyState the standard never makes: a bug in the code that asked for it."""


def check_transition(old: ReadyState, new: ReadyState) -> str:
    """The step that takes ``old`` to ``new``; ``IllegalTransition`` if none does."""
    step = TRANSITIONS.get((old, new))
    if step is None:
        raise IllegalTransition(f"readyState cannot go from {old.name} to {new.name}")
    return step
