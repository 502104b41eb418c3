"""The encoder writes what a conformant parser reads back, and refuses what it could not."""

from __future__ import annotations

import re

import pytest

from sse_nb.protocol import Event, EventParser, encode_comment, encode_event


def parse(stream: bytes) -> list[Event]:
    return EventParser().feed(stream)


def test_fields_are_written_in_order_with_one_space() -> None:
    assert encode_event("a\nb", event="tick", id="7", retry=1500) == (
        b"event: tick\nid: 7\nretry: 1500\ndata: a\ndata: b\n\n"
    )
    assert encode_event("hello") == b"data: hello\n\n"


@pytest.mark.parametrize(
    ("data", "lines"),
    [
        ("a\nb", ["a", "b"]),
        ("a\rb", ["a", "b"]),
        ("a\r\nb", ["a", "b"]),
        ("a\n\rb", ["a", "", "b"]),  # LF then CR: two line ends
        ("a\r\r\nb", ["a", "", "b"]),
        ("a\n", ["a", ""]),
        ("\n", ["", ""]),
        ("", [""]),
        ("a\r\n\r\nb", ["a", "", "b"]),
    ],
)
def test_multiline_data_becomes_several_data_lines(data: str, lines: list[str]) -> None:
    encoded = encode_event(data)
    assert encoded == b"".join(b"data: " + line.encode() + b"\n" for line in lines) + b"\n"
    assert [e.data for e in parse(encoded)] == ["\n".join(lines)]


@pytest.mark.parametrize("data", [" leading", "  two", "trailing ", ":colon", "data: x", "\t"])
def test_data_round_trips_verbatim(data: str) -> None:
    assert [e.data for e in parse(encode_event(data))] == [data]


@pytest.mark.parametrize("char", ["\u2028", "\u2029", "\x85", "\x0b", "\x0c", "\x00"])
def test_characters_that_are_not_line_ends_stay_in_one_line(char: str) -> None:
    data = f"a{char}b"
    assert encode_event(data) == f"data: {data}\n\n".encode()
    assert [e.data for e in parse(encode_event(data))] == [data]


@pytest.mark.parametrize("field", ["event", "id"])
@pytest.mark.parametrize(("char", "shown"), [("\r", r"'\r'"), ("\n", r"'\n'"), ("\x00", r"'\x00'")])
def test_cr_lf_or_nul_in_id_or_event_raises_value_error(field: str, char: str, shown: str) -> None:
    message = f"{field} .* contains {re.escape(shown)}: an SSE {field} cannot hold CR, LF or NUL"
    with pytest.raises(ValueError, match=message):
        encode_event("x", **{field: f"a{char}b"})  # type: ignore[arg-type]


def test_empty_id_is_written_and_resets_the_last_event_id() -> None:
    p = EventParser()
    p.feed(encode_event("a", id="1"))
    events = p.feed(encode_event("b", id=""))
    assert events == [Event("message", "b", "", "", None)]
    assert p.last_event_id == ""


def test_event_type_round_trips() -> None:
    assert parse(encode_event("x", event="update: now")) == [
        Event("update: now", "x", "", None, None)
    ]


@pytest.mark.parametrize("retry", [0, 1, 3000, 2**64 - 1])
def test_retry_accepts_non_negative_int(retry: int) -> None:
    encoded = encode_event("x", retry=retry)
    assert f"retry: {retry}\n".encode() in encoded
    p = EventParser()
    assert p.feed(encoded)[0].retry == retry
    assert p.retry == retry


@pytest.mark.parametrize("retry", [-1, 1.5, True, False, "10", float("nan")])
def test_retry_rejects_anything_but_non_negative_int(retry: object) -> None:
    with pytest.raises(ValueError, match="retry must be a non-negative int"):
        encode_event("x", retry=retry)  # type: ignore[arg-type]


@pytest.mark.parametrize(("kwargs", "what"), [({"id": 7}, "id"), ({"event": b"t"}, "event")])
def test_non_str_id_or_event_raises_type_error(kwargs: dict[str, object], what: str) -> None:
    with pytest.raises(TypeError, match=f"{what} must be a str"):
        encode_event("x", **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("data", [b"x", 7, None])
def test_non_str_data_raises_type_error(data: object) -> None:
    with pytest.raises(TypeError, match="data must be a str"):
        encode_event(data)  # type: ignore[arg-type]


def test_text_that_is_not_unicode_is_refused() -> None:
    with pytest.raises(UnicodeEncodeError):
        encode_event("\ud800")  # a lone surrogate has no UTF-8 form


@pytest.mark.parametrize(
    ("text", "encoded"),
    [
        ("", b":\n"),
        ("ping", b":ping\n"),
        ("a\nb", b":a\n:b\n"),
        ("a\r\nb\rc", b":a\n:b\n:c\n"),
    ],
)
def test_comment_becomes_comment_lines(text: str, encoded: bytes) -> None:
    assert encode_comment(text) == encoded
    assert parse(encoded + b"\n") == []


def test_comment_between_fields_does_not_end_the_event() -> None:
    stream = b"data: a\n" + encode_comment("heartbeat\nsecond line") + b"data: b\n\n"
    assert [e.data for e in parse(stream)] == ["a\nb"]


def test_comment_refuses_non_str() -> None:
    with pytest.raises(TypeError, match="comment must be a str"):
        encode_comment(b"x")  # type: ignore[arg-type]
