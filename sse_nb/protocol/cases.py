"""The standard's cases as data: a stream's bytes and the events HTML §9.2.5-§9.2.6 give for it.

One table for every use: the parser's tests run ``EventParser`` and ``TracingParser`` over it,
and the conformance grid (``%sse_conformance``) serves each case over HTTP to several client
libraries and compares what they deliver. An expected event is ``(type, data, last_event_id)``:
what a listener sees (``MessageEvent.type``, ``.data``, ``.lastEventId``). Each stream ends
with the server closing the connection, so an unfinished last event is discarded.
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["CASES", "Case"]

Expected = tuple[str, str, str]


class Case(NamedTuple):
    """One stream, cut into the chunks it is sent in, and what a conforming client delivers."""

    name: str
    #: The rule it checks, in the standard's words or close to them.
    rule: str
    chunks: tuple[bytes, ...]
    events: tuple[Expected, ...]

    @property
    def stream(self) -> bytes:
        return b"".join(self.chunks)


def _c(name: str, rule: str, stream: bytes | tuple[bytes, ...], *events: Expected) -> Case:
    return Case(name, rule, stream if isinstance(stream, tuple) else (stream,), events)


M = "message"

CASES: tuple[Case, ...] = (
    _c("lf", "lines end with LF", b"data: a\n\n", (M, "a", "")),
    _c("crlf", "lines end with CRLF", b"data: a\r\n\r\n", (M, "a", "")),
    _c("cr", "lines end with a lone CR", b"data: a\r\rdata: b\r\r", (M, "a", ""), (M, "b", "")),
    _c(
        "crlf split",
        "a CRLF split across two reads is one line end",
        (b"data: a\r", b"\n\r", b"\ndata: b\n\n"),
        (M, "a", ""),
        (M, "b", ""),
    ),
    _c("bom", "one leading BOM is stripped", b"\xef\xbb\xbfdata: a\n\n", (M, "a", "")),
    _c(
        "two boms",
        "only one BOM is stripped: the second makes an unknown field",
        b"\xef\xbb\xbf\xef\xbb\xbfdata: a\n\ndata: b\n\n",
        (M, "b", ""),
    ),
    _c("no space", "the space after the colon is optional", b"data:a\n\n", (M, "a", "")),
    _c("two spaces", "only one leading space is removed", b"data:  a\n\n", (M, " a", "")),
    _c(
        "multi-line",
        "data lines join with LF",
        b"data: a\ndata: b\ndata:\n\n",
        (M, "a\nb\n", ""),
    ),
    _c(
        "empty data",
        "a data field with no value dispatches an empty string",
        b"data\n\n",
        (M, "", ""),
    ),
    _c(
        "no data",
        "a block without data dispatches nothing",
        b"event: x\nid: 1\n\ndata: a\n\n",
        (M, "a", "1"),
    ),
    _c("event type", "event sets the type", b"event: tick\ndata: a\n\n", ("tick", "a", "")),
    _c(
        "type resets",
        "the type buffer resets after dispatch",
        b"event: tick\ndata: a\n\ndata: b\n\n",
        ("tick", "a", ""),
        (M, "b", ""),
    ),
    _c("empty type", "an empty event type means message", b"event:\ndata: a\n\n", (M, "a", "")),
    _c(
        "id persists",
        "the last event ID carries over to later events",
        b"id: 7\ndata: a\n\ndata: b\n\n",
        (M, "a", "7"),
        (M, "b", "7"),
    ),
    _c(
        "id reset",
        "an empty id resets the last event ID",
        b"id: 7\ndata: a\n\nid\ndata: b\n\n",
        (M, "a", "7"),
        (M, "b", ""),
    ),
    _c(
        "id with nul",
        "an id containing NUL is ignored",
        b"id: 1\ndata: a\n\nid: 2\x003\ndata: b\n\n",
        (M, "a", "1"),
        (M, "b", "1"),
    ),
    _c(
        "id only block",
        "an id-only block still sets the last event ID",
        b"id: 5\n\ndata: a\n\n",
        (M, "a", "5"),
    ),
    _c(
        "comments",
        "lines starting with a colon are ignored",
        b": hello\ndata: a\n:\n\n",
        (M, "a", ""),
    ),
    _c(
        "unknown field",
        "an unknown field is ignored",
        b"colour: red\ndata: a\n\n",
        (M, "a", ""),
    ),
    _c(
        "bad retry",
        "a retry that is not all ASCII digits is ignored, and the stream goes on",
        b"retry: 1s\ndata: a\n\nretry: 100\ndata: b\n\n",
        (M, "a", ""),
        (M, "b", ""),
    ),
    _c(
        "field case",
        "field names are case-sensitive",
        b"Data: x\nDATA: y\ndata: a\n\n",
        (M, "a", ""),
    ),
    _c(
        "utf-8",
        "the stream is UTF-8, bad bytes become U+FFFD",
        b"data: caf\xc3\xa9 \xff\n\n",
        (M, "caf\u00e9 \ufffd", ""),
    ),
    _c(
        "split utf-8",
        "a character split across reads is decoded whole",
        (b"data: \xe2", b"\x82\xac\n\n"),
        (M, "\u20ac", ""),
    ),
    _c(
        "unicode line separators",
        "U+2028 and U+0085 are not line ends",
        "data: a\u2028b\u0085c\n\n".encode(),
        (M, "a\u2028b\u0085c", ""),
    ),
    _c(
        "unfinished event",
        "an event without its blank line at the end of the stream is discarded",
        b"data: a\n\ndata: b\n",
        (M, "a", ""),
    ),
)
