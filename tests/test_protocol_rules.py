"""The wire contract's rules: ids, ``retry:`` and the gap signal, spelled once for both peers."""

from __future__ import annotations

import json

import pytest

from sse_nb.protocol import (
    GAP_EVENT,
    MAX_ID_LENGTH,
    EventParser,
    check_id,
    check_retry,
    encode_gap,
    gap_signal,
    id_problem,
    read_gap,
)


@pytest.mark.parametrize("value", ["1", "a b", "café-☕", "x" * MAX_ID_LENGTH, "1700000000000-0"])
def test_ordinary_ids_are_resumable(value: str) -> None:
    assert id_problem(value) is None
    assert check_id(value) == value


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("a\nb", "cannot hold CR, LF or NUL"),
        ("a\rb", "cannot hold CR, LF or NUL"),
        ("a\x00b", "a browser ignores an id containing NUL"),
        ("", "is empty"),
        ("x" * (MAX_ID_LENGTH + 1), f"at most {MAX_ID_LENGTH}"),
        (" 5", "space or tab at an end"),
        ("5 ", "space or tab at an end"),
        ("5\t", "space or tab at an end"),
        ("a\x01b", "control character"),
        ("a\x7fb", "control character"),
    ],
)
def test_ids_that_cannot_be_resumed_are_refused_with_the_reason(value: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        check_id(value)


def test_on_the_wire_only_cr_lf_and_nul_are_refused() -> None:
    for value in ("", " 5", "x" * (MAX_ID_LENGTH + 1), "a\x01b"):
        assert check_id(value, resumable=False) == value
    with pytest.raises(ValueError, match="cannot hold CR, LF or NUL"):
        check_id("a\nb", resumable=False)


def test_the_message_names_the_value_as_the_caller_calls_it() -> None:
    with pytest.raises(ValueError, match=r"^last_event_id 'a\\nb' contains"):
        check_id("a\nb", "last_event_id", resumable=False)
    with pytest.raises(TypeError, match="id must be a str, not int"):
        check_id(7)


def test_a_long_refused_id_is_quoted_shortly() -> None:
    with pytest.raises(ValueError) as info:
        check_id("x" * 5000)
    assert len(str(info.value)) < 300


@pytest.mark.parametrize("retry", [0, 1, 3000, 2**64 - 1])
def test_retry_accepts_non_negative_ints(retry: int) -> None:
    assert check_retry(retry) == retry


@pytest.mark.parametrize("retry", [-1, 1.5, True, "10", None])
def test_retry_refuses_the_rest_with_one_wording(retry: object) -> None:
    with pytest.raises(ValueError, match="retry must be a non-negative int of milliseconds"):
        check_retry(retry)


def test_the_gap_signal_round_trips_through_the_parser() -> None:
    (event,) = EventParser("7").feed(encode_gap(gap_signal("3", "10")))
    assert event.type == GAP_EVENT == "sse_nb.gap"
    assert event.id is None and event.last_event_id == "7"  # it does not move the resume point
    assert read_gap(event.data) == {"requested": "3", "oldest": "10"}


def test_the_gap_signal_cuts_the_requested_id_to_the_resume_limit() -> None:
    gap = gap_signal("x" * 5000, None)
    assert gap == {"requested": "x" * MAX_ID_LENGTH, "oldest": None}
    assert json.loads(encode_gap(gap).split(b"data: ")[1]) == gap


@pytest.mark.parametrize("data", ["not json", "[1, 2]", '"text"', ""])
def test_a_gap_payload_that_is_not_an_object_is_kept_as_data(data: str) -> None:
    assert read_gap(data) == {"data": data}
