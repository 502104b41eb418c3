"""EventSource, the synchronous face: runs on the runtime thread while the caller blocks."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from conftest import wait_until
from odd_server import OddServer

from sse_nb import _runtime
from sse_nb.client import EventSource, ThreadInbox, Transition
from sse_nb.client import sync as sync_module
from sse_nb.errors import BadStatus, SourceClosed
from sse_nb.protocol import Event, ReadyState, ReconnectPolicy

FAST = ReconnectPolicy(delay=0.01, backoff=1.0, jitter=0.0)
FOREVER = ReconnectPolicy(delay=60.0, backoff=1.0, jitter=0.0)
LIMIT = 10.0


def test_events_arrive_while_the_caller_blocks(odd: OddServer) -> None:
    odd.state.log = [(str(i), f"e{i}") for i in range(20)]
    with EventSource(odd.url("/replay?per=7"), reconnect=FAST) as es:
        # The caller's thread does nothing for the stream; the runtime thread does it all.
        wait_until(lambda: es.events_received == 20, LIMIT, what="20 events")
        assert [es.next(timeout=LIMIT).data for _ in range(20)] == [f"e{i}" for i in range(20)]
        assert es.last_event_id == "19"
        assert es.reconnects >= 2
        assert [r.event.data for r in es.history][-1] == "e19"
    assert es.ready_state is ReadyState.CLOSED


def test_callbacks_run_on_the_runtime_thread(odd: OddServer) -> None:
    odd.state.log = [("1", "one"), ("2", "two")]
    threads: set[bool] = set()
    got: list[Event] = []
    states: list[Transition] = []

    def on_message(ev: Event) -> None:
        threads.add(_runtime.in_runtime_thread())
        got.append(ev)

    es = EventSource(odd.url("/gated"), reconnect=FOREVER)
    try:
        es.on("message", on_message)
        es.on("state", states.append)
        odd.open_gate()
        wait_until(lambda: len(got) == 2, LIMIT, what="two callbacks")
    finally:
        es.close()
    assert threads == {True}
    assert states[-1].state is ReadyState.CLOSED


def test_close_is_immediate_from_any_state_and_idempotent(odd: OddServer) -> None:
    for path in ("/slow-headers", "/silent"):
        es = EventSource(odd.url(path), reconnect=FAST)
        wait_until(lambda p=path: odd.state.requests(p), LIMIT, what=f"a request to {path}")
        es.close()
        assert es.ready_state is ReadyState.CLOSED
        es.close()
        closed = [t for t in es.transitions if t.state is ReadyState.CLOSED]
        assert len(closed) == 1
        # What arrived before close() can still be taken; then the source says it is closed.
        assert [e.data for e in es] in ([], ["only one"])
        with pytest.raises(SourceClosed):
            es.next(timeout=LIMIT)


def test_close_during_the_reconnect_wait_stops_reconnecting(odd: OddServer) -> None:
    odd.state.log = [("1", "one"), ("2", "two")]
    es = EventSource(odd.url("/replay?per=1"), reconnect=FOREVER)
    wait_until(lambda: es.events_received == 1, LIMIT)
    wait_until(lambda: es.ready_state is ReadyState.CONNECTING, LIMIT)
    es.close()
    assert es.ready_state is ReadyState.CLOSED
    assert len(odd.state.requests("/replay")) == 1


def test_reconnect_after_close_resumes_from_the_last_id(odd: OddServer) -> None:
    odd.state.log = [(str(i), f"e{i}") for i in range(4)]
    es = EventSource(odd.url("/replay?per=2"), reconnect=FOREVER)
    try:
        assert [es.next(timeout=LIMIT).data for _ in range(2)] == ["e0", "e1"]
        es.close()
        es.reconnect()
        assert [es.next(timeout=LIMIT).data for _ in range(2)] == ["e2", "e3"]
    finally:
        es.close()
    assert [r.last_event_id for r in odd.state.requests("/replay")] == [None, "1"]


def test_events_iterator_stops_after_the_timeout_with_no_event(odd: OddServer) -> None:
    odd.state.log = [("1", "one"), ("2", "two")]
    with EventSource(odd.url("/silent"), reconnect=FAST) as es:
        wait_until(lambda: es.events_received == 1, LIMIT)
        assert [e.data for e in es.events(timeout=1.0)] == ["only one"]
        with pytest.raises(TimeoutError):
            es.next(timeout=0.05)


def test_iteration_raises_the_failure_and_then_ends(odd: OddServer) -> None:
    es = EventSource(odd.url("/status/500"), reconnect=FAST)
    with pytest.raises(BadStatus, match="500"):
        for _ in es:
            pass
    assert list(es) == []
    assert es.ready_state is ReadyState.CLOSED


def test_a_blocking_cell_does_not_stop_idle_detection(odd: OddServer) -> None:
    es = EventSource(odd.url("/silent"), reconnect=FAST, idle_timeout=0.2)
    try:
        time.sleep(0.5)  # a cell that blocks its own thread for longer than the idle timeout
        wait_until(lambda: len(odd.state.requests("/silent")) >= 2, LIMIT)
    finally:
        es.close()
    assert odd.state.requests("/silent")[1].last_event_id == "s1"


def test_repr_and_display_fall_back_to_text_or_show_the_panel(odd: OddServer) -> None:
    es = EventSource(odd.url("/silent"), reconnect=FAST)
    try:
        wait_until(lambda: es.ready_state is ReadyState.OPEN, LIMIT)
        text = repr(es)
        assert "OPEN" in text and odd.url("/silent") in text
        bundle: dict[str, Any] = es._repr_mimebundle_()
        assert "application/vnd.jupyter.widget-view+json" in bundle  # the ClientPanel
        assert "text/plain" in bundle
    finally:
        es.close()


def test_next_refuses_to_block_the_runtime_thread(odd: OddServer) -> None:
    es = EventSource(odd.url("/silent"), reconnect=FAST)
    try:

        async def call_next() -> str:
            try:
                es.next(timeout=0.01)
            except RuntimeError as exc:
                return str(exc)
            return "no error"

        assert "runtime thread" in _runtime.run(call_next())
    finally:
        es.close()


def test_time_is_epoch_seconds_in_history_and_transitions(odd: OddServer) -> None:
    with EventSource(odd.url("/silent"), reconnect=FAST) as es:
        es.next(timeout=LIMIT)
        now = time.time()
        assert abs(es.history[0].time - now) < 60
        assert abs(es.transitions[-1].time - now) < 60


@pytest.mark.parametrize("read_first", [False, True], ids=["never-read", "read-once"])
def test_an_undrained_queue_keeps_the_newest_events_and_counts_the_rest(
    monkeypatch: pytest.MonkeyPatch, read_first: bool
) -> None:
    # Before anyone reads, the inbox holds as few as the async face's (a callbacks-only
    # notebook never reads); once a reader asked for an event, it holds more for that reader.
    from sse_nb import EventServer

    monkeypatch.setattr(sync_module, "MAX_UNREAD_EVENTS", 20)
    monkeypatch.setattr(sync_module, "MAX_PENDING_EVENTS", 50)
    with EventServer(heartbeat=60) as server, EventSource(server, reconnect=FOREVER) as es:
        es.wait_for(ReadyState.OPEN, timeout=LIMIT)
        server.publish("0")
        if read_first:
            assert es.next(timeout=LIMIT).data == "0"
        for i in range(1, 500):
            server.publish(str(i))
        wait_until(lambda: es.events_received == 500, LIMIT)
        kept = [e.data for e in es.events(timeout=0)]  # everything buffered, then it ends
    assert len(kept) == (50 if read_first else 20)
    assert kept == [str(i) for i in range(500 - len(kept), 500)]
    assert es.dropped == 500 - len(kept) - read_first
    assert es.events_received == 500  # callbacks and history saw every one


def test_listeners_given_to_the_constructor_see_the_first_replayed_event() -> None:
    from sse_nb import EventServer

    with EventServer(heartbeat=60) as server:
        for i in range(50):
            server.publish(f"e{i}")
        seen: list[Event] = []
        es = EventSource(server.url, last_event_id="1", listeners={"message": seen.append})
        try:
            wait_until(lambda: len(es.history) >= 49, what="the replay")
            assert [ev.id for ev in seen] == [str(i) for i in range(2, 51)]
        finally:
            es.close()


def test_wait_for_blocks_until_the_state_or_condition_holds() -> None:
    from sse_nb import EventServer

    with EventServer(heartbeat=60) as server:
        es = EventSource(server.url)
        try:
            es.wait_for(ReadyState.OPEN, timeout=10)
            server.publish("one")
            es.wait_for(lambda s: s.events_received == 1, timeout=10)
            assert es.last_event_id == "1"
            es.close()
            es.wait_for(ReadyState.CLOSED, timeout=1)
            with pytest.raises(TimeoutError, match="readyState OPEN; readyState is CLOSED"):
                es.wait_for(ReadyState.OPEN, timeout=0.05)
        finally:
            es.close()


def _numbered(first: int, n: int) -> list[Event]:
    return [Event(data=str(i)) for i in range(first, first + n)]


def test_the_runtime_thread_steps_aside_until_a_waiting_reader_takes_a_backlog(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Events a reader keeps up with must die young: once HANDOFF_EVENTS wait for a woken
    # reader, put() returns only after that reader took them (here given all the time it needs).
    monkeypatch.setattr(sync_module, "HANDOFF_WAIT", LIMIT)
    inbox = ThreadInbox("http://127.0.0.1/x")
    first: list[Event] = []
    reader = threading.Thread(target=lambda: first.append(inbox.next(timeout=LIMIT)))
    reader.start()
    try:
        wait_until(lambda: inbox._readers == 1, LIMIT, what="the reader waiting")
        inbox.put(_numbered(0, sync_module.HANDOFF_EVENTS))
        assert not inbox._chunks  # taken before put() returned
        assert inbox._handoff is None
    finally:
        reader.join(LIMIT)
    rest = [inbox.next(timeout=0).data for _ in range(sync_module.HANDOFF_EVENTS - 1)]
    assert [ev.data for ev in first] + rest == [str(i) for i in range(sync_module.HANDOFF_EVENTS)]


def test_the_runtime_thread_never_waits_for_wait_for_or_a_reader_that_is_not_waiting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # wait_for() takes no events, and a reader busy elsewhere is not waiting: put() must not
    # wait for either (with HANDOFF_WAIT this long, a wrong wait would hold the test for it).
    monkeypatch.setattr(sync_module, "HANDOFF_WAIT", LIMIT)
    inbox = ThreadInbox("http://127.0.0.1/x")
    done = threading.Event()
    waiter = threading.Thread(target=lambda: inbox.wait_until(done.is_set, LIMIT))
    waiter.start()
    try:
        wait_until(lambda: inbox._waiting == 1, LIMIT, what="wait_for waiting")
        inbox.put(_numbered(0, sync_module.HANDOFF_EVENTS))
        assert inbox._handoff is None
    finally:
        done.set()
        waiter.join(LIMIT)
    inbox.put(_numbered(sync_module.HANDOFF_EVENTS, sync_module.HANDOFF_EVENTS))  # no one waits
    assert inbox._handoff is None
    got = [inbox.next(timeout=0).data for _ in range(2 * sync_module.HANDOFF_EVENTS)]
    assert got == [str(i) for i in range(2 * sync_module.HANDOFF_EVENTS)]
