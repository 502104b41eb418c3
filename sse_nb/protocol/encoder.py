"""Turn Python values into event-stream bytes that any conformant parser reads back exactly."""

from __future__ import annotations

import re

from .rules import check_field, check_id, check_retry

__all__ = ["encode_comment", "encode_event"]

# HTML "Server-sent events", parsing: lines end at CRLF, a lone LF or a lone CR.
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


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
        check_field("event", event)
        parts.append(f"event: {event}\n")
    if id is not None:
        check_id(id, resumable=False)
        parts.append(f"id: {id}\n")
    if retry is not None:
        check_retry(retry)
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
