"""The gap signal: how a server says "I cannot replay everything after the id you sent".

When a client resumes from an id the server's log no longer holds (expired, unknown, from a
previous server's memory, or not a resumable id at all), silently sending what is left would
lose events without anyone knowing. The server opens the stream with one event of type
``GAP_EVENT`` instead, whose data is JSON ``{"requested": <id sent>, "oldest": <oldest id
held, or null>}``, then replays what it holds. The client reads it into ``.gap`` and logs a
warning; the widgets mark it. This module is the one place that spells the type and the payload.
"""

from __future__ import annotations

import json
from typing import Any, TypedDict

from .encoder import encode_event
from .rules import MAX_ID_LENGTH

__all__ = ["GAP_EVENT", "Gap", "encode_gap", "gap_signal", "read_gap"]

#: The event type of the gap signal (a name no application uses by accident).
GAP_EVENT = "sse_nb.gap"


class Gap(TypedDict):
    """The gap signal's payload."""

    #: The ``Last-Event-ID`` the client sent (cut to ``MAX_ID_LENGTH`` characters).
    requested: str
    #: The oldest id the server still holds for the channel (``None``: it holds nothing).
    oldest: str | None


def gap_signal(requested: str, oldest: str | None) -> Gap:
    """The payload for a client that asked for ``requested`` when ``oldest`` is the oldest held."""
    return {"requested": requested[:MAX_ID_LENGTH], "oldest": oldest}


def encode_gap(gap: Gap) -> bytes:
    """The gap signal as event-stream bytes (no ``id:``: it must not move the last event ID)."""
    return encode_event(json.dumps(gap), event=GAP_EVENT)


def read_gap(data: str) -> dict[str, Any]:
    """A received gap signal's payload; data that is not a JSON object is kept as ``{"data": ...}``.

    Another server may send its own payload under the same type: nothing in it is trusted.
    """
    try:
        value = json.loads(data)
    except ValueError:
        value = None
    return value if isinstance(value, dict) else {"data": data}
