"""Turn Python values into event-stream bytes that any conformant parser reads back exactly."""

from __future__ import annotations

import re

__all__ = ["encode_comment", "encode_event"]

# HTML "Server-sent events", parsing: lines end at CRLF, a lone LF or a lone CR.
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
# Characters that would end the field (CR, LF) or make a browser ignore it (NUL in an id,
# HTML "Server-sent events" §9.2.6).
_FORBIDDEN = ("\r", "\n", "\x00")


def _check_field(name: str, value: str) -> None:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, not {type(value).__name__}")
    for ch in _FORBIDDEN:
        if ch in value:
            why = (
                "a line end would cut the field short"
                if ch != "\x00"
                else "a browser ignores an id containing NUL"
                if name == "id"
                else "NUL is refused in ids and types alike"
            )
            raise ValueError(
                f"{name} {value!r} contains {ch!r}: an SSE {name} cannot hold CR, LF or NUL ({why})"
            )


def encode_event(
    data: str,
    *,
    event: str | None = None,
    id: str | None = None,
    retry: int | None = None,
) -> bytes:
    """Encode one event; every line of ``data`` becomes its own ``data:`` line.

    >>> encode_event("a\\nb", event="tick", id="7")
    b'event: tick\\nid: 7\\ndata: a\\ndata: b\\n\\n'
    """
    if not isinstance(data, str):
        raise TypeError(f"data must be a str, not {type(data).__name__}")
    parts: list[str] = []
    if event is not None:
        _check_field("event", event)
        parts.append(f"event: {event}\n")
    if id is not None:
        _check_field("id", id)
        parts.append(f"id: {id}\n")
    if retry is not None:
        if isinstance(retry, bool) or not isinstance(retry, int) or retry < 0:
            raise ValueError(f"retry must be a non-negative int of milliseconds, not {retry!r}")
        parts.append(f"retry: {retry}\n")
    if "\r" in data or "\n" in data:
        for line in _LINE_BREAK.split(data):
            parts.append(f"data: {line}\n")
    else:
        parts.append(f"data: {data}\n")
    parts.append("\n")
    return "".join(parts).encode("utf-8")


def encode_comment(text: str = "") -> bytes:
    """Encode a comment (ignored by clients; keeps proxies and idle timers awake).

    A comment does not end an event, so it is safe to send between any two events.
    """
    if not isinstance(text, str):
        raise TypeError(f"comment must be a str, not {type(text).__name__}")
    return "".join(f":{line}\n" for line in _LINE_BREAK.split(text)).encode("utf-8")
