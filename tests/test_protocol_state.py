"""The connect decision and the readyState transitions, with no socket.

WHATWG HTML, "Server-sent events" §9.2.3 "Processing model": a 200 with `text/event-stream`
announces the connection, any other status or type fails it, a network error reestablishes it;
`close()` sets CLOSED from any state, and a CLOSED source announces nothing more.
"""

from __future__ import annotations

import itertools

import pytest

from sse_nb.protocol import (
    TRANSITIONS,
    ConnectDecision,
    IllegalTransition,
    ReadyState,
    check_transition,
    connect_decision,
)

ANNOUNCE, FAIL, REESTABLISH = (
    ConnectDecision.ANNOUNCE,
    ConnectDecision.FAIL,
    ConnectDecision.REESTABLISH,
)
C, OP, X = ReadyState.CONNECTING, ReadyState.OPEN, ReadyState.CLOSED


@pytest.mark.parametrize(
    "content_type",
    [
        "text/event-stream",
        "text/event-stream; charset=utf-8",
        "Text/Event-Stream",
        " text/event-stream ;charset=UTF-8",
    ],
)
def test_200_with_the_event_stream_type_announces_the_connection(content_type: str) -> None:
    assert connect_decision(200, content_type) is ANNOUNCE


@pytest.mark.parametrize(
    "content_type", [None, "", "text/plain", "application/json", "text/event-streams"]
)
def test_200_with_another_media_type_or_none_fails_the_connection(
    content_type: str | None,
) -> None:
    assert connect_decision(200, content_type) is FAIL


@pytest.mark.parametrize("status", [201, 204, 301, 304, 400, 401, 404, 500, 502, 503])
def test_any_other_status_fails_the_connection_even_with_the_right_type(status: int) -> None:
    assert connect_decision(status, "text/event-stream") is FAIL


def test_no_response_at_all_reestablishes_the_connection() -> None:
    assert connect_decision(None, None) is REESTABLISH


def test_the_decisions_carry_the_standards_words() -> None:
    assert [d.value for d in ConnectDecision] == [
        "announce the connection",
        "fail the connection",
        "reestablish the connection",
    ]


@pytest.mark.parametrize(
    ("old", "new"),
    [(C, OP), (C, C), (C, X), (OP, C), (OP, X), (X, C)],
)
def test_the_standards_transitions_and_reconnect_after_close_are_legal(
    old: ReadyState, new: ReadyState
) -> None:
    assert check_transition(old, new) == TRANSITIONS[old, new]


@pytest.mark.parametrize(("old", "new"), [(OP, OP), (X, OP), (X, X)])
def test_announcing_twice_opening_a_closed_source_or_closing_twice_is_refused(
    old: ReadyState, new: ReadyState
) -> None:
    with pytest.raises(IllegalTransition, match=f"from {old.name} to {new.name}"):
        check_transition(old, new)


def test_the_table_covers_exactly_the_legal_pairs() -> None:
    legal = {(C, OP), (C, C), (C, X), (OP, C), (OP, X), (X, C)}
    assert set(TRANSITIONS) == legal
    assert set(itertools.product(ReadyState, repeat=2)) - legal == {(OP, OP), (X, OP), (X, X)}


def test_announce_and_reestablish_are_named_as_the_decisions_are() -> None:
    assert TRANSITIONS[C, OP] == ANNOUNCE.value
    assert TRANSITIONS[OP, C] == REESTABLISH.value


def test_the_table_cannot_be_changed_at_run_time() -> None:
    with pytest.raises(TypeError):
        TRANSITIONS[OP, OP] = "again"  # type: ignore[index]
