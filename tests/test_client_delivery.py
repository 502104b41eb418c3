"""Delivery stops at ``close()``: a listener that closes sees nothing more, on both faces.

HTML "Server-sent events" §9.2.6 queues each event's dispatch as a task that does nothing once
readyState is CLOSED. Here ten events arrive in one write, so they are parsed together; the
listener of the third closes the source, and the seven parsed behind it must reach no listener,
no history, no count and no iterator. ``reconnect()`` then resumes from the third and gets them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import anyio
import pytest
from conftest import wait_until
from odd_server import OddServer

from sse_nb.client import AsyncEventSource, EventSource
from sse_nb.protocol import Event, ReadyState, ReconnectPolicy

#: A wait no test sits out: the server ends each stream, and no reconnect may follow close().
FOREVER = ReconnectPolicy(delay=60.0, backoff=1.0, jitter=0.0)
LIMIT = 10.0
IDS = [str(i) for i in range(1, 11)]


@pytest.fixture()
def odd(odd: OddServer) -> OddServer:
    """The shared odd server (conftest), holding ten events to replay."""
    odd.state.log = [(i, f"e{i}") for i in IDS]
    return odd


def closing_listener(
    close: Callable[[], None], seen: list[Event], at: str = "3"
) -> Callable[[Event], None]:
    """A listener that records each event and calls ``close()`` on the one with id ``at``."""

    def listener(ev: Event) -> None:
        seen.append(ev)
        if ev.id == at:
            close()

    return listener


def test_sync_close_from_a_listener_stops_the_events_parsed_behind(odd: OddServer) -> None:
    seen: list[Event] = []
    every: list[Event] = []
    made = threading.Event()
    box: list[EventSource] = []

    def close() -> None:  # the source exists: the listener runs after the constructor returned
        made.wait(LIMIT)
        box[0].close()

    # Listeners from the constructor: ``on()`` after it would race the replay on a fast machine.
    es = EventSource(
        odd.url("/replay?bulk=1"),
        reconnect=FOREVER,
        listeners={"message": closing_listener(close, seen), "*": every.append},
    )
    box.append(es)
    made.set()
    try:
        es.wait_for(ReadyState.CLOSED, timeout=LIMIT)
        es.close()  # runs on the runtime thread: every delivery before it has finished
        assert [ev.id for ev in seen] == ["1", "2", "3"]
        assert [ev.id for ev in every] == ["1", "2", "3"]  # the closing event's own dispatch ends
        assert [r.event.id for r in es.history] == ["1", "2", "3"]
        assert es.events_received == 3
        assert es.last_event_id == "3"
        assert [ev.id for ev in es.events(timeout=0.05)] == ["1", "2", "3"]
        assert len(odd.state.requests("/replay")) == 1

        # Nothing was lost: the seven undelivered events come again, not taken for duplicates.
        es.on("message", seen.append)
        es.reconnect()
        wait_until(lambda: len(es.history) == 10, LIMIT, what="the rest after reconnect()")
        assert [r.event.id for r in es.history] == IDS
        assert odd.state.requests("/replay")[-1].last_event_id == "3"
        assert es.duplicates == 0
    finally:
        es.close()


@pytest.mark.anyio
async def test_async_close_from_a_listener_stops_the_events_parsed_behind(
    odd: OddServer,
) -> None:
    seen: list[Event] = []
    async with AsyncEventSource(odd.url("/replay?bulk=1"), reconnect=FOREVER) as es:
        es.on("message", closing_listener(es.close, seen))
        with anyio.fail_after(LIMIT):
            taken = [ev.id async for ev in es]
        assert es.ready_state is ReadyState.CLOSED
        assert taken == ["1", "2", "3"]
        assert [ev.id for ev in seen] == ["1", "2", "3"]
        assert [r.event.id for r in es.history] == ["1", "2", "3"]
        assert (es.events_received, es.last_event_id) == (3, "3")

        es.reconnect()
        rest = [await es.next(timeout=LIMIT) for _ in range(7)]
        assert [ev.id for ev in rest] == IDS[3:]
        assert odd.state.requests("/replay")[-1].last_event_id == "3"


@pytest.mark.anyio
async def test_a_listener_that_reconnects_resumes_from_its_own_event(odd: OddServer) -> None:
    ids: list[str | None] = []

    def listener(ev: Event) -> None:
        ids.append(ev.id)
        if ev.id == "5" and len(ids) == 5:
            es.reconnect()

    async with AsyncEventSource(odd.url("/replay?bulk=1"), reconnect=FOREVER) as es:
        es.on("message", listener)
        with anyio.fail_after(LIMIT):
            got = [(await es.next()).id for _ in range(10)]
    assert got == IDS
    assert ids == IDS
    assert odd.state.requests("/replay")[1].last_event_id == "5"


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)
