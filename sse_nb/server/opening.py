"""The bytes that open an event-stream response: head, opening comment, ``retry:``, gap, replay.

They are built in one step, from the log, on the loop thread: the head, opening comment,
``retry:`` and gap signal joined (one write), the replay as the log's stored frames (sent in
pieces by the connection as its socket drains). The server registers the connection as a
subscriber in that same step, so nothing published can fall between the replay and the live
feed (see ``docs/server-lifecycle.md``).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..protocol import MAX_ID_LENGTH, Gap, encode_comment, encode_gap, gap_signal, id_problem
from .log import EventLog, Replay

__all__ = [
    "ACCEPT_HEADER",
    "GAP_HEADER",
    "NO_ACCEPT",
    "OPENING_COMMENT",
    "Opening",
    "is_malformed",
    "opening",
    "stream_head",
]

#: Response header present (value ``1``) when the response opens with a gap signal.
GAP_HEADER = "X-SSE-NB-Gap"
#: Response header carrying the request's ``Accept`` as the server received it, so a client on
#: the far side of a proxy (``sse-nb doctor URL``) sees whether the proxy passed it on.
ACCEPT_HEADER = "X-SSE-NB-Accept"
#: Its value when the request had no ``Accept`` (or a blank one): no media range contains
#: parentheses, and an empty header value is dropped by some relays (jupyter-server-proxy).
NO_ACCEPT = "(none)"
#: Sent first on every body, before any replay. A proxy that holds the headers until the first
#: body bytes (jupyter-server-proxy does) would otherwise keep a browser CONNECTING until the
#: first event or heartbeat.
OPENING_COMMENT = encode_comment("open")

_STREAM_HEADERS = (
    b"HTTP/1.1 200 OK\r\n"
    b"Content-Type: text/event-stream; charset=utf-8\r\n"
    b"Cache-Control: no-cache\r\n"
    b"X-Accel-Buffering: no\r\n"
    b"Connection: close\r\n"
)


def is_malformed(value: str) -> bool:
    """True for a header-borne value (client id, origin) with control characters or too long."""
    return len(value) > MAX_ID_LENGTH or any(ord(c) < 0x20 or c == "\x7f" for c in value)


def stream_head(extra_headers: dict[str, str], gap: bool, chunked: bool = True) -> bytes:
    """The status line and headers of a stream response, written by hand after ``detach()``."""
    lines = [_STREAM_HEADERS]
    if chunked:
        lines.append(b"Transfer-Encoding: chunked\r\n")
    if gap:
        lines.append(f"{GAP_HEADER}: 1\r\n".encode("latin-1"))
    for name, value in extra_headers.items():
        lines.append(f"{name}: {value}\r\n".encode("latin-1", "replace"))
    lines.append(b"\r\n")
    return b"".join(lines)


@dataclass(frozen=True, slots=True)
class Opening:
    """What a new connection writes first, and what of it counts as events."""

    #: The status line and headers.
    head: bytes
    #: The body's first bytes: opening comment, ``retry:`` and gap signal, joined.
    body: bytes
    #: Events replayed, and the id of the last one (``None`` when nothing was replayed).
    count: int
    last_id: str | None
    #: The gap signal sent (``{"requested": ..., "oldest": ...}``), if any.
    gap: Gap | None
    #: The replay's stored frames, NOT in ``body``: sent in pieces as the socket drains
    #: (``Connection.replay``), so a resuming client never costs a joined copy of the history.
    replay: list[bytes]


def opening(
    log: EventLog,
    channel: str,
    resume: str | None,
    *,
    retry: int | None,
    extra_headers: dict[str, str],
    replay: Replay | None = None,
    chunked: bool = True,
) -> Opening:
    """The opening bytes of a stream on ``channel`` resumed after ``resume`` (if given).

    An unknown ``resume``, or one no server could have handed out (``id_problem``), gets the
    gap signal, then everything the log still holds. ``replay``: the replay already read (a
    shared log reads it over the network before the connection opens), else read from ``log``.
    ``chunked``: the head announces a chunked body (an HTTP/1.1 request).
    """
    gap: Gap | None = None
    frames: list[bytes] = []
    count, last_id = 0, None
    if resume is not None:
        unusable = id_problem(resume) is not None
        if replay is None:
            replay = log.replay(channel, None if unusable else resume)
        if unusable or replay.gap:
            gap = gap_signal(resume, replay.oldest)
        frames, count, last_id = replay.frames, replay.count, replay.last_id
    head = stream_head(extra_headers, gap is not None, chunked)
    parts = [OPENING_COMMENT]
    if retry is not None:
        parts.append(b"retry: %d\n\n" % retry)
    if gap is not None:
        parts.append(encode_gap(gap))
    return Opening(head, b"".join(parts), count, last_id, gap, frames)
