"""The verdict on a stream request's ``Accept``: what a browser sends is ok; the rest, why not."""

from __future__ import annotations

import pytest

from sse_nb.protocol.accept import AcceptVerdict, accept_verdict

OK, WILDCARD, MISSING, WRONG = (
    AcceptVerdict.OK,
    AcceptVerdict.WILDCARD,
    AcceptVerdict.MISSING,
    AcceptVerdict.WRONG,
)


@pytest.mark.parametrize(
    ("value", "verdict"),
    [
        ("text/event-stream", OK),  # what EventSource sends (HTML §9.2.2)
        ("TEXT/EVENT-STREAM", OK),
        ("text/event-stream;q=0.9", OK),
        (" text/event-stream ; charset=utf-8", OK),
        ("application/json, text/event-stream", OK),
        ("text/event-stream;q=0.5, */*;q=0.1", OK),
        ("text/event-stream;q=x", OK),  # a weight that is no number is ignored
        ("*/*", WILDCARD),
        ("text/*", WILDCARD),
        ("text/html, */*;q=0.8", WILDCARD),
        (None, MISSING),
        ("", MISSING),
        ("  ", MISSING),
        (" , ,", MISSING),
        ("application/json", WRONG),
        ("text/html", WRONG),
        ("text/html, application/xhtml+xml", WRONG),
        ("text/event-stream;q=0", WRONG),  # q=0: "not acceptable" (RFC 9110 §12.4.2)
        ("text/event-stream;q=0.000, */*", WRONG),  # the specific range decides
        ("*/*;q=0", WRONG),
        ("text/*;q=0, */*", WRONG),
    ],
)
def test_each_accept_value_gets_its_verdict(value: str | None, verdict: AcceptVerdict) -> None:
    assert accept_verdict(value) is verdict


def test_the_verdicts_read_as_words() -> None:
    assert [v.value for v in AcceptVerdict] == ["ok", "wildcard", "missing", "wrong"]
