"""EventServer over real loopback: headers, live events, channels, replay, gaps, auth, CORS, 204."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import httpx
import pytest
from conftest import wait_until
from streams import Stream

from sse_nb import _runtime
from sse_nb.server import GAP_EVENT, GAP_HEADER, EventServer


def test_stream_headers_are_event_stream_uncompressed_and_send_retry() -> None:
    with (
        EventServer(retry=1500, heartbeat=None) as server,
        Stream(server.url, headers={"Accept-Encoding": "gzip"}) as s,
    ):
        s.read_until(lambda s: s.parser.retry is not None)
        h = s.response.headers
        assert s.response.status_code == 200
        assert h["content-type"] == "text/event-stream; charset=utf-8"
        assert h["cache-control"] == "no-cache"
        assert h["x-accel-buffering"] == "no"
        assert "content-encoding" not in h
        assert GAP_HEADER.lower() not in h
        assert s.parser.retry == 1500


def test_published_events_arrive_live_with_ids_types_and_json(server: EventServer) -> None:
    with Stream(server.url) as s:
        wait_until(lambda: server.clients, what="client registered")
        assert server.publish("hello") == "1"
        assert server.publish({"a": [1, 2]}, event="tick") == "2"
        assert server.publish("line1\nline2", id="custom") == "custom"
        s.read_until(lambda s: len(s.events) == 3)
    assert [(e.type, e.data, e.id) for e in s.events] == [
        ("message", "hello", "1"),
        ("tick", '{"a": [1, 2]}', "2"),
        ("message", "line1\nline2", "custom"),
    ]
    assert server.published == 3
    assert server.last_id() == "custom"


def test_channels_are_separate_streams(server: EventServer) -> None:
    assert server.url_for("news") == server.url + "/news"
    assert server.url_for("default") == server.url
    with Stream(server.url_for("news")) as news, Stream(server.url) as default:
        wait_until(lambda: len(server.clients) == 2, what="two clients")
        server.publish("for default")
        server.publish("for news", channel="news")
        news.read_until(lambda s: len(s.events) == 1)
        default.read_until(lambda s: len(s.events) == 1)
    assert news.events[0].data == "for news"
    assert news.events[0].id == "1"  # each channel numbers its own events
    assert default.events[0].data == "for default"
    assert server.last_id("news") == "1"
    assert server.last_id("nothing") is None


def test_unknown_channel_name_is_404(server: EventServer) -> None:
    r = httpx.get(server.url + "/bad%20name", timeout=5)
    assert r.status_code == 404


def test_resume_replays_missed_events_without_loss_or_duplicate_while_publishing() -> None:
    """Events published during the replay are queued behind it: the seam loses nothing."""
    with EventServer(heartbeat=None, history=100_000) as server:
        for i in range(5_000):
            server.publish(f"before {i}")
        stop = threading.Event()
        published: list[str] = []

        def publisher() -> None:
            for i in range(20_000):
                if stop.is_set():
                    break
                published.append(server.publish(f"during {i}"))

        t = threading.Thread(target=publisher)
        t.start()
        try:
            with Stream(server.url, headers={"Last-Event-ID": "100"}) as s:
                s.read_until(lambda s: len(s.events) >= 6_000)
                stop.set()
                t.join(10)
                last = server.last_id()
                s.read_until(lambda s: s.events[-1].id == last, timeout=20)
        finally:
            stop.set()
            t.join(10)
    ids = [int(i) for i in s.ids]
    assert ids == list(range(101, int(last or 0) + 1))
    assert len(published) > 0
    assert not any(e.type == GAP_EVENT for e in s.events)


def test_resume_by_last_event_id_query_parameter(server: EventServer) -> None:
    for i in range(5):
        server.publish(str(i))
    with Stream(server.url, params={"lastEventId": "3"}) as s:
        s.read_until(lambda s: len(s.events) == 2)
    assert s.ids == ["4", "5"]
    info = server.clients[0]
    assert info.resumed_from == "3"
    assert info.gap is None


def test_new_client_without_last_event_id_gets_only_live_events(server: EventServer) -> None:
    server.publish("old")
    with Stream(server.url) as s:
        wait_until(lambda: server.clients, what="client registered")
        server.publish("new")
        s.read_until(lambda s: len(s.events) == 1)
    assert s.ids == ["2"]


def test_expired_id_gets_gap_signal_then_what_is_held() -> None:
    with EventServer(heartbeat=None, history=10) as server:
        for i in range(30):
            server.publish(str(i))
        with Stream(server.url, headers={"Last-Event-ID": "5"}) as s:
            s.read_until(lambda s: len(s.events) == 11)
        info = server.clients[0]
    assert s.response.headers[GAP_HEADER] == "1"
    gap = s.events[0]
    assert gap.type == GAP_EVENT and gap.id is None
    assert json.loads(gap.data) == {"requested": "5", "oldest": "21"}
    assert s.ids == [str(i) for i in range(21, 31)]
    assert info.gap == {"requested": "5", "oldest": "21"}


def test_just_evicted_id_needs_no_gap() -> None:
    """History 10 after 30 events holds 21..30: a client that saw 20 has missed nothing."""
    with EventServer(heartbeat=None, history=10) as server:
        for i in range(30):
            server.publish(str(i))
        with Stream(server.url, headers={"Last-Event-ID": "20"}) as s:
            s.read_until(lambda s: len(s.events) == 10)
    assert GAP_HEADER.lower() not in s.response.headers
    assert s.ids == [str(i) for i in range(21, 31)]


@pytest.mark.parametrize(
    ("where", "value"),
    [
        ("header", "not-a-number"),
        ("header", "9" * 5000),
        ("header", "1" + "\t" + "2"),
        ("query", "7\x00"),
        ("query", "7\r\n8"),
        ("query", "\x01\x02"),
        ("query", "\u00e9\U0001f600"),
        ("query", "-1"),
        ("query", "999999999999999999999999"),
    ],
)
def test_malformed_or_unknown_ids_get_gap_signal_never_500(
    server: EventServer, where: str, value: str
) -> None:
    for i in range(3):
        server.publish(str(i))
    kwargs: dict[str, dict[str, str]] = (
        {"headers": {"Last-Event-ID": value}}
        if where == "header"
        else {"params": {"lastEventId": value}}
    )
    with Stream(server.url, **kwargs) as s:
        s.read_until(lambda s: len(s.events) == 4)
    assert s.response.status_code == 200
    assert s.response.headers[GAP_HEADER] == "1"
    gap = json.loads(s.events[0].data)
    assert s.events[0].type == GAP_EVENT
    assert gap["oldest"] == "1"
    assert len(gap["requested"]) <= 1024
    assert s.ids == ["1", "2", "3"]


def test_resume_on_empty_channel_is_a_gap_with_no_oldest(server: EventServer) -> None:
    with Stream(server.url, headers={"Last-Event-ID": "42"}) as s:
        s.read_until(lambda s: len(s.events) == 1)
    assert json.loads(s.events[0].data) == {"requested": "42", "oldest": None}


def test_token_required_by_header_or_query() -> None:
    with EventServer(heartbeat=None, token="s3cret") as server:
        assert httpx.get(server.url, timeout=5).status_code == 401
        bad = httpx.get(server.url, headers={"Authorization": "Bearer nope"}, timeout=5)
        assert bad.status_code == 401
        assert bad.headers["www-authenticate"] == "Bearer"
        server.publish("x")
        with Stream(
            server.url, headers={"Authorization": "Bearer s3cret", "Last-Event-ID": "0"}
        ) as s:
            s.read_until(lambda s: s.ids == ["1"])
        with Stream(server.url, params={"token": "s3cret", "lastEventId": "0"}) as s:
            s.read_until(lambda s: s.ids == ["1"])


def test_cors_only_for_given_origins_with_preflight_for_last_event_id() -> None:
    with EventServer(heartbeat=None, cors=["http://good.example"]) as server:
        pre = httpx.options(
            server.url,
            headers={
                "Origin": "http://good.example",
                "Access-Control-Request-Method": "GET",
                "Access-Control-Request-Headers": "last-event-id",
            },
            timeout=5,
        )
        assert pre.status_code == 204
        assert pre.headers["access-control-allow-origin"] == "http://good.example"
        assert "Last-Event-ID" in pre.headers["access-control-allow-headers"]
        with Stream(server.url, headers={"Origin": "http://good.example"}) as s:
            assert s.response.headers["access-control-allow-origin"] == "http://good.example"
        with Stream(server.url, headers={"Origin": "http://evil.example"}) as s:
            assert "access-control-allow-origin" not in s.response.headers
        server.allow_origin("http://later.example")
        with Stream(server.url, headers={"Origin": "http://later.example"}) as s:
            assert s.response.headers["access-control-allow-origin"] == "http://later.example"
    with (
        EventServer(heartbeat=None, cors="*") as server,
        Stream(server.url, headers={"Origin": "http://any.example"}) as s,
    ):
        assert s.response.headers["access-control-allow-origin"] == "*"


def test_closed_channel_ends_streams_and_answers_204(server: EventServer) -> None:
    server.publish("x", channel="news")
    with Stream(server.url_for("news")) as s:
        wait_until(lambda: server.clients, what="client registered")
        assert server.close_channel("news") == 1
        s.read_to_end()
    assert httpx.get(server.url_for("news"), timeout=5).status_code == 204
    assert (
        httpx.get(server.url_for("news"), headers={"Last-Event-ID": "1"}, timeout=5).status_code
        == 204
    )
    with pytest.raises(RuntimeError, match="closed"):
        server.publish("y", channel="news")
    with Stream(server.url) as s:  # other channels go on
        assert s.response.status_code == 200


def test_final_stop_answers_204_while_lingering_then_frees_the_port() -> None:
    server = EventServer(heartbeat=None).start()
    url = server.url
    s = Stream(url)
    wait_until(lambda: server.clients, what="client registered")
    result: list[int] = []

    def reconnect_after_end() -> None:
        s.read_to_end()
        result.append(httpx.get(url, headers={"Last-Event-ID": "0"}, timeout=5).status_code)

    t = threading.Thread(target=reconnect_after_end)
    t.start()
    server.stop(final=True, linger=1.0)
    t.join(10)
    s.close()
    assert result == [204]
    assert server.clients[0].close_reason == "server stopped"
    with pytest.raises(httpx.ConnectError):
        httpx.get(url, timeout=5)
    with pytest.raises(RuntimeError, match="for good"):
        server.start()


@pytest.mark.parametrize("bad_id", ["a\nb", "a\rb", "a\x00b", ""])
def test_publish_rejects_ids_that_cannot_be_sent(server: EventServer, bad_id: str) -> None:
    with pytest.raises(ValueError, match="id"):
        server.publish("x", id=bad_id)
    assert server.published == 0


def test_publish_rejects_data_that_is_not_json(server: EventServer) -> None:
    with pytest.raises(TypeError, match="JSON"):
        server.publish(object())
    with pytest.raises(TypeError, match="JSON"):
        server.publish({"s": {1, 2}})
    with pytest.raises(ValueError, match="channel"):
        server.publish("x", channel="a/b")
    assert server.published == 0


def test_publish_from_a_callback_on_the_runtime_thread_does_not_deadlock(
    server: EventServer,
) -> None:
    threads: list[bool] = []

    def greet(info: object) -> None:
        threads.append(_runtime.in_runtime_thread())
        server.publish("welcome")

    server.on_connect(greet)
    with Stream(server.url) as s:
        s.read_until(lambda s: len(s.events) == 1)
    assert s.events[0].data == "welcome"
    assert threads == [True]


def test_sqlite_log_replays_after_restart_and_keeps_numbering(tmp_path: Path) -> None:
    db = tmp_path / "events.sqlite"
    first = EventServer(heartbeat=None, log=db).start()
    for i in range(10):
        first.publish(f"e{i}")
    wait_until(lambda: first.last_id() == "10")
    first.close()

    second = EventServer(heartbeat=None, log=db).start()
    try:
        assert second.last_id() == "10"
        assert second.publish("after restart") == "11"
        with Stream(second.url, headers={"Last-Event-ID": "7"}) as s:
            s.read_until(lambda s: len(s.events) == 4)
        assert s.ids == ["8", "9", "10", "11"]
        assert [e.data for e in s.events] == ["e7", "e8", "e9", "after restart"]
    finally:
        second.close()


def test_post_opens_the_same_stream(server: EventServer) -> None:
    server.publish("x")
    with Stream(server.url, method="POST", headers={"Last-Event-ID": "0"}) as s:
        s.read_until(lambda s: s.ids == ["1"])


def test_a_publisher_in_a_tight_loop_is_held_to_what_the_loop_can_send() -> None:
    """publish() from a thread waits once MAX_PENDING_EVENTS are pending: memory stays bounded."""
    from sse_nb.server.channels import MAX_PENDING_EVENTS

    with EventServer(heartbeat=None) as server:
        peak = 0
        for i in range(MAX_PENDING_EVENTS * 5):
            server.publish(f"e{i}")
            peak = max(peak, server._pipeline.pending)
        assert peak <= MAX_PENDING_EVENTS
        assert server.last_id() == str(MAX_PENDING_EVENTS * 5)
