"""Client panel, status light, server panel and timeline against a real server and client."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from sse_nb import EventServer, EventSource, ReadyState
from sse_nb.widgets import FLUSH_HZ, ClientPanel, ServerPanel, StatusLight, Timeline
from tests.conftest import wait_until
from tests.widget_messages import HOSTILE, max_in_any_second, page_message, record_messages


def publish_paced(server: EventServer, rate: int, seconds: float) -> int:
    """Publish ``rate`` events a second for ``seconds`` (bounded: stops at the count)."""
    total = int(rate * seconds)
    start = time.monotonic()
    sent = 0
    while sent < total:
        due = min(total, int((time.monotonic() - start) * rate) + 1)
        while sent < due:
            sent += 1
            server.publish(f"payload {sent}")
        time.sleep(0.002)  # pacing the producer, not waiting for a result
    return sent


def test_client_panel_at_ten_thousand_events_a_second_flushes_at_most_ten_times_a_second(
    server: EventServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    es = EventSource(server.url)
    panel = ClientPanel(es)
    sent = record_messages(panel.table, monkeypatch)
    try:
        wait_until(lambda: es.ready_state == ReadyState.OPEN, what="the client to open")
        started = time.monotonic()
        producer = threading.Thread(target=publish_paced, args=(server, 10_000, 5.0))
        producer.start()
        # The main thread blocks, as a running cell does; the panel keeps updating meanwhile.
        producer.join(60)
        flushes_while_blocked = panel.flusher.flushes
        wait_until(lambda: es.events_received == 50_000, timeout=60, what="every event")
        wait_until(lambda: panel.table.total == 50_000, what="the last flush")
        elapsed = time.monotonic() - started
        flusher = panel.flusher
        assert flushes_while_blocked >= 2
        assert flusher.flush_threads == {"sse_nb-runtime"}
        assert max_in_any_second(list(flusher.flush_times)) <= FLUSH_HZ
        times = list(flusher.flush_times)
        assert flusher.flushes == len(times) <= FLUSH_HZ * (times[-1] - times[0]) + 1 + 1e-6
        assert len(sent) <= flusher.flushes
        assert all(len(m["rows"]) <= panel.table.max_rows for m in sent)
        assert len(panel.table.rows) == panel.table.max_rows
        assert panel.status.events_received == 50_000
        assert panel.status.last_event_id == es.last_event_id
        print(
            f"\n50,000 events through a real server and client in {elapsed:.2f} s -> "
            f"{flusher.flushes} flushes"
        )
    finally:
        es.close()
        panel.close()


def test_status_light_follows_close_and_reconnect(server: EventServer) -> None:
    es = EventSource(server.url)
    light = StatusLight(es)
    try:
        wait_until(lambda: light.state == "OPEN", what="OPEN")
        server.publish("one", id="1")
        wait_until(lambda: light.last_event_id == "1" and light.events_received == 1)
        es.close()
        wait_until(lambda: light.state == "CLOSED", what="CLOSED")
        server.publish("two", id="2")
        es.reconnect()
        wait_until(lambda: light.state == "OPEN" and light.last_event_id == "2", what="resume")
        assert light.url == server.url
    finally:
        es.close()
        light.close()


def test_panel_buttons_close_and_reconnect_the_client(server: EventServer) -> None:
    es = EventSource(server.url)
    panel = ClientPanel(es)
    try:
        wait_until(lambda: panel.status.state == "OPEN", what="OPEN")
        panel.close_button.click()
        wait_until(lambda: panel.status.state == "CLOSED", what="CLOSED")
        panel.reconnect_button.click()
        wait_until(lambda: panel.status.state == "OPEN", what="OPEN again")
    finally:
        es.close()
        panel.close()


def test_hostile_events_reach_the_table_as_exact_text(
    server: EventServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    es = EventSource(server.url)
    panel = ClientPanel(es)
    sent = record_messages(panel.table, monkeypatch)
    try:
        wait_until(lambda: es.ready_state == ReadyState.OPEN)
        for text in HOSTILE:
            server.publish(text, event="x" + text.replace("\n", ""))
        wait_until(lambda: panel.table.total == len(HOSTILE), what="a flush")
        wait_until(lambda: sent, what="a message")
        rows = [r for m in sent for r in m["rows"]]
        assert [r[3] for r in rows] == HOSTILE
    finally:
        es.close()
        panel.close()


def test_server_panel_shows_the_registry_and_acts_on_page_messages(server: EventServer) -> None:
    panel = ServerPanel(server)
    es = EventSource(server.url)
    try:
        wait_until(lambda: [c["state"] for c in panel.clients] == ["open"], what="one client")
        assert panel.url == server.url and panel.running
        page_message(panel, {"kind": "publish", "data": HOSTILE[0], "event": ""})
        wait_until(lambda: panel.published == 1, what="the publish")
        wait_until(lambda: panel.clients[0]["last_event_id"] == server.last_id())
        assert es.next(timeout=10).data == HOSTILE[0]
        first = panel.clients[0]["id"]
        page_message(panel, {"kind": "drop", "id": first})
        wait_until(
            lambda: any(c["close_reason"] == "dropped by server" for c in panel.clients),
            what="the drop to show",
        )
        assert "dropped 1" in panel.message
        # The client reconnects by itself, resuming from the last id the server sent it.
        wait_until(
            lambda: any(c["state"] == "open" and c["resumed_from"] for c in panel.clients),
            what="the resume to show",
        )
        page_message(panel, {"kind": "drop", "id": None})
        wait_until(lambda: "dropped" in panel.message and panel.published == 1)
    finally:
        es.close()
        panel.close()


def test_server_panel_reports_a_bad_publish_instead_of_raising(server: EventServer) -> None:
    panel = ServerPanel(server)
    try:
        page_message(panel, {"kind": "publish", "data": "x", "event": "bad\nname"})
        wait_until(lambda: "publish failed" in panel.message, what="the error in the panel")
        assert panel.published == 0
    finally:
        panel.close()


def test_client_timeline_marks_close_and_resume(server: EventServer) -> None:
    es = EventSource(server.url)
    timeline = Timeline(es)
    try:
        wait_until(lambda: es.ready_state == ReadyState.OPEN)
        server.publish("a", id="7")
        wait_until(lambda: es.last_event_id == "7")
        es.close()
        es.reconnect()
        wait_until(lambda: es.ready_state == ReadyState.OPEN)

        def kinds() -> list[str]:
            return [m["kind"] for lane in timeline.lanes for m in lane["marks"]]

        wait_until(lambda: kinds() == ["open", "close", "resume"], what=f"marks, got {kinds()}")
        labels = [m["label"] for m in timeline.lanes[0]["marks"]]
        assert labels[-1] == "resume from id 7"
        assert timeline.kind == "client"
    finally:
        es.close()
        timeline.close()


def test_server_timeline_has_a_lane_per_connection(server: EventServer) -> None:
    timeline = Timeline(server)
    es = EventSource(server.url)
    try:
        wait_until(lambda: es.ready_state == ReadyState.OPEN)
        server.publish("a", id="3")
        wait_until(lambda: es.last_event_id == "3")
        server.disconnect()

        def marks() -> list[list[str]]:
            return [[m["kind"] for m in lane["marks"]] for lane in timeline.lanes]

        wait_until(lambda: marks() == [["open", "drop"], ["resume"]], what=f"lanes: {marks()}")
        assert timeline.kind == "server"
        assert timeline.lanes[1]["marks"][0]["label"] == "resume from id 3"
    finally:
        es.close()
        timeline.close()


def test_a_closed_view_stops_following_its_source(server: EventServer) -> None:
    es = EventSource(server.url)
    light = StatusLight(es)
    try:
        wait_until(lambda: es.ready_state == ReadyState.OPEN)
        light.close()
        before = light.flusher.flushes
        server.publish("x")
        es.next(timeout=10)
        assert light.flusher.flushes == before
    finally:
        es.close()


def test_status_light_shows_errors_as_one_line(server: EventServer) -> None:
    es = EventSource(server.url.replace("/events", "/no-such-path"))
    light = StatusLight(es)
    try:
        wait_until(lambda: light.state == "CLOSED" and light.error, what="the failure")
        assert "\n" not in light.error
    finally:
        es.close()
        light.close()


def test_displaying_a_client_shows_its_panel(server: EventServer) -> None:
    es = EventSource(server.url)
    try:
        bundle = es._repr_mimebundle_()
        view = bundle["application/vnd.jupyter.widget-view+json"]
        from ipywidgets.widgets.widget import _instances

        assert isinstance(_instances[view["model_id"]], ClientPanel)
        again = es._repr_mimebundle_()["application/vnd.jupyter.widget-view+json"]
        assert again["model_id"] == view["model_id"]  # one panel, however often it is shown
    finally:
        es.close()


def test_displaying_a_server_shows_its_panel_once(server: EventServer) -> None:
    from ipywidgets.widgets.widget import _instances

    def data(bundle: Any) -> dict[str, Any]:  # anywidget answers (data, metadata)
        return bundle[0] if isinstance(bundle, tuple) else bundle

    bundle = data(server._repr_mimebundle_())
    view = bundle["application/vnd.jupyter.widget-view+json"]
    assert isinstance(_instances[view["model_id"]], ServerPanel)
    assert bundle["text/plain"] == repr(server)
    again = data(server._repr_mimebundle_())["application/vnd.jupyter.widget-view+json"]
    assert again["model_id"] == view["model_id"]


def test_timelines_mark_a_gap_the_server_signalled() -> None:
    with EventServer(heartbeat=None, history=2).start() as server:
        for i in range(5):
            server.publish(f"e{i}")
        es = EventSource(server.url, last_event_id="1")
        client_view, server_view = Timeline(es), Timeline(server)
        try:
            wait_until(lambda: es.gap is not None, what="the gap signal")

            def kinds(t: Timeline) -> list[str]:
                return [m["kind"] for lane in t.lanes for m in lane["marks"]]

            wait_until(lambda: "gap" in kinds(client_view), what=f"{kinds(client_view)}")
            wait_until(lambda: "gap" in kinds(server_view), what=f"{kinds(server_view)}")
            gap = next(m for m in client_view.lanes[0]["marks"] if m["kind"] == "gap")
            assert "asked 1" in gap["detail"]
        finally:
            es.close()
            client_view.close()
            server_view.close()


def test_a_panel_that_fails_is_logged_and_the_text_is_shown(
    server: EventServer, caplog: pytest.LogCaptureFixture
) -> None:
    from sse_nb._display import panel_bundle

    with caplog.at_level("WARNING", logger="sse_nb.display"):
        bundle = panel_bundle(server, "NoSuchPanel")
    assert bundle == {"text/plain": repr(server)}
    (record,) = [r for r in caplog.records if r.name == "sse_nb.display"]
    assert "NoSuchPanel failed" in record.getMessage()
    assert record.exc_info is not None  # the traceback is kept, not swallowed


def test_a_view_closes_its_own_flusher_but_not_a_shared_one(server: EventServer) -> None:
    from sse_nb.widgets import Flusher

    es = EventSource(server.url)
    shared = Flusher()
    own, borrowing = StatusLight(es), StatusLight(es, flusher=shared)
    try:
        own.close()
        borrowing.close()
        assert own.follower.owns_flusher and not borrowing.follower.owns_flusher
        shared.add(lambda: None)
        shared.request()
        wait_until(lambda: shared.flushes >= 1, what="the shared flusher still running")
    finally:
        es.close()
        shared.close()


def test_messages_from_the_page_are_read_into_their_typed_form() -> None:
    from sse_nb.widgets.contracts import page_message as read

    assert read({"kind": "drop", "id": 5}) == {"kind": "drop", "id": "5"}
    assert read({"kind": "drop"}) == {"kind": "drop", "id": None}
    assert read({"kind": "publish", "data": None}) == {"kind": "publish", "data": "", "event": ""}
    assert read({"kind": "events", "rows": [[1, "a"], "junk", 3]}) == {
        "kind": "events",
        "rows": [[1, "a"]],
    }
    assert read({"kind": "events", "rows": "junk"}) == {"kind": "events", "rows": []}
    for junk in (None, "sync", [], {"kind": "rm -rf"}, {"no": "kind"}):
        assert read(junk) is None
