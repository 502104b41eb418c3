"""The parser against the HTML standard, "Server-sent events" §9.2.5-§9.2.6, rule by rule.

Every table case runs through each interpreter the parser has (the block expression, the
line-by-line path, the long-event path) and both as one chunk and one byte at a time, so a rule
holds whichever path a stream happens to take.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from sse_nb.protocol import Event, EventParser, EventTooLongError, LineTooLongError
from sse_nb.protocol import parser as parser_module

Parse = Callable[..., tuple[list[Event], EventParser]]

PATHS = ["fast", "lines", "long"]
CHUNKINGS = ["whole", "bytewise"]


@pytest.fixture(params=[(p, c) for p in PATHS for c in CHUNKINGS], ids=lambda pc: "-".join(pc))
def parse(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[Parse]:
    """``parse(stream_or_chunks, **parser_kwargs) -> (events, parser)`` along one path."""
    path, chunking = request.param
    if path == "lines":  # the block expressions never match: everything goes line by line
        monkeypatch.setattr(EventParser, "_fast", lambda self, text, end, events: False)
    if path == "long":  # every chunk counts as one of long events
        monkeypatch.setattr(parser_module, "_LONG_EVENT", -1)

    def run(stream: bytes | list[bytes], **kwargs: object) -> tuple[list[Event], EventParser]:
        p = EventParser(**kwargs)  # type: ignore[arg-type]
        if path == "long":
            p._long = True  # start on that path too (private: only to force the path)
        chunks = [stream] if isinstance(stream, bytes) else stream
        if chunking == "bytewise":
            chunks = [bytes([b]) for chunk in chunks for b in chunk]
        events: list[Event] = []
        for chunk in chunks:
            events.extend(p.feed(chunk))
        return events, p

    yield run


def ev(data: str, type: str = "message", last: str = "", id: str | None = None) -> Event:
    return Event(type, data, last, id, None)


# -- decoding -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stream", "data"),
    [
        (b"\xef\xbb\xbfdata: a\n\n", ["a"]),
        # A second BOM is part of the first field name ("\ufeffdata"), an unknown field.
        (b"\xef\xbb\xbf\xef\xbb\xbfdata: a\n\ndata: b\n\n", ["b"]),
        (b"data: a\n\n\xef\xbb\xbfdata: b\n\ndata: c\n\n", ["a", "c"]),
        (b"data: \xef\xbb\xbfa\n\n", ["\ufeffa"]),
    ],
)
def test_bom_is_stripped_once_and_only_at_stream_start(
    parse: Parse, stream: bytes, data: list[str]
) -> None:
    events, _ = parse(stream)
    assert [e.data for e in events] == data


@pytest.mark.parametrize("split", [1, 2, 3])
def test_bom_split_across_chunks_is_still_stripped(parse: Parse, split: int) -> None:
    stream = b"\xef\xbb\xbfdata: a\n\n"
    events, _ = parse([stream[:split], stream[split:]])
    assert [e.data for e in events] == ["a"]


TEXT = "é€😀 ok"


@pytest.mark.parametrize("split", range(len(f"data: {TEXT}\n\n".encode())))
def test_utf8_character_split_across_chunks_is_decoded_whole(parse: Parse, split: int) -> None:
    stream = f"data: {TEXT}\n\n".encode()
    events, _ = parse([stream[:split], stream[split:]])
    assert [e.data for e in events] == [TEXT]


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        (b"\xff", "\ufffd"),
        (b"a\x80b", "a\ufffdb"),
        (b"\xe2\x82", "\ufffd"),  # truncated by the line end: one replacement
        (b"\xe2\x82\xe2\x82\xac", "\ufffd€"),
        (b"\xf0\x80\x80", "\ufffd\ufffd\ufffd"),  # overlong: each byte replaced
        (b"\xed\xa0\x80", "\ufffd\ufffd\ufffd"),  # a surrogate is not UTF-8
        (b"\xf4\x90\x80\x80", "\ufffd\ufffd\ufffd\ufffd"),  # past U+10FFFF
    ],
)
def test_invalid_utf8_becomes_replacement_character(parse: Parse, raw: bytes, text: str) -> None:
    events, _ = parse(b"data: " + raw + b"\n\nid: " + raw + b"\ndata: x\n\n")
    assert [e.data for e in events] == [text, "x"]
    assert events[1].last_event_id == text


def test_invalid_utf8_split_across_chunks_is_replaced_once(parse: Parse) -> None:
    events, _ = parse([b"data: a\xe2", b"\x82", b"\ndata: b\n\n"])
    assert [e.data for e in events] == ["a\ufffd\nb"]


# -- line ends ------------------------------------------------------------------------------


@pytest.mark.parametrize("eol", [b"\n", b"\r", b"\r\n"], ids=["LF", "CR", "CRLF"])
def test_lines_end_at_cr_lf_or_crlf(parse: Parse, eol: bytes) -> None:
    stream = eol.join([b"event: t", b"id: 1", b"data: a", b"data: b", b"", b"data: c", b"", b""])
    events, p = parse(stream)
    assert events == [ev("a\nb", "t", "1", "1"), ev("c", last="1")]
    assert p.last_event_id == "1"


@pytest.mark.parametrize(
    "block",
    [
        b"event: t\nid: 1\ndata: a\n\n",
        b"id: 1\nevent: t\ndata: a\n\n",
        b"data: a\nid: 1\nevent: t\n\n",
        b"event: x\nid: 1\nevent: t\ndata: a\n\n",  # the later event line wins
    ],
)
def test_field_order_within_a_block_does_not_matter(parse: Parse, block: bytes) -> None:
    events, _ = parse(block * 3)
    assert events == [ev("a", "t", "1", "1")] * 3


def test_mixed_line_ends_in_one_stream(parse: Parse) -> None:
    events, _ = parse(b"data: a\rdata: b\ndata: c\r\n\r\ndata: d\n\r\n\r")
    assert [e.data for e in events] == ["a\nb\nc", "d"]


@pytest.mark.parametrize(
    "chunks",
    [
        [b"data: a\r", b"\ndata: b\r\n\r\n"],
        [b"data: a\r", b"\n", b"data: b\r", b"\n\r", b"\n"],
        [b"data: a\r", b"", b"\ndata: b\r\n\r\n"],
    ],
)
def test_crlf_split_across_chunks_is_one_line_end(parse: Parse, chunks: list[bytes]) -> None:
    events, _ = parse(chunks)
    assert [e.data for e in events] == ["a\nb"]  # a second line end would dispatch "a" alone


def test_cr_then_cr_across_chunks_is_two_line_ends(parse: Parse) -> None:
    events, _ = parse([b"data: a\r", b"\rdata: b\r\r"])
    assert [e.data for e in events] == ["a", "b"]


@pytest.mark.parametrize("char", ["\u2028", "\u2029", "\x85", "\x0b", "\x0c", "\x1c"])
def test_unicode_line_separators_are_not_line_ends(parse: Parse, char: str) -> None:
    events, _ = parse(f"data: a{char}b\n\n".encode())
    assert [e.data for e in events] == [f"a{char}b"]


# -- fields ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "stream",
    [
        b": comment\ndata: a\n\n",
        b":\ndata: a\n:data: b\n\n",
        b"data: a\n: comment\n\n",
        b": only a comment\n\ndata: a\n\n",
        b":data: x\n\ndata: a\n\n",
    ],
)
def test_comment_lines_are_ignored(parse: Parse, stream: bytes) -> None:
    events, _ = parse(stream)
    assert [e.data for e in events] == ["a"]


@pytest.mark.parametrize(
    ("stream", "expected"),
    [
        (b"data\n\n", [ev("")]),
        (b"data\ndata\n\n", [ev("\n")]),
        (b"event\ndata: a\n\n", [ev("a")]),
        (b"id: 1\ndata: a\n\nid\ndata: b\n\n", [ev("a", last="1", id="1"), ev("b", id="")]),
    ],
)
def test_field_without_colon_has_empty_value(
    parse: Parse, stream: bytes, expected: list[Event]
) -> None:
    events, _ = parse(stream)
    assert events == expected


@pytest.mark.parametrize(
    ("line", "value"),
    [
        (b"data:x", "x"),
        (b"data: x", "x"),
        (b"data:  x", " x"),
        (b"data:   x ", "  x "),
        (b"data:\tx", "\tx"),
        (b"data: ", ""),
        (b"data:", ""),
        (b"data: a: b", "a: b"),
    ],
)
def test_only_one_leading_space_is_removed(parse: Parse, line: bytes, value: str) -> None:
    events, _ = parse(line + b"\n\n")
    assert [e.data for e in events] == [value]


@pytest.mark.parametrize(
    ("stream", "data"),
    [
        (b"data: a\ndata: b\ndata: c\n\n", "a\nb\nc"),
        (b"data: a\ndata:\n\n", "a\n"),
        (b"data:\ndata: a\n\n", "\na"),
        (b"data: \ndata: \n\n", "\n"),
        (b"data: a\nid: 1\ndata: b\n\n", "a\nb"),
    ],
)
def test_data_lines_are_joined_with_lf(parse: Parse, stream: bytes, data: str) -> None:
    events, _ = parse(stream)
    assert [e.data for e in events] == [data]


@pytest.mark.parametrize(
    "stream",
    [
        b"\n",
        b"\n\n\n",
        b"event: tick\n\n",
        b"id: 4\n\n",
        b"retry: 10\n\n",
        b": comment\n\n",
        b"foo: bar\n\n",
    ],
)
def test_empty_data_buffer_dispatches_nothing(parse: Parse, stream: bytes) -> None:
    events, _ = parse(stream)
    assert events == []


def test_event_type_resets_after_each_dispatch(parse: Parse) -> None:
    events, _ = parse(b"event: a\ndata: 1\n\ndata: 2\n\nevent: b\n\ndata: 3\n\nevent:\ndata: 4\n\n")
    assert [(e.type, e.data) for e in events] == [
        ("a", "1"),
        ("message", "2"),
        ("message", "3"),  # "event: b" went with a block that dispatched nothing
        ("message", "4"),  # an empty type is "message"
    ]


def test_last_event_id_persists_across_events(parse: Parse) -> None:
    events, p = parse(b"id: 1\ndata: a\n\ndata: b\n\nid: 2\ndata: c\n\ndata: d\n\n")
    assert events == [
        ev("a", last="1", id="1"),
        ev("b", last="1"),
        ev("c", last="2", id="2"),
        ev("d", last="2"),
    ]
    assert p.last_event_id == "2"


@pytest.mark.parametrize("bad_id", [b"2\x00", b"\x00", b"a\x00b"])
def test_id_containing_nul_is_ignored(parse: Parse, bad_id: bytes) -> None:
    events, p = parse(b"id: 1\ndata: a\n\nid: " + bad_id + b"\ndata: b\n\n")
    assert events == [ev("a", last="1", id="1"), ev("b", last="1")]
    assert p.last_event_id == "1"


@pytest.mark.parametrize("reset", [b"id", b"id:", b"id: "])
def test_empty_id_resets_last_event_id(parse: Parse, reset: bytes) -> None:
    events, p = parse(b"id: 1\ndata: a\n\n" + reset + b"\ndata: b\n\ndata: c\n\n")
    assert events == [ev("a", last="1", id="1"), ev("b", id=""), ev("c")]
    assert p.last_event_id == ""


def test_id_only_block_sets_last_event_id_but_dispatches_nothing(parse: Parse) -> None:
    events, p = parse(b"id: 7\n\n")
    assert events == []
    assert p.last_event_id == "7"  # what a reconnect sends as Last-Event-ID
    events, p = parse(b"id: 7\n\ndata: a\n\n")
    assert events == [ev("a", last="7")]


def test_id_is_kept_verbatim(parse: Parse) -> None:
    events, _ = parse(b"id:  spaced :colon \ndata: a\n\n")
    assert events[0].id == events[0].last_event_id == " spaced :colon "


def test_seeded_last_event_id_and_retry_carry_over(parse: Parse) -> None:
    events, p = parse(b"data: a\n\n", last_event_id="41", retry=250)
    assert events == [ev("a", last="41")]
    assert (p.last_event_id, p.retry) == ("41", 250)


@pytest.mark.parametrize(
    ("value", "retry"),
    [
        (b"1000", 1000),
        (b"0", 0),
        (b"007", 7),
        (b"0" * 40 + b"5", 5),
        (b"18446744073709551615", 2**64 - 1),
    ],
)
def test_retry_accepts_ascii_digits(parse: Parse, value: bytes, retry: int) -> None:
    events, p = parse(b"retry: " + value + b"\ndata: a\n\n")
    assert p.retry == retry
    assert events[0].retry == retry


@pytest.mark.parametrize(
    "line",
    [
        b"retry",
        b"retry:",
        b"retry: ",
        b"retry: -1",
        b"retry: +1",
        b"retry: 1.5",
        b"retry: 1e3",
        b"retry: 10 ",
        b"retry:  10",
        b"retry: 0x10",
        "retry: ١٢".encode(),  # Arabic-Indic digits are digits, but not ASCII digits
        "retry: ²".encode(),
        "retry: ５".encode(),  # fullwidth
        b"retry: 18446744073709551616",  # does not fit in 64 bits
        b"retry: " + b"9" * 5000,  # must not hit Python's int-from-string limit
    ],
)
def test_retry_rejects_anything_but_ascii_digits(parse: Parse, line: bytes) -> None:
    events, p = parse(b"retry: 300\n\n" + line + b"\ndata: a\n\n")
    assert p.retry == 300
    assert events == [ev("a")]


def test_retry_takes_effect_when_its_line_ends(parse: Parse) -> None:
    _, p = parse(b"retry: 5")
    assert p.retry is None  # the line has not ended
    for chunks in ([b"retry: 5\n"], [b"data: a\nretry: 5\r"], [b"data: a\nret", b"ry: 5\n", b"x"]):
        _, p = parse(chunks)
        assert p.retry == 5, chunks


def test_unknown_fields_are_ignored(parse: Parse) -> None:
    stream = b"foo: bar\nData: x\ndata : y\nDATA: z\nid : 9\nevents: t\ndata: a\n\n"
    events, p = parse(stream)
    assert events == [ev("a")]
    assert p.last_event_id == ""


def test_nul_and_colons_are_kept_in_data_and_type(parse: Parse) -> None:
    events, _ = parse(b"event: a:b\x00\ndata: c\x00:d\n\n")
    assert events == [ev("c\x00:d", "a:b\x00")]


# -- end of stream and limits ---------------------------------------------------------------


@pytest.mark.parametrize(
    "stream",
    [b"data: a", b"data: a\n", b"id: 9\ndata: a\n", b"id: 9\n", b"data: a\r\n"],
)
def test_unterminated_event_at_end_of_stream_is_discarded(parse: Parse, stream: bytes) -> None:
    events, p = parse(b"id: 1\ndata: x\n\n" + stream)
    assert events == [ev("x", last="1", id="1")]
    assert p.last_event_id == "1"  # the unfinished block's id never counted


def test_last_event_id_changes_only_at_dispatch(parse: Parse) -> None:
    _, p = parse([b"id: 1\ndata: a\n\nid: 2\n"])
    assert p.last_event_id == "1"


def test_line_longer_than_the_limit_raises(parse: Parse) -> None:
    with pytest.raises(LineTooLongError, match="past 10 bytes"):
        parse(b"data: " + b"x" * 20, max_line_length=10)


def test_line_too_long_error_keeps_events_completed_before_it() -> None:
    p = EventParser(max_line_length=10)
    with pytest.raises(LineTooLongError) as info:
        p.feed(b"data: a\n\ndata: b\n\n" + b"x" * 20)
    assert [e.data for e in info.value.events] == ["a", "b"]
    with pytest.raises(LineTooLongError):
        p.feed(b"\n\n")  # the stream position is lost: no silent resync


def test_line_limit_counts_the_unfinished_line_across_chunks() -> None:
    p = EventParser(max_line_length=10)
    p.feed(b"data: 1234")  # 10 bytes: at the limit, not past it
    with pytest.raises(LineTooLongError):
        p.feed(b"5")
    q = EventParser(max_line_length=10)
    assert q.feed(b"data: 1234\n\ndata: 5678\n\n") == [ev("1234"), ev("5678")]


@pytest.mark.parametrize(
    "chunks",
    [[b"data: 1\n" * 5], [b"data: 1\n"] * 5, [b"data: 1\n", b"id: 2\n", b"x" * 30]],
)
def test_unfinished_event_longer_than_the_limit_raises(chunks: list[bytes]) -> None:
    p = EventParser(max_event_length=20)
    with pytest.raises(EventTooLongError, match="past 20 bytes without a blank line"):
        for chunk in chunks:
            p.feed(chunk)
    assert issubclass(EventTooLongError, LineTooLongError)  # one handler covers both limits


def test_event_limit_bounds_only_what_waits_between_reads() -> None:
    p = EventParser(max_event_length=20)
    assert [e.data for e in p.feed(b"data: " + b"x" * 30 + b"\n\ndata: 1\n")] == ["x" * 30]
    assert [e.data for e in p.feed(b"\n")] == ["1"]


def long_reads(stream: bytes, size: int) -> list[bytes]:
    """``stream`` in reads of ``size`` bytes, shorter than its events."""
    return [stream[i : i + size] for i in range(0, len(stream), size)]


LONG = "L" * 3000


@pytest.mark.parametrize("size", [700, 1024, 1500, 2999, 3001])
@pytest.mark.parametrize(
    "tail",
    [
        b"",  # events of one shape only
        b"data: two\ndata: lines\n\n",  # a second data line after a long one
        b"event: t\nid: 9\ndata: " + LONG.encode() + b"\n\n",  # a type before the id
        b"id: \ndata: " + LONG.encode() + b"\n\n",  # an empty id resets the last one
        b"id: a\x00b\ndata: " + LONG.encode() + b"\n\n",  # an id with NUL is ignored
        b"data: " + LONG.encode() + b"\r\n\r\n",  # CRLF after a long line
        b"retry: 5\ndata: " + LONG.encode() + b"\n: c\n\n",  # retry, then a comment ends it
    ],
)
def test_long_events_in_reads_shorter_than_an_event(size: int, tail: bytes) -> None:
    # Reads shorter than an event hold only the data value of the unfinished block; every
    # other shape after it must still give the standard's result.
    head = "".join(f"id: {i}\ndata: {LONG}\n\n" for i in range(4)).encode()
    stream = head + tail + b"data: end\n\n"
    one = EventParser()
    expected = one.feed(stream)
    p = EventParser()
    got = [e for chunk in long_reads(stream, size) for e in p.feed(chunk)]
    assert got == expected
    assert (p.last_event_id, p.retry) == (one.last_event_id, one.retry)
    assert [e.id for e in got[:4]] == ["0", "1", "2", "3"]
    assert got[-1] == ev("end", last=one.last_event_id)


def test_long_line_limit_holds_when_the_next_block_opens_in_the_same_read() -> None:
    p = EventParser(max_line_length=2000)
    assert p.feed(b"id: 1\ndata: " + b"x" * 1500) == []
    assert [e.data for e in p.feed(b"x" * 400 + b"\n\nid: 2\ndata: y")] == ["x" * 1900]
    with pytest.raises(LineTooLongError) as info:
        p.feed(b"x" * 1000 + b"\n\nid: 3\ndata: " + b"z" * 2001)
    assert [(e.id, e.data) for e in info.value.events] == [("2", "y" + "x" * 1000)]


def test_feed_of_nothing_returns_nothing() -> None:
    p = EventParser()
    assert p.feed(b"") == []
    assert p.feed(b"\xe2") == []  # half a character: wait for the rest
    assert p.feed(b"\x82\xac") == []
    assert p.feed(b"\n\n") == []  # "€" was a field name, unknown


def test_returned_list_belongs_to_the_caller() -> None:
    p = EventParser()
    first = p.feed(b"data: ")
    first.append(ev("mine"))
    assert p.feed(b"a") == []
    assert p.feed(b"\n\n") == [ev("a")]


def test_doc_example_from_the_standard(parse: Parse) -> None:
    # HTML §9.2.6: the four blocks of the first worked example.
    stream = (
        b": test stream\n\ndata: first event\nid: 1\n\ndata:second event\nid\n\n"
        b"data:  third event\n\n"
    )
    events, _ = parse(stream)
    assert events == [
        ev("first event", last="1", id="1"),
        ev("second event", id=""),
        ev(" third event"),
    ]


def test_second_example_from_the_standard(parse: Parse) -> None:
    # HTML §9.2.6: "data\n\ndata\ndata\n\ndata:" fires "" and "\n"; the last block never ends.
    events, _ = parse(b"data\n\ndata\ndata\n\ndata:")
    assert [e.data for e in events] == ["", "\n"]


def test_third_example_from_the_standard(parse: Parse) -> None:
    # HTML §9.2.6: "data:test" and "data: test" are the same.
    events, _ = parse(b"data:test\n\ndata: test\n\n")
    assert [e.data for e in events] == ["test", "test"]
