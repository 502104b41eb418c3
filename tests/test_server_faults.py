"""Faults on demand against a real client: each breaks the stream the way it says, and is logged."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from sse_nb import EventServer, EventSource, ReadyState, ReconnectPolicy
from sse_nb.errors import BadContentType, BadStatus
from sse_nb.lab import wait_until
from sse_nb.server.log import SQLiteLog

FAST = ReconnectPolicy(delay=0.05, max_delay=0.2, jitter=0.0)
#: Seconds for anything to show on a loaded machine.
SHOW = 20


def open_client(server: EventServer, **kwargs: object) -> EventSource:
    es = EventSource(server.url, reconnect=FAST, **kwargs)  # type: ignore[arg-type]
    es.wait_for(ReadyState.OPEN, SHOW)
    wait_until(lambda: server.clients and server.clients[-1].state == "open", SHOW)
    return es


def test_reset_and_close_end_the_connection_and_the_client_resumes() -> None:
    with EventServer(heartbeat=None) as server:
        server.start()
        es = open_client(server)
        try:
            server.publish("a")
            es.wait_for(lambda es: es.events_received >= 1, SHOW)
            assert server.faults.reset() == 1
            wait_until(lambda: es.reconnects >= 1 and es.ready_state == 1, SHOW, what="back")
            assert server.faults.close(server.clients[-1].id) == 1
            wait_until(lambda: es.reconnects >= 2 and es.ready_state == 1, SHOW, what="back")
            server.publish("b")
            es.wait_for(lambda es: es.events_received >= 2, SHOW)
        finally:
            es.close()
        kinds = [f.kind for f in server.faults.history]
        assert kinds == ["reset", "close"]
        assert all(f.time <= time.time() for f in server.faults.history)


def test_a_stall_holds_events_until_resumed() -> None:
    with EventServer(heartbeat=None) as server:
        server.start()
        es = open_client(server)
        stalled = server.clients[-1].id
        witness = open_client(server)  # not stalled: it shows the events were sent meanwhile
        try:
            assert server.faults.stall(stalled) == 1
            for i in range(3):
                server.publish(str(i))
            witness.wait_for(lambda w: w.events_received >= 3, SHOW)
            assert es.events_received == 0 and es.ready_state == ReadyState.OPEN
            assert server.faults.resume(stalled) == 1
            es.wait_for(lambda es: es.events_received >= 3, SHOW)
        finally:
            es.close()
            witness.close()


def test_a_throttle_lets_bytes_through_at_its_rate() -> None:
    with EventServer(heartbeat=None) as server:
        server.start()
        es = open_client(server)
        try:
            server.faults.throttle(None, 2000)
            started = time.monotonic()
            for _ in range(10):
                server.publish("x" * 490)  # about 5,000 bytes: 2.5 s at 2,000 B/s
            es.wait_for(lambda es: es.events_received >= 10, 30)
            took = time.monotonic() - started
        finally:
            es.close()
    assert took >= 1.5


@pytest.mark.parametrize(
    ("kind", "error"),
    [("500", BadStatus), ("content-type", BadContentType), ("204", type(None))],
)
def test_answered_attempts_fail_the_connection_as_the_standard_says(kind: str, error: type) -> None:
    with EventServer(heartbeat=None) as server:
        server.start()
        server.faults.answer_next(1, kind)
        es = EventSource(server.url, reconnect=FAST)
        try:
            es.wait_for(ReadyState.CLOSED, SHOW)
            assert isinstance(es.error, error)
            assert server.faults.pending_answers() == 0
            es.reconnect()  # the next attempt is served normally
            es.wait_for(ReadyState.OPEN, SHOW)
        finally:
            es.close()


def test_a_redirect_is_followed_to_the_stream() -> None:
    with EventServer(heartbeat=None) as server:
        server.start()
        server.faults.answer_next(2, "redirect")
        es = EventSource(server.url, reconnect=FAST)
        try:
            es.wait_for(ReadyState.OPEN, SHOW)
            server.publish("after the redirects")
            es.wait_for(lambda es: es.events_received >= 1, SHOW)
        finally:
            es.close()


@pytest.mark.parametrize("sqlite", [False, True], ids=["memory log", "sqlite log, restarted"])
def test_trim_then_resume_gets_the_gap_signal(sqlite: bool, tmp_path: Path) -> None:
    # On a SQLite log the file is cut too: a restart does not bring the trimmed events back.
    path = tmp_path / "events.db"
    with EventServer(heartbeat=None, log=path if sqlite else None) as server:
        server.start()
        es = open_client(server)
        try:
            server.publish("1")
            es.wait_for(lambda es: es.events_received >= 1, SHOW)
            es.close()
            for i in range(10):
                server.publish(str(i))
            assert server.faults.trim(3) == 8  # 11 held, 3 kept
            if sqlite:
                server.faults.restart()
            es.reconnect()
            wait_until(lambda: es.gap is not None, SHOW, what="the gap signal")
            assert es.gap["requested"] == "1" and es.gap["oldest"] == "9"
            es.wait_for(lambda es: es.events_received >= 5, SHOW)  # "1", the gap, 3 held
            assert [r.event.data for r in es.history][-3:] == ["7", "8", "9"]
        finally:
            es.close()
    if sqlite:
        reopened = SQLiteLog(path)
        try:
            assert reopened.replay("default", None).count == 3
        finally:
            reopened.close()


def test_restart_on_the_same_port_with_a_sqlite_log_still_replays(tmp_path: object) -> None:
    with EventServer(heartbeat=None, log=str(tmp_path) + "/events.db") as server:  # type: ignore[operator]
        server.start()
        port = server.port
        es = open_client(server)
        try:
            server.publish("before")
            es.wait_for(lambda es: es.events_received >= 1, SHOW)
            server.faults.restart()
            assert server.port == port
            wait_until(lambda: es.reconnects >= 1 and es.ready_state == 1, SHOW, what="back")
            server.publish("after")
            es.wait_for(lambda es: es.events_received >= 2, SHOW)
            assert [r.event.data for r in es.history] == ["before", "after"]
        finally:
            es.close()
        assert [f.kind for f in server.faults.history] == ["restart"]


def fault_marks(timeline: Any) -> list[Any]:
    """The marks of the timeline's "faults" lane, as the page gets them."""
    lanes = [lane for lane in timeline.lanes if lane["label"] == "faults"]
    return lanes[0]["marks"] if lanes else []


def test_a_client_that_pauses_reading_is_cut_as_a_slow_consumer() -> None:
    with EventServer(heartbeat=None, queue_limit=64 * 1024) as server:
        server.start()
        es = open_client(server)
        try:
            server.publish("first")
            es.wait_for(lambda es: es.events_received >= 1, SHOW)
            es.pause_reading(30)
            server.publish("go")  # the chunk after which reading stops
            big = "y" * 16_000
            deadline = time.monotonic() + 60
            while server.clients[0].state == "open" and time.monotonic() < deadline:
                server.publish(big)  # fills the kernel's buffers, then the server's queue
                time.sleep(0.01)  # publishing at a pace: the loop must run to notice
            assert server.clients[0].close_reason == "slow consumer"
        finally:
            es.close()


def test_panel_buttons_make_faults_and_the_timeline_marks_each_at_its_time() -> None:
    from sse_nb.widgets import ServerPanel, Timeline
    from tests.widget_messages import page_message

    with EventServer(heartbeat=None) as server:
        server.start()
        es = open_client(server)
        panel = ServerPanel(server)
        timeline = Timeline(server)
        try:
            page_message(panel, {"kind": "fault", "fault": "reset", "id": None, "n": 1})
            wait_until(lambda: "reset: 1" in panel.message, SHOW, what="the panel's note")
            wait_until(lambda: es.reconnects >= 1 and es.ready_state == 1, SHOW, what="back")
            page_message(panel, {"kind": "fault", "fault": "500", "id": None, "n": 2})
            wait_until(lambda: "next 2 attempt(s) get 500" in panel.message, SHOW)
            page_message(panel, {"kind": "fault", "fault": "nonsense", "id": None, "n": 1})
            wait_until(lambda: "fault failed" in panel.message, SHOW)

            marks = wait_until(
                lambda: len(fault_marks(timeline)) == 2 and fault_marks(timeline), SHOW
            )
            assert [m["label"] for m in marks] == ["reset all", "answer all"]
            times = [f.time for f in server.faults.history]
            assert [m["t"] for m in marks] == times
        finally:
            panel.close()
            timeline.close()
            es.close()


def test_the_timeline_marks_every_kind_of_fault_at_its_time(tmp_path: Path) -> None:
    from sse_nb.widgets import Timeline

    with EventServer(heartbeat=None, log=tmp_path / "events.db") as server:
        server.start()
        es = open_client(server)
        timeline = Timeline(server)
        try:
            server.publish("a")
            client = server.clients[-1].id
            server.faults.stall(client)
            server.faults.throttle(client, 500)
            server.faults.resume(client)
            server.faults.answer_next(1, "204")
            server.faults.trim(1)
            server.faults.reset()
            wait_until(lambda: es.reconnects >= 1, SHOW, what="the reconnect after the 204")
            es.reconnect()
            es.wait_for(ReadyState.OPEN, SHOW)
            wait_until(lambda: any(c.state == "open" for c in server.clients), SHOW)
            server.faults.close()
            server.faults.restart()
            kinds = ["stall", "throttle", "resume", "answer", "trim", "reset", "close", "restart"]

            marks = wait_until(
                lambda: len(fault_marks(timeline)) == len(kinds) and fault_marks(timeline), SHOW
            )
            assert [m["label"].split()[0] for m in marks] == kinds
            assert marks[0]["label"] == f"stall {client}"
            assert [m["t"] for m in marks] == [f.time for f in server.faults.history]
            assert marks == sorted(marks, key=lambda m: m["t"])
        finally:
            timeline.close()
            es.close()


def test_panel_faults_can_hit_one_client_and_throttle_at_the_rate_given() -> None:
    from sse_nb.widgets import ServerPanel, Timeline
    from tests.widget_messages import page_message

    with EventServer(heartbeat=None) as server:
        server.start()
        hit = open_client(server)
        spared = open_client(server)
        target, other = server.clients[0].id, server.clients[1].id
        panel = ServerPanel(server)
        timeline = Timeline(server)
        try:
            page_message(panel, {"kind": "fault", "fault": "throttle", "id": target, "n": 500})
            wait_until(lambda: "at 500 B/s" in panel.message, SHOW, what="the panel's note")
            assert panel.message == f"throttle: 1 connection(s) of {target} at 500 B/s"
            page_message(panel, {"kind": "fault", "fault": "reset", "id": target, "n": 1})
            wait_until(lambda: panel.message.startswith("reset"), SHOW)
            wait_until(lambda: hit.reconnects >= 1 and hit.ready_state == 1, SHOW, what="back")
            assert spared.reconnects == 0
            assert server.clients[1].id == other and server.clients[1].state == "open"

            marks = wait_until(
                lambda: len(fault_marks(timeline)) == 2 and fault_marks(timeline), SHOW
            )
            assert [m["label"] for m in marks] == [f"throttle {target}", f"reset {target}"]
            assert marks[0]["detail"] == "1 connection(s) at 500 B/s"
        finally:
            panel.close()
            timeline.close()
            hit.close()
            spared.close()
