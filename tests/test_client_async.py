"""AsyncEventSource against real Tornado servers on 127.0.0.1, on asyncio and on trio."""

from __future__ import annotations

import itertools
import json
from typing import Any

import anyio
import httpx
import pytest
from odd_server import GAP_CUTS, OddServer

from sse_nb.client import AsyncEventSource, Transition
from sse_nb.client import source as source_module
from sse_nb.client.inbox import MAX_BUFFERED_EVENTS
from sse_nb.errors import (
    BadContentType,
    BadStatus,
    IdleTimeout,
    ReconnectLimitReached,
    SourceClosed,
    StreamError,
)
from sse_nb.protocol import Event, ReadyState, ReconnectPolicy
from tests.processes import free_port

pytestmark = pytest.mark.anyio

#: Reconnect at once (no backoff, no jitter): tests wait on conditions, never on delays.
FAST = ReconnectPolicy(delay=0.01, backoff=1.0, jitter=0.0)
#: A wait no test will sit out: shows that something other than the timer ended it.
FOREVER = ReconnectPolicy(delay=60.0, backoff=1.0, jitter=0.0)
#: Upper bound on any single wait in these tests.
LIMIT = 10.0


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def take(es: AsyncEventSource, n: int) -> list[Event]:
    return [await es.next(timeout=LIMIT) for _ in range(n)]


async def wait_for(predicate: Any, what: str = "") -> None:
    with anyio.fail_after(LIMIT):
        while not predicate():
            await anyio.sleep(0.005)


async def test_open_delivers_events_with_the_standard_request_headers(odd: OddServer) -> None:
    odd.state.log = [(str(i), f"e{i}") for i in range(5)]
    async with AsyncEventSource(odd.url("/replay?hold=1"), reconnect=FOREVER) as es:
        events = await take(es, 5)
        assert es.ready_state is ReadyState.OPEN
    assert [e.data for e in events] == [f"e{i}" for i in range(5)]
    assert es.last_event_id == "4"
    assert es.events_received == 5
    first = odd.state.requests("/replay")[0]
    assert first.headers["Accept"] == "text/event-stream"
    assert first.headers["Cache-Control"] == "no-cache"
    assert first.last_event_id is None
    assert es.ready_state is ReadyState.CLOSED


async def test_resume_sends_the_last_id_seen_on_every_reconnect(odd: OddServer) -> None:
    odd.state.log = [(str(i), f"e{i}") for i in range(10)]
    async with AsyncEventSource(odd.url("/replay?per=3"), reconnect=FAST) as es:
        events = await take(es, 10)
    assert [e.id for e in events] == [str(i) for i in range(10)]
    sent = [r.last_event_id for r in odd.state.requests("/replay")]
    assert sent[:4] == [None, "2", "5", "8"]
    assert es.reconnects >= 3
    states = [t.state for t in es.transitions]
    assert states[:3] == [ReadyState.CONNECTING, ReadyState.OPEN, ReadyState.CONNECTING]


async def test_204_closes_without_reconnecting(odd: OddServer) -> None:
    async with AsyncEventSource(odd.url("/status/204"), reconnect=FAST) as es:
        assert [e async for e in es] == []
        assert es.ready_state is ReadyState.CLOSED
        assert es.error is None
        assert "204" in es.transitions[-1].reason
    assert len(odd.state.requests("/status/204")) == 1


async def test_500_closes_with_an_error_that_says_what_came_back(odd: OddServer) -> None:
    async with AsyncEventSource(odd.url("/status/500"), reconnect=FAST) as es:
        with pytest.raises(BadStatus) as info:
            await es.next(timeout=LIMIT)
        with pytest.raises(SourceClosed):
            await es.next(timeout=LIMIT)
    assert info.value.status == 500
    assert "500" in str(info.value) and "bad day" in str(info.value)
    assert es.ready_state is ReadyState.CLOSED
    assert len(odd.state.requests("/status/500")) == 1


async def test_wrong_content_type_closes_with_an_error_naming_it(odd: OddServer) -> None:
    async with AsyncEventSource(odd.url("/wrong-type"), reconnect=FAST) as es:
        with pytest.raises(BadContentType, match="application/json"):
            async for _ in es:
                pass
    assert es.ready_state is ReadyState.CLOSED
    assert len(odd.state.requests("/wrong-type")) == 1


async def test_a_gzipped_stream_is_decoded(odd: OddServer) -> None:
    odd.state.log = [(str(i), f"zipped {i}") for i in range(3)]
    async with AsyncEventSource(odd.url("/gzip"), reconnect=FOREVER) as es:
        events = await take(es, 3)
    assert [e.data for e in events] == [f"zipped {i}" for i in range(3)]


async def test_redirect_is_followed(odd: OddServer) -> None:
    odd.state.log = [("1", "one"), ("2", "two")]
    async with AsyncEventSource(odd.url("/redirect"), reconnect=FOREVER) as es:
        events = await take(es, 2)
    assert [e.data for e in events] == ["one", "two"]
    assert odd.state.requests("/replay")[0].headers["Accept"] == "text/event-stream"


async def test_retry_field_replaces_the_reconnect_delay(odd: OddServer) -> None:
    # The policy alone would wait a minute; the server's "retry: 10" (ms) makes it quick.
    odd.state.log = [("1", "one"), ("2", "two")]
    async with AsyncEventSource(odd.url("/replay?per=1&retry=10"), reconnect=FOREVER) as es:
        events = await take(es, 2)
        assert es.retry == 10
    assert [e.data for e in events] == ["one", "two"]
    assert [r.last_event_id for r in odd.state.requests("/replay")][:2] == [None, "1"]


async def test_an_id_with_nul_is_never_sent_back(odd: OddServer) -> None:
    async with AsyncEventSource(odd.url("/nul-id"), reconnect=FAST) as es:
        events = await take(es, 3)  # first, nul id, then first again from the reconnect
        await wait_for(lambda: len(odd.state.requests("/nul-id")) >= 2)
    assert events[1].data == "nul id" and events[1].id is None
    assert events[1].last_event_id == "good-1"
    sent = [r.last_event_id for r in odd.state.requests("/nul-id")]
    assert sent[1] == "good-1"
    assert all(s is None or "\x00" not in s for s in sent)


async def test_a_non_ascii_id_is_sent_back_as_utf8(odd: OddServer) -> None:
    async with AsyncEventSource(odd.url("/unicode-id"), reconnect=FAST) as es:
        await take(es, 2)
        await wait_for(lambda: len(odd.state.requests("/unicode-id")) >= 2)
    header = odd.state.requests("/unicode-id")[1].last_event_id
    assert header is not None
    assert header.encode("latin-1").decode("utf-8") == "ünï"  # Tornado reads headers as latin-1


async def test_a_line_past_the_parser_limit_fails_the_connection_clearly(
    odd: OddServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(source_module, "MAX_LINE_LENGTH", 1000)
    async with AsyncEventSource(odd.url("/long-line"), reconnect=FAST) as es:
        (before,) = await take(es, 1)
        with pytest.raises(StreamError, match="grew past 1000"):
            await es.next(timeout=LIMIT)
    assert before.data == "before"
    assert es.ready_state is ReadyState.CLOSED
    assert len(odd.state.requests("/long-line")) == 1


async def test_close_while_connecting_ends_in_closed_with_no_further_request(
    odd: OddServer,
) -> None:
    with anyio.fail_after(LIMIT):
        async with AsyncEventSource(odd.url("/slow-headers"), reconnect=FAST) as es:
            await wait_for(lambda: odd.state.requests("/slow-headers"))
            assert es.ready_state is ReadyState.CONNECTING
            es.close()
            assert es.ready_state is ReadyState.CLOSED
    # Leaving the block joined the driver: nothing can make another request now.
    assert len(odd.state.requests("/slow-headers")) == 1
    assert es.transitions[-1].reason == "close() called"


async def test_close_during_the_reconnect_wait_cancels_the_wait(odd: OddServer) -> None:
    odd.state.log = [("1", "one"), ("2", "two")]
    with anyio.fail_after(LIMIT):  # the wait is a minute long; close() must cut it short
        async with AsyncEventSource(odd.url("/replay?per=1"), reconnect=FOREVER) as es:
            await take(es, 1)
            await wait_for(lambda: es.ready_state is ReadyState.CONNECTING)
            es.close()
            assert es.ready_state is ReadyState.CLOSED
            es.close()  # idempotent
    assert len(odd.state.requests("/replay")) == 1
    assert [t.state for t in es.transitions][-1] is ReadyState.CLOSED
    assert sum(t.state is ReadyState.CLOSED for t in es.transitions) == 1


async def test_close_while_open_ends_the_stream(odd: OddServer) -> None:
    with anyio.fail_after(LIMIT):
        async with AsyncEventSource(odd.url("/silent"), reconnect=FAST) as es:
            await take(es, 1)
            assert es.ready_state is ReadyState.OPEN
            es.close()
            assert es.ready_state is ReadyState.CLOSED
            with pytest.raises(SourceClosed):
                await es.next(timeout=LIMIT)
    assert len(odd.state.requests("/silent")) == 1


async def test_idle_timeout_takes_a_silent_server_for_dead_and_reconnects(
    odd: OddServer,
) -> None:
    async with AsyncEventSource(odd.url("/silent"), reconnect=FAST, idle_timeout=0.2) as es:
        await take(es, 1)
        await wait_for(lambda: len(odd.state.requests("/silent")) >= 2)
        assert isinstance(es.error, IdleTimeout) or es.ready_state is ReadyState.OPEN
    assert odd.state.requests("/silent")[1].last_event_id == "s1"
    assert any("no bytes for 0.2 s" in t.reason for t in es.transitions)
    assert es.events_received == 1  # the replayed "s1" was suppressed as a duplicate


async def test_heartbeats_keep_an_idle_timeout_from_firing(odd: OddServer) -> None:
    # 75 comments 20 ms apart span 1.5 s or more, longer than the 1 s idle timeout, which is
    # 50 times the gap between two of them: room for a loaded machine.
    async with AsyncEventSource(
        odd.url("/heartbeats?n=75"), reconnect=FAST, idle_timeout=1.0
    ) as es:
        (event,) = await take(es, 1)
    assert event.data == "after the beats"
    assert len(odd.state.requests("/heartbeats")) == 1


async def test_post_with_a_json_body_streams(odd: OddServer) -> None:
    got: list[Event] = []
    async with AsyncEventSource(
        odd.url("/echo"), method="POST", json={"items": ["a", "b", "c"]}, reconnect=FAST
    ) as es:
        es.on("echo", got.append)
        events = await take(es, 3)
    assert [json.loads(e.data) for e in events] == [
        {"method": "POST", "item": item} for item in "abc"
    ]
    assert got == events
    (request,) = odd.state.requests("/echo")
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["Accept"] == "text/event-stream"


async def test_gap_signal_surfaces_as_an_event_and_an_attribute(odd: OddServer) -> None:
    seen: list[Event] = []
    async with AsyncEventSource(odd.url("/gap"), reconnect=FAST) as es:
        es.on("sse_nb.gap", seen.append)
        gap, ten = await take(es, 2)
    assert gap.type == "sse_nb.gap"
    assert es.gap == {"requested": "5", "oldest": "10"}
    assert seen == [gap]
    assert ten.data == "ten"


@pytest.mark.parametrize("cut", sorted(GAP_CUTS))
async def test_gap_signal_cut_across_chunks_is_still_read(odd: OddServer, cut: str) -> None:
    async with AsyncEventSource(odd.url(f"/gap-cut?cut={cut}"), reconnect=FAST) as es:
        gap, ten = await take(es, 2)
    assert gap.type == "sse_nb.gap"
    assert es.gap is not None
    assert ten.data == "ten"


async def test_a_replayed_id_is_not_delivered_twice(odd: OddServer) -> None:
    async with AsyncEventSource(odd.url("/dupes"), reconnect=FAST) as es:
        events = await take(es, 4)
    assert [e.data for e in events] == ["a", "b", "c", "x"]
    assert es.duplicates >= 1


async def test_a_late_consumer_pauses_the_reader_and_loses_nothing(odd: OddServer) -> None:
    n = MAX_BUFFERED_EVENTS * 2 + 500
    odd.state.log = [(str(i), str(i)) for i in range(n)]
    async with AsyncEventSource(odd.url("/replay?bulk=1"), reconnect=FOREVER) as es:
        first = await es.next(timeout=LIMIT)  # from now on a full buffer pauses the reader
        await wait_for(lambda: es.events_received >= MAX_BUFFERED_EVENTS)
        rest = [await es.next(timeout=LIMIT) for _ in range(n - 1)]
    assert [e.data for e in [first, *rest]] == [str(i) for i in range(n)]
    assert es.dropped == 0


async def test_without_a_consumer_the_oldest_buffered_events_are_dropped_and_counted(
    odd: OddServer,
) -> None:
    n = MAX_BUFFERED_EVENTS * 2 + 500
    odd.state.log = [(str(i), str(i)) for i in range(n)]
    async with AsyncEventSource(odd.url("/replay?bulk=1"), reconnect=FOREVER) as es:
        await wait_for(lambda: es.events_received == n)
        kept = n - es.dropped
        assert MAX_BUFFERED_EVENTS <= kept < n
        events = [await es.next(timeout=LIMIT) for _ in range(kept)]
        with pytest.raises(TimeoutError):
            await es.next(timeout=0.01)
    assert [e.data for e in events] == [str(i) for i in range(es.dropped, n)]
    assert len(es.history) == 1000 and es.history[-1].event.data == str(n - 1)


async def test_reconnect_after_close_resumes_from_the_last_id(odd: OddServer) -> None:
    odd.state.log = [(str(i), f"e{i}") for i in range(6)]
    async with AsyncEventSource(odd.url("/replay?per=3"), reconnect=FOREVER) as es:
        await take(es, 3)
        es.close()
        es.reconnect()
        assert es.ready_state is ReadyState.CONNECTING
        events = await take(es, 3)
    assert [e.data for e in events] == ["e3", "e4", "e5"]
    assert [r.last_event_id for r in odd.state.requests("/replay")] == [None, "2"]
    assert es.reconnects == 1


async def test_reconnect_during_the_wait_connects_now(odd: OddServer) -> None:
    odd.state.log = [("1", "one"), ("2", "two")]
    with anyio.fail_after(LIMIT):  # the policy's wait is a minute; reconnect() skips it
        async with AsyncEventSource(odd.url("/replay?per=1"), reconnect=FOREVER) as es:
            await take(es, 1)
            await wait_for(lambda: es.ready_state is ReadyState.CONNECTING)
            es.reconnect()
            (second,) = await take(es, 1)
    assert second.data == "two"
    assert [r.last_event_id for r in odd.state.requests("/replay")] == [None, "1"]


async def test_reconnect_limit_closes_with_an_error(anyio_backend: str) -> None:
    url = f"http://127.0.0.1:{free_port()}/events"
    policy = ReconnectPolicy(delay=0.01, backoff=1.0, jitter=0.0, max_attempts=2)
    async with AsyncEventSource(url, reconnect=policy) as es:
        with pytest.raises(ReconnectLimitReached, match="after 2 reconnect attempts"):
            await es.next(timeout=LIMIT)
    assert es.ready_state is ReadyState.CLOSED
    assert es.reconnects == 2


async def test_listeners_hear_open_messages_states_and_everything(odd: OddServer) -> None:
    odd.state.log = [("1", "one"), ("2", "two")]
    heard: dict[str, list[Any]] = {"open": [], "message": [], "state": [], "*": []}
    async with AsyncEventSource(odd.url("/replay"), reconnect=FOREVER) as es:
        for name in ("open", "state", "*"):
            es.on(name, heard[name].append)

        def once(event: Event) -> None:
            heard["message"].append(event)
            unsubscribe()

        unsubscribe = es.on("message", once)
        await take(es, 2)
    assert heard["open"] == [None]
    assert [e.data for e in heard["message"]] == ["one"]
    assert [e.data for e in heard["*"]] == ["one", "two"]
    assert all(isinstance(t, Transition) for t in heard["state"])
    assert next(t.state for t in heard["state"]) is ReadyState.OPEN


async def test_a_raising_listener_does_not_stop_the_stream(odd: OddServer) -> None:
    odd.state.log = [("1", "one"), ("2", "two")]

    def boom(event: Any) -> None:
        raise RuntimeError("listener bug")

    async with AsyncEventSource(odd.url("/replay"), reconnect=FOREVER) as es:
        es.on("message", boom)
        assert [e.data for e in await take(es, 2)] == ["one", "two"]


async def test_caller_headers_are_sent_but_accept_stays_exact(odd: OddServer) -> None:
    odd.state.log = [("1", "one")]
    headers = {"Accept": "*/*", "Authorization": "Bearer t0ken"}
    async with AsyncEventSource(
        odd.url("/replay"), headers=headers, last_event_id="0", reconnect=FOREVER
    ) as es:
        await take(es, 1)
    (request,) = odd.state.requests("/replay")
    assert request.headers["Accept"] == "text/event-stream"
    assert request.headers["Authorization"] == "Bearer t0ken"
    assert request.last_event_id == "0"


async def test_an_injected_client_is_used_and_left_open(odd: OddServer) -> None:
    odd.state.log = [("1", "one")]
    async with httpx.AsyncClient(headers={"X-Custom": "yes"}) as client:
        async with AsyncEventSource(odd.url("/replay"), client=client) as es:
            await take(es, 1)
        assert not client.is_closed
    assert odd.state.requests("/replay")[0].headers["X-Custom"] == "yes"


async def test_iterating_a_source_that_is_not_running_says_how_to_start_it(
    anyio_backend: str,
) -> None:
    es = AsyncEventSource("http://127.0.0.1:1/events")
    with pytest.raises(RuntimeError, match="async with"):
        await es.next(timeout=LIMIT)
    assert "CONNECTING" in repr(es)


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="content or json"):
        AsyncEventSource("http://x", content=b"a", json={})
    with pytest.raises(ValueError, match="idle_timeout"):
        AsyncEventSource("http://x", idle_timeout=0)
    with pytest.raises(ValueError, match="CR, LF or NUL"):
        AsyncEventSource("http://x", last_event_id="a\nb")


async def test_every_state_change_is_a_legal_transition_of_the_standard(odd: OddServer) -> None:
    from sse_nb.protocol import TRANSITIONS

    odd.state.log = [(str(i), f"e{i}") for i in range(6)]
    async with AsyncEventSource(odd.url("/replay?per=2"), reconnect=FAST) as es:
        await take(es, 6)
        es.close()
        es.reconnect()
        await wait_for(lambda: es.ready_state is ReadyState.OPEN)
    states = [t.state for t in es.transitions]
    assert {ReadyState.OPEN, ReadyState.CLOSED} <= set(states)
    assert all(pair in TRANSITIONS for pair in itertools.pairwise(states))
