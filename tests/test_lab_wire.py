"""The wire view's rows: bytes as they arrived, escaped, and the standard's decision per line."""

from __future__ import annotations

from sse_nb import EventServer, EventSource
from sse_nb.lab import WireView, wait_until
from sse_nb.lab.wire import WireRows, escape_bytes
from sse_nb.protocol import ReconnectPolicy, trace
from sse_nb.protocol.recording import Recording, Response

#: A stream with everything a wire view must make visible.
AWKWARD = [
    b"\xef\xbb\xbfretry: 2s\r\n",
    b"id: 4\x002\r\ndata: caf\xc3",
    b"\xa9\r\n\r\n",
    b"id: 5\r\ndata: fin\r\n\r\ndata: cut",
]


def awkward_recording() -> Recording:
    chunks = [(i * 0.01, c) for i, c in enumerate(AWKWARD)]
    return Recording("", 0.0, [Response(0.0, 200, [("Content-Type", "text/event-stream")], chunks)])


def test_escapes_show_cr_lf_nul_bom_and_bad_utf8() -> None:
    assert escape_bytes(b"\xef\xbb\xbfa\r\n\x00\x01\xff") == "\\uFEFFa\\r\\n\\0\\x01\\xff"


def test_client_rows_show_each_chunk_and_each_decision() -> None:
    with EventServer(heartbeat=None) as server:
        server.start()
        url = server.play(awkward_recording(), speed=None)
        # No reconnect: a second play of the recording would add its events to the history.
        es = EventSource(url, reconnect=ReconnectPolicy(max_attempts=0))
        view = WireView(es)
        try:
            wait_until(lambda: es.events_received >= 2, 20, what="two events")
            wait_until(
                lambda: any(r["decision"] == trace.DISCARDED for r in view.wire.snapshot()),
                20,
                what="the end of the stream in the view",
            )
            rows = view.wire.snapshot()
        finally:
            view.close()
            es.close()
    decisions = [r["decision"] for r in rows if r["kind"] == "line"]
    assert decisions[:6] == [
        trace.BOM,
        trace.RETRY_BAD,
        trace.ID_NUL,
        trace.DATA,
        trace.DISPATCH,
        trace.ID,
    ]
    assert trace.DISCARDED in decisions
    texts = "".join(r["text"] for r in rows if r["kind"] == "chunk")
    assert "\\uFEFF" in texts and "\\r\\n" in texts and "\\0" in texts
    dispatched = [r["value"] for r in rows if r["decision"] == trace.DISPATCH]
    assert dispatched[0] == "message id='' data='café'"
    assert [r.event.data for r in es.history] == ["café", "fin"]


def test_server_rows_start_with_the_http_head_then_decide_on_the_body() -> None:
    with EventServer(heartbeat=None, retry=1500) as server:
        server.start()
        view = WireView.server(server, "watched")
        es = EventSource(server.url + "?client=watched")
        try:
            wait_until(lambda: es.ready_state == 1, 20, what="OPEN")
            server.publish("hi", id="7")
            wait_until(lambda: es.events_received >= 1, 20, what="the event")
            wait_until(
                lambda: any(r["decision"] == trace.DISPATCH for r in view.wire.snapshot()),
                20,
                what="the dispatch in the view",
            )
            rows = view.wire.snapshot()
        finally:
            view.close()
            es.close()
    assert rows[0]["kind"] == "chunk"
    assert rows[1]["kind"] == "response" and rows[1]["decision"].startswith("HTTP/1.1 200")
    decisions = [r["decision"] for r in rows if r["kind"] == "line"]
    assert trace.RETRY in decisions and trace.ID in decisions and trace.DISPATCH in decisions


def test_rows_are_bounded() -> None:
    rows = WireRows(max_rows=10)
    rows.response(200, [])
    for _ in range(100):
        rows.feed(b"data: x\n\n")
    assert len(rows.snapshot()) == 10
