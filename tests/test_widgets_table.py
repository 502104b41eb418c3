"""The event table and its flusher, Python side: batching rate, the page's bound, text only."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from sse_nb import _runtime
from sse_nb.protocol import Event
from sse_nb.widgets import FLUSH_HZ, EventTable, Flusher
from sse_nb.widgets.table import MAX_CELL_CHARS
from tests.conftest import wait_until
from tests.widget_messages import HOSTILE, max_in_any_second, page_message, record_messages


def test_ten_thousand_events_a_second_flush_at_most_ten_times_a_second(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    table = EventTable()
    sent = record_messages(table, monkeypatch)
    started = time.monotonic()
    done = threading.Event()
    fut = _runtime.spawn(_feed_coro(table, rate=10_000, seconds=5.0))
    fut.add_done_callback(lambda _f: done.set())
    # The main thread (a notebook's kernel thread) just blocks, as a running cell would; the
    # page is updated meanwhile, from the runtime thread.
    assert done.wait(60), "feeding did not finish"
    flushes_while_blocked = table.flusher.flushes
    elapsed = time.monotonic() - started
    assert fut.result() == 50_000
    # ``total`` is set before the message goes out and ``messages_sent`` counted after it.
    wait_until(
        lambda: table.total == 50_000 and len(sent) == table.messages_sent,
        what="the last flush",
    )
    flusher = table.flusher
    assert flushes_while_blocked >= 2
    assert flusher.flush_threads == {"sse_nb-runtime"}
    assert max_in_any_second(list(flusher.flush_times)) <= FLUSH_HZ
    times = list(flusher.flush_times)
    assert flusher.flushes == len(times) <= FLUSH_HZ * (times[-1] - times[0]) + 1 + 1e-6
    assert len(sent) == table.messages_sent <= flusher.flushes
    # Every event reached the page once, in order, in a few large deltas.
    numbers = [r[0] for m in sent for r in m["rows"]]
    assert numbers == sorted(set(numbers))
    assert sent[-1]["total"] == 50_000 and numbers[-1] == 50_000
    print(f"\n50,000 events in {elapsed:.2f} s -> {flusher.flushes} flushes, {len(sent)} messages")


async def _feed_coro(table: EventTable, rate: int, seconds: float) -> int:
    start = time.monotonic()
    sent = 0
    total = int(rate * seconds)
    while sent < total:
        due = min(total, int((time.monotonic() - start) * rate) + 1)
        while sent < due:
            sent += 1
            table.append(Event(data=f"payload {sent}", id=str(sent)))
        await asyncio.sleep(0.005)  # feeding at a rate: the flusher runs in between
    return sent


def test_page_window_keeps_its_bound_and_python_keeps_the_rest(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    table = EventTable(max_rows=100)
    sent = record_messages(table, monkeypatch)
    for i in range(1, 1001):
        table.append(Event(data=str(i), id=str(i)))
    wait_until(lambda: table.total == 1000, what="a flush")
    assert len(table.rows) == 100
    assert [r[0] for r in table.rows] == list(range(901, 1001))
    assert all(len(m["rows"]) <= 100 for m in sent)
    # A late view asks for the window and gets exactly the bounded window back.
    page_message(table, {"kind": "sync"})
    wait_until(lambda: sent and sent[-1]["kind"] == "reset", what="the reset message")
    assert [r[0] for r in sent[-1]["rows"]] == list(range(901, 1001))


def test_hostile_data_is_kept_as_exact_text(monkeypatch: pytest.MonkeyPatch) -> None:
    table = EventTable()
    sent = record_messages(table, monkeypatch)
    for i, text in enumerate(HOSTILE):
        table.append(Event(type=text, data=text, id=f"{i}{text}"))
    wait_until(lambda: table.total == len(HOSTILE), what="a flush")
    rows = [r for m in sent for r in m["rows"]]
    assert [r[3] for r in rows] == HOSTILE
    assert [r[2] for r in rows] == HOSTILE
    assert [r[1] for r in rows] == [f"{i}{t}" for i, t in enumerate(HOSTILE)]


def test_long_data_is_cut_for_the_page_only() -> None:
    table = EventTable()
    table.append(Event(data="x" * (MAX_CELL_CHARS * 3)))
    assert len(table.rows[0][3]) == MAX_CELL_CHARS


def test_flusher_runs_each_sink_once_per_flush_and_stops_when_closed() -> None:
    flusher = Flusher()
    calls: list[str] = []
    flusher.add(lambda: calls.append("a"))
    flusher.add(lambda: calls.append("b"))
    for _ in range(1000):
        flusher.request()
    wait_until(lambda: calls == ["a", "b"], what="one flush")
    flusher.close()
    flusher.request()
    assert _runtime.run(asyncio.sleep(0, result=flusher.flushes)) == 1


def test_a_failing_sink_does_not_stop_the_others() -> None:
    flusher = Flusher()
    calls: list[int] = []

    def broken() -> None:
        raise RuntimeError("view bug")

    flusher.add(broken)
    flusher.add(lambda: calls.append(1))
    flusher.request()
    wait_until(lambda: calls, what="the second sink")


def test_flusher_rejects_a_rate_that_is_not_positive() -> None:
    with pytest.raises(ValueError):
        Flusher(hz=0)


def test_table_rejects_an_empty_window() -> None:
    with pytest.raises(ValueError):
        EventTable(max_rows=0)
