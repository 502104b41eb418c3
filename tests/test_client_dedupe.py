"""RecentIds: duplicate suppression near a reconnect, for any kind of id."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest

from sse_nb.client.dedupe import RecentIds
from sse_nb.protocol import Event


def ev(event_id: str | None, data: str = "x") -> Event:
    return Event("message", data, event_id or "", event_id, None)


def ids(events: list[Event]) -> list[str | None]:
    return [e.id for e in events]


@pytest.mark.parametrize(
    "make", [str, lambda i: f"evt-{i:05d}", lambda i: str(uuid.UUID(int=i))], ids=repr
)
def test_a_replay_overlap_is_dropped_whatever_the_ids_look_like(
    make: Callable[[int], str],
) -> None:
    recent = RecentIds(window=100)
    recent.connected()
    first = [ev(make(i)) for i in range(10)]
    assert recent.fresh(first) == first
    recent.connected()  # a reconnect whose replay starts three events too early
    replay = [ev(make(i)) for i in range(7, 15)]
    assert ids(recent.fresh(replay)) == [make(i) for i in range(10, 15)]
    assert recent.duplicates == 3


def test_events_without_an_id_are_always_delivered() -> None:
    recent = RecentIds(window=10)
    recent.connected()
    batch = [ev(None, "a"), ev("1"), ev(None, "b"), ev(None, "c")]
    assert recent.fresh(batch) == batch
    recent.connected()
    again = [ev(None, "a"), ev("1"), ev(None, "d")]
    assert [e.data for e in recent.fresh(again)] == ["a", "d"]


def test_an_id_twice_within_one_chunk_is_delivered_once() -> None:
    recent = RecentIds(window=10)
    recent.connected()
    assert ids(recent.fresh([ev("a"), ev("b"), ev("a")])) == ["a", "b"]
    assert recent.duplicates == 1


def test_ids_older_than_the_window_are_forgotten() -> None:
    recent = RecentIds(window=5)
    recent.connected()
    for i in range(20):
        recent.fresh([ev(str(i))])
    recent.connected()
    assert ids(recent.fresh([ev("2"), ev("17")])) == ["2"]


def test_a_connection_past_its_first_window_is_not_checked() -> None:
    recent = RecentIds(window=3)
    recent.connected()
    recent.fresh([ev("a"), ev("b"), ev("c")])
    # Live now: a server repeating an id mid-stream is passed through, as a browser would.
    assert ids(recent.fresh([ev("a")])) == ["a"]


def test_window_must_be_positive() -> None:
    with pytest.raises(ValueError, match="window"):
        RecentIds(window=0)
