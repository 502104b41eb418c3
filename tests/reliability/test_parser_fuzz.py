"""Parser fuzzing: random bytes cut at random points never crash it and never change its output.

Streams are random bytes, or random sequences of event-stream fragments (field names, colons,
CR/LF, BOM, invalid UTF-8, NUL) so that the parser's interesting paths are reached. Each is fed
once whole and once cut into random chunks: the events, the last event ID and the retry must be
the same, and the only exception allowed is the documented line-length limit.
"""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from sse_nb.protocol import EventParser
from sse_nb.protocol.parser import LineTooLongError

#: Bounded examples per property (each parses a stream twice).
EXAMPLES = 300
#: A small line limit, so that random streams reach it too.
SMALL_LIMIT = 64

FRAGMENTS = [
    b"data",
    b"data:",
    b"data: ",
    b"id:",
    b"id: 7",
    b"event:",
    b"event: tick",
    b"retry:",
    b"retry: 1000",
    b"retry: x",
    b":",
    b": comment",
    b"\n",
    b"\r",
    b"\r\n",
    b"\n\n",
    b"\xef\xbb\xbf",
    b"\xff\xfe",
    b"\xe2\x82",
    b"\x00",
    b" ",
    b"\xc3\xa9",
    "\u2028".encode(),
]

streams = st.one_of(
    st.binary(max_size=2_000),
    st.lists(st.sampled_from(FRAGMENTS), max_size=300).map(b"".join),
)


def feed_all(parser: EventParser, chunks: list[bytes]) -> tuple[list[object], str, int | None]:
    events: list[object] = []
    for chunk in chunks:
        events += parser.feed(chunk)
    return events, parser.last_event_id, parser.retry


def cut(stream: bytes, points: list[int]) -> list[bytes]:
    bounds = sorted({p % (len(stream) + 1) for p in points})
    edges = [0, *bounds, len(stream)]
    return [stream[a:b] for a, b in itertools.pairwise(edges)]


@settings(max_examples=EXAMPLES, deadline=None)
@given(stream=streams, points=st.lists(st.integers(0, 10_000), max_size=40))
def test_random_chunking_of_random_bytes_gives_the_same_result(
    stream: bytes, points: list[int]
) -> None:
    whole = feed_all(EventParser(), [stream])
    chunked = feed_all(EventParser(), cut(stream, points))
    assert chunked == whole


@settings(max_examples=EXAMPLES, deadline=None)
@given(stream=streams, points=st.lists(st.integers(0, 10_000), max_size=40))
def test_random_bytes_over_a_small_line_limit_raise_only_line_too_long(
    stream: bytes, points: list[int]
) -> None:
    parser = EventParser(max_line_length=SMALL_LIMIT)
    try:
        for chunk in cut(stream, points):
            for event in parser.feed(chunk):
                assert "\r" not in event.data and "\x00" not in (event.id or "")
    except LineTooLongError as exc:
        assert all(isinstance(e.data, str) for e in exc.events)
