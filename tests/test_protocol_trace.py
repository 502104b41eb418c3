"""The tracing parser: the same results as the reference, and the standard's rule for each line."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sse_nb.protocol import Event, EventParser
from sse_nb.protocol import trace as t
from sse_nb.protocol.cases import CASES, Case
from sse_nb.protocol.trace import Step, TracingParser
from tests.test_protocol_properties import SETTINGS, Result, reference, split, streams


def run_traced(chunks: list[bytes]) -> tuple[Result, list[Step]]:
    p = TracingParser()
    events: list[Event] = []
    steps: list[Step] = []
    for chunk in chunks:
        events.extend(p.feed(chunk))
        steps.extend(p.steps)
    return (events, p.last_event_id, p.retry), steps


@SETTINGS
@given(stream=streams, data=st.data())
def test_tracing_parser_gives_the_reference_results_however_the_bytes_are_cut(
    stream: bytes, data: st.DataObject
) -> None:
    cuts = data.draw(st.lists(st.integers(0, len(stream)), max_size=8), label="cuts")
    expected = reference(stream)
    assert run_traced([stream])[0] == expected
    assert run_traced(split(stream, cuts))[0] == expected
    assert run_traced([bytes([b]) for b in stream])[0] == expected


@SETTINGS
@given(stream=streams)
def test_dispatch_steps_carry_exactly_the_events_returned(stream: bytes) -> None:
    (events, _, _), steps = run_traced([stream])
    assert [s.event for s in steps if s.decision == t.DISPATCH] == events


def test_each_line_of_an_awkward_stream_gets_the_standards_decision() -> None:
    stream = (
        b"\xef\xbb\xbf: hello\r\n"
        b"id: 1\x002\r\n"
        b"retry: 1s\r\n"
        b"retry: 250\r\n"
        b"event: tick\r\n"
        b"colour: red\r\n"
        b"data: one\r"
        b"data\n"
        b"\r\n"
        b"\n"
        b"id: 7\n"
        b"data: cut"
    )
    p = TracingParser()
    events = p.feed(stream[:20]) + p.feed(stream[20:])
    steps = run_traced([stream[:20], stream[20:]])[1]
    assert [(s.decision, s.raw) for s in steps] == [
        (t.BOM, b"\xef\xbb\xbf"),
        (t.COMMENT, b": hello\r\n"),
        (t.ID_NUL, b"id: 1\x002\r"),  # the chunk ends at the CR; its LF opens the next
        (t.RETRY_BAD, b"retry: 1s\r\n"),
        (t.RETRY, b"retry: 250\r\n"),
        (t.EVENT, b"event: tick\r\n"),
        (t.IGNORED, b"colour: red\r\n"),
        (t.DATA, b"data: one\r"),
        (t.DATA, b"data\n"),
        (t.DISPATCH, b"\r\n"),
        (t.BLANK, b"\n"),
        (t.ID, b"id: 7\n"),
    ]
    assert events == [Event("tick", "one\n", "", None, 250)]
    assert [s.decision for s in p.end()] == [t.DISCARDED]
    assert p.last_event_id == ""  # the discarded event's id never reached it
    fast = EventParser()
    assert fast.feed(stream) == events and fast.retry == p.retry == 250


def test_a_crlf_split_between_chunks_is_one_line_end() -> None:
    p = TracingParser()
    p.feed(b"data: a\r")
    assert [s.raw for s in p.steps] == [b"data: a\r"]
    p.feed(b"")
    assert p.feed(b"\n\r\n") == [Event("message", "a", "", None, None)]
    assert [s.decision for s in p.steps] == [t.DISPATCH]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_each_standard_case_gives_its_events_in_both_parsers_and_the_reference(case: Case) -> None:
    expected = [tuple(e) for e in case.events]
    for parser in (EventParser(), TracingParser()):
        got: list[Event] = []
        for chunk in case.chunks:
            got.extend(parser.feed(chunk))
        assert [(e.type, e.data, e.last_event_id) for e in got] == expected
    ref_events = reference(case.stream)[0]
    assert [(e.type, e.data, e.last_event_id) for e in ref_events] == expected
