"""Properties of the protocol core on generated streams, checked against a literal reference.

``reference`` below is the standard's algorithm (HTML "Server-sent events" §9.2.5-§9.2.6) read
word for word: decode the whole stream, walk it one character at a time, interpret each line.
It is slow and obviously right; the real parser must agree with it however the bytes are cut.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from itertools import pairwise
from typing import Literal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sse_nb.protocol import Event, EventParser, LineTooLongError, encode_comment, encode_event
from sse_nb.protocol import parser as parser_module

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

Result = tuple[list[Event], str, "int | None"]


def reference(stream: bytes) -> Result:
    """Events, last event ID and reconnection time after ``stream``, per the standard."""
    if stream.startswith(b"\xef\xbb\xbf"):  # UTF-8 decode: one leading BOM
        stream = stream[3:]
    text = stream.decode("utf-8", "replace")
    lines: list[str] = []
    line: list[str] = []
    i = 0
    while i < len(text):
        c = text[i]
        if c == "\r" or c == "\n":
            lines.append("".join(line))
            line = []
            if c == "\r" and text[i + 1 : i + 2] == "\n":
                i += 1
        else:
            line.append(c)
        i += 1
    # ``line`` is unterminated at the end of the stream: discarded.
    data, event_type, id_buffer, last_event_id = "", "", "", ""
    own_id: str | None = None
    own_retry: int | None = None
    retry: int | None = None
    events: list[Event] = []
    for ln in lines:
        if ln == "":
            last_event_id = id_buffer
            if data:
                if data.endswith("\n"):
                    data = data[:-1]
                events.append(Event(event_type or "message", data, id_buffer, own_id, own_retry))
            data, event_type, own_id, own_retry = "", "", None, None
            continue
        if ln.startswith(":"):
            continue
        if ":" in ln:
            field, _, value = ln.partition(":")
            if value.startswith(" "):
                value = value[1:]
        else:
            field, value = ln, ""
        if field == "event":
            event_type = value
        elif field == "data":
            data += value + "\n"
        elif field == "id":
            if "\x00" not in value:
                id_buffer = own_id = value
        elif field == "retry" and value.isascii() and value.isdigit() and int(value) < 2**64:
            # "consists of only ASCII digits"; past 64 bits ignored, as Chromium does.
            retry = own_retry = int(value)
    return events, last_event_id, retry


@contextmanager
def parser_path(name: str) -> Iterator[None]:
    """Force one of the parser's interpreters (module globals, restored afterwards)."""
    saved = EventParser._fast, parser_module._LONG_EVENT
    if name == "lines":
        EventParser._fast = lambda self, text, end, events: False  # type: ignore[method-assign]
    elif name == "long":
        parser_module._LONG_EVENT = -1
    try:
        yield
    finally:
        EventParser._fast, parser_module._LONG_EVENT = saved  # type: ignore[method-assign]


def split(stream: bytes, cuts: list[int]) -> list[bytes]:
    bounds = [0, *sorted(cuts), len(stream)]
    return [stream[a:b] for a, b in pairwise(bounds)]


def run(chunks: list[bytes], *, check_prefixes: bool = False) -> Result:
    p = EventParser()
    events: list[Event] = []
    fed = b""
    for chunk in chunks:
        events.extend(p.feed(chunk))
        if check_prefixes:
            # After every chunk: retry set as soon as its line ended, last event ID only at
            # dispatch, exactly as the standard would have it for the bytes seen so far.
            fed += chunk
            expected_events, expected_id, expected_retry = reference(fed)
            assert (events, p.last_event_id, p.retry) == (
                expected_events,
                expected_id,
                expected_retry,
            )
    return events, p.last_event_id, p.retry


PIECES = [
    "data: ",
    "data:",
    "data",
    "id: ",
    "id:",
    "id",
    "event: ",
    "event:",
    "retry: ",
    "retry:",
    "retry",
    ":",
    " ",
    "  ",
    "\n",
    "\r",
    "\r\n",
    "\n\n",
    "x",
    "yz",
    "0",
    "12",
    "-3",
    "\x00",
    "é",
    "€",
    "😀",
    "\u2028",
    "\ufeff",
    "data: a\n\n",
    "id: 5\ndata: b\n\n",
    "data: c\n\n",
    "event: t\nid: 9\ndata: c\ndata: d\n\n",
    "data:  e\n\n",
    "id: \ndata: f\n\n",
    "event: \ndata: g\n\n",
    "id: 7\nevent: u\ndata: h\n\n",
    "event: v\nid: 8\nevent: w\ndata: i\n\n",
    "retry: 70\n",
    ": ping\n\n",
    "data: " + "L" * 1500 + "\n\n",
    "id: " + "I" * 1100 + "\n",
]
RAW = [b"\xe2\x82", b"\xac", b"\xff", b"\xef\xbb\xbf", b"\xf0\x9f", b"\x98\x80", b"\xef\xbb"]

streams = st.lists(
    st.one_of(st.sampled_from(PIECES).map(str.encode), st.sampled_from(RAW), st.binary(max_size=4)),
    max_size=40,
).map(b"".join)


@pytest.mark.parametrize("path", ["natural", "lines", "long"])
@SETTINGS
@given(stream=streams, data=st.data())
def test_any_split_gives_the_same_events_and_state_as_one_chunk(
    path: str, stream: bytes, data: st.DataObject
) -> None:
    cuts = data.draw(st.lists(st.integers(0, len(stream)), max_size=8), label="cuts")
    expected = reference(stream)
    with parser_path(path):
        assert run([stream]) == expected
        assert run(split(stream, cuts), check_prefixes=True) == expected


@SETTINGS
@given(stream=streams)
def test_byte_at_a_time_gives_the_same_events_as_one_chunk(stream: bytes) -> None:
    assert run([bytes([b]) for b in stream]) == reference(stream)


# Lone surrogates are str but not text: they have no UTF-8 form to send.
NO_SURROGATES: list[Literal["Cs"]] = ["Cs"]
unicode_text = st.text(st.characters(blacklist_categories=NO_SURROGATES), max_size=30)
field_text = st.text(
    st.characters(blacklist_categories=NO_SURROGATES, blacklist_characters="\r\n\x00"), max_size=12
)
line_breaky_text = st.lists(
    st.one_of(st.sampled_from(["\r", "\n", "\r\n", "\n\r", " ", "data: ", ":"]), unicode_text),
    max_size=6,
).map("".join)


@SETTINGS
@given(
    sent=st.lists(
        st.tuples(
            st.one_of(unicode_text, line_breaky_text),
            st.none() | field_text,
            st.none() | field_text,
        ),
        max_size=6,
    ),
    comment=st.none() | unicode_text,
    data=st.data(),
)
def test_encode_then_parse_round_trips_type_data_and_id(
    sent: list[tuple[str, str | None, str | None]], comment: str | None, data: st.DataObject
) -> None:
    stream = b""
    expected: list[Event] = []
    last = ""
    for text, event, id in sent:
        if comment is not None:
            stream += encode_comment(comment)
        stream += encode_event(text, event=event, id=id)
        if id is not None:
            last = id
        # Every line break the data held comes back as LF: the format has no other.
        expected.append(Event(event or "message", re.sub(r"\r\n|\r", "\n", text), last, id, None))
    cuts = data.draw(st.lists(st.integers(0, len(stream)), max_size=6), label="cuts")
    events, last_event_id, _ = run(split(stream, cuts))
    assert events == expected
    assert last_event_id == last


@SETTINGS
@given(stream=st.binary(max_size=400), data=st.data())
def test_arbitrary_bytes_never_raise(stream: bytes, data: st.DataObject) -> None:
    cuts = data.draw(st.lists(st.integers(0, len(stream)), max_size=8), label="cuts")
    for path in ("natural", "lines", "long"):
        with parser_path(path):
            assert run(split(stream, cuts)) == reference(stream)


@SETTINGS
@given(stream=st.binary(max_size=400), data=st.data())
def test_arbitrary_bytes_with_small_limits_raise_only_line_too_long(
    stream: bytes, data: st.DataObject
) -> None:
    cuts = data.draw(st.lists(st.integers(0, len(stream)), max_size=8), label="cuts")
    p = EventParser(max_line_length=16, max_event_length=64)
    failed = False
    for chunk in split(stream, cuts):
        try:
            p.feed(chunk)
        except LineTooLongError:
            failed = True
        else:
            assert not failed, "the parser went on after a line overflowed"
