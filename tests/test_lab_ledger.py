"""The exactly-once ledger on a real server and client: drops survived, a trimmed history caught."""

from __future__ import annotations

from sse_nb import EventServer, EventSource, ReadyState, ReconnectPolicy
from sse_nb.lab import Ledger, wait_until
from sse_nb.lab.ledger import Book

FAST = ReconnectPolicy(delay=0.05, max_delay=0.2, jitter=0.0)


def test_ten_drops_while_publishing_leave_nothing_lost_or_duplicated() -> None:
    with EventServer(heartbeat=None, retry=50) as server:
        server.start()
        es = EventSource(server.url, reconnect=FAST)
        ledger = Ledger(es, server=server)
        try:
            es.wait_for(ReadyState.OPEN, 20)
            for round_ in range(10):
                for _ in range(20):
                    server.publish("x")
                opened = ledger.book.connection
                assert server.disconnect() == 1
                wait_until(
                    lambda n=opened: ledger.book.connection > n and es.ready_state == 1,
                    20,
                    what=f"the client back after drop {round_ + 1}",
                )
            for _ in range(20):
                server.publish("x")
            wait_until(lambda: es.events_received >= 220, 20, what="all 220 events")
            verdict = ledger.verdict()
        finally:
            ledger.close()
            es.close()
    assert verdict.ok, verdict
    assert str(verdict).startswith("0 lost, 0 duplicated, 0 out of order")
    assert verdict.connections == 11 and verdict.received == verdict.expected == 220


def test_a_resume_past_a_trimmed_history_is_reported_as_a_real_loss() -> None:
    with EventServer(heartbeat=None, history=5) as server:
        server.start()
        es = EventSource(server.url, reconnect=FAST)
        ledger = Ledger(es, server=server)
        try:
            es.wait_for(ReadyState.OPEN, 20)
            for _ in range(10):
                server.publish("x")
            es.wait_for(lambda es: es.events_received >= 10, 20)
            es.close()
            for _ in range(20):
                server.publish("y")  # ids 11-30; the server keeps 26-30
            es.reconnect()
            wait_until(lambda: es.last_event_id == "30", 20, what="the replay up to id 30")
            verdict = ledger.verdict()
        finally:
            ledger.close()
            es.close()
    assert verdict.lost == 15 and verdict.gaps == 1
    assert ("lost", "11-25", 2) in verdict.anomalies
    assert str(verdict).startswith("15 lost, 0 duplicated")


def test_the_book_counts_duplicates_late_arrivals_and_a_missing_tail() -> None:
    book = Book(lambda: 8)
    book.opened()
    for i in ["1", "2", "4", "3", "4", None, "6"]:
        book.event(i)
    v = book.verdict()
    assert (v.duplicated, v.out_of_order) == (1, 1)
    assert v.lost == 3  # 5 skipped, 7 and 8 not received
    assert ("lost", "3", 1) in v.anomalies and ("not received (yet)", "7-8", 1) in v.anomalies


def test_a_browser_event_source_is_booked_from_what_the_page_reports() -> None:
    from sse_nb.widgets import BrowserEventSource
    from tests.widget_messages import page_message

    page_es = BrowserEventSource("http://127.0.0.1:9/events", open=False)
    ledger = Ledger(page_es)
    try:
        page_es.view.ready_state = 1
        rows = [[1, "1", "message", "a", 0.0], [2, "3", "message", "b", 0.0]]
        page_message(page_es.view, {"kind": "events", "rows": rows})
        page_es.view.events_received = 2
        verdict = ledger.verdict()
    finally:
        ledger.close()
    assert (verdict.connections, verdict.received, verdict.lost) == (1, 2, 1)
