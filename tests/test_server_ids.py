"""``publish()`` takes only ids a client can resume from: the protocol's one id rule."""

from __future__ import annotations

import pytest
from conftest import wait_until

from sse_nb import EventServer, EventSource
from sse_nb.protocol import MAX_ID_LENGTH, ReadyState


@pytest.mark.parametrize(
    ("bad", "says"),
    [
        (" 5", "space or tab at an end"),
        ("5\t", "space or tab at an end"),
        ("x" * (MAX_ID_LENGTH + 1), f"at most {MAX_ID_LENGTH}"),
        ("", "is empty"),
        ("a\nb", "cannot hold CR, LF or NUL"),
        ("a\x01b", "control character"),
    ],
)
def test_publish_refuses_an_id_no_client_could_resume_from(bad: str, says: str) -> None:
    with EventServer(heartbeat=None) as server:
        with pytest.raises(ValueError, match=says):
            server.publish("x", id=bad)
        assert server.published == 0


def test_the_longest_resumable_id_is_resumed_from_without_a_gap() -> None:
    longest = "x" * MAX_ID_LENGTH
    with EventServer(heartbeat=None) as server:
        server.publish("first", id=longest)
        server.publish("second", id="after")
        with EventSource(server.url, last_event_id=longest) as es:
            es.wait_for(ReadyState.OPEN)
            assert es.next(timeout=10).data == "second"
            wait_until(lambda: server.clients and server.clients[-1].resumed_from, 10)
        assert es.gap is None
