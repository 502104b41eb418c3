"""Record and replay: a real stream recorded by the client, served back byte for byte."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sse_nb import EventServer, EventSource
from sse_nb.lab import wait_until
from sse_nb.protocol.recording import Recording, Response


def record(server: EventServer, path: Path, events: int) -> list[tuple[str, str | None]]:
    with EventSource(server.url) as es:
        rec = es.record(path)
        wait_until(lambda: es.ready_state == 1, 20, what="OPEN")
        for i in range(events):
            server.publish({"n": i, "text": "héllo"})
        wait_until(lambda: es.events_received >= events, 20, what=f"{events} events")
        rec.close()
        return [(r.event.data, r.event.id) for r in es.history]


def test_a_replayed_recording_is_byte_identical_and_gives_the_same_events(tmp_path: Path) -> None:
    path = tmp_path / "stream.jsonl"
    with EventServer(heartbeat=None, retry=500) as server:
        server.start()
        seen = record(server, path, 5)
        recording = Recording.load(path)
        assert [r.status for r in recording.responses] == [200]
        original = recording.responses[0].body
        assert original.endswith(b'"n": 4, "text": "h\\u00e9llo"}\n\n')

        url = server.play(path, speed=None)
        with EventSource(url) as replay:
            again = replay.record(tmp_path / "again.jsonl")
            wait_until(lambda: replay.events_received >= 5, 20, what="the replayed events")
            wait_until(
                lambda: Recording.load(tmp_path / "again.jsonl").responses[0].body == original,
                20,
                what="the whole body replayed",
            )
            again.close()
            assert [(r.event.data, r.event.id) for r in replay.history] == seen


def test_play_keeps_the_recorded_timing_divided_by_speed(tmp_path: Path) -> None:
    rec = Recording(
        "x",
        0.0,
        [
            Response(
                0.0,
                200,
                [("Content-Type", "text/event-stream")],
                [(0.0, b"data: a\n\n"), (0.6, b"data: b\n\n")],
            )
        ],
    )
    with EventServer(heartbeat=None) as server:
        server.start()
        url = server.play(rec, speed=2.0)
        with EventSource(url) as es:
            wait_until(lambda: es.events_received >= 2, 20, what="both events")
            first, second = es.history
            assert 0.2 <= second.time - first.time < 5.0  # 0.6 s recorded, at twice the speed


def test_a_recording_of_non_utf8_bytes_survives_the_round_trip(tmp_path: Path) -> None:
    from sse_nb.protocol.recording import chunk_line, header_line, response_line

    lines = [
        header_line("u", 1.0),
        response_line(0.0, 200, [("Content-Type", "text/event-stream")]),
        chunk_line(0.0, b"data: \xff\xe2\x82"),
        chunk_line(0.1, b"\xac\n\n"),
    ]
    assert "b64" in json.loads(lines[2])
    rec = Recording.parse(lines)
    assert rec.responses[0].body == b"data: \xff\xe2\x82\xac\n\n"


def test_a_file_that_is_not_a_recording_is_refused_with_its_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"sse_nb_recording": 1}\n{"t": 0, "data": "x"}\n')
    with pytest.raises(ValueError, match="line 2"):
        Recording.load(bad)
    with EventServer(heartbeat=None) as server:
        server.start()
        with pytest.raises(ValueError, match="speed"):
            server.play(Recording("u", 0, [Response(0, 200, [])]), speed=0)


def test_a_recording_started_mid_response_still_opens_with_its_status_and_headers(
    tmp_path: Path,
) -> None:
    with EventServer(heartbeat=None) as server:
        server.start()
        with EventSource(server.url) as es:
            wait_until(lambda: es.ready_state == 1, 20, what="OPEN")
            server.publish("before")
            wait_until(lambda: es.events_received >= 1, 20, what="the first event")
            with es.record(tmp_path / "late.jsonl"):
                server.publish("after")
                wait_until(lambda: es.events_received >= 2, 20, what="the second event")
        late = Recording.load(tmp_path / "late.jsonl").responses
    assert len(late) == 1 and late[0].status == 200
    assert late[0].body.endswith(b"data: after\n\n") and b"before" not in late[0].body
