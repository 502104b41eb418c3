"""Widget batching and page rendering: flushes, messages and main-thread latency under load.

One command: ``python bench/widgets.py`` (``--no-browser`` skips part 2).

1. Python side, no browser: events are fed on sse_nb's runtime thread (where a client's
   callbacks run) into an event table, at several rates for a few seconds each. The table
   shows flushes/s (at most ``FLUSH_HZ`` · t + 1 in t seconds), messages/s, rows per message
   (at most the page's bound: older rows in a burst are counted, not sent), the time spent in
   flushes, and how late the main thread (a notebook's kernel thread, sleeping in 10 ms steps)
   woke up meanwhile.
   A second row per rate feeds a real ``EventSource`` from a real ``EventServer`` instead, with
   a status light and the table on one flusher, as in ``ClientPanel``.
2. Browser: JupyterLab in headless Chromium; an ``EventTable`` holding 100,000 rows is scrolled
   end to end by script for a few seconds; frame intervals (requestAnimationFrame) and the
   number of rows in the DOM are reported.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sse_nb import _runtime
from sse_nb.protocol import Event
from sse_nb.widgets import EventTable, Flusher, StatusLight

RATES = (1_000, 10_000, 50_000)
SECONDS = 3.0
#: The main thread's sleep step while it "runs a cell": lateness beyond it is the cost we see.
STEP = 0.010


def timed_flusher() -> tuple[Flusher, list[float]]:
    """A flusher whose sinks' total time per flush is recorded (wraps, does not replace, _run)."""
    flusher = Flusher()
    spent: list[float] = []
    original = flusher._run

    def run() -> None:
        t = time.perf_counter()
        original()
        spent.append(time.perf_counter() - t)

    flusher._run = run  # type: ignore[method-assign]
    return flusher, spent


def main_thread_lateness(stop: threading.Event) -> list[float]:
    late: list[float] = []
    while not stop.is_set():
        t = time.perf_counter()
        time.sleep(STEP)
        late.append(time.perf_counter() - t - STEP)
    return late


async def feed(table: EventTable, rate: int, seconds: float) -> int:
    start = time.monotonic()
    total = int(rate * seconds)
    sent = 0
    while sent < total:
        due = min(total, int((time.monotonic() - start) * rate) + 1)
        while sent < due:
            sent += 1
            table.append(Event(data=f"payload {sent}", id=str(sent)))
        await asyncio.sleep(0.002)
    return sent


def bench_direct(rate: int, seconds: float) -> dict[str, Any]:
    flusher, spent = timed_flusher()
    table = EventTable(flusher=flusher)
    stop = threading.Event()
    fut = _runtime.spawn(feed(table, rate, seconds))
    fut.add_done_callback(lambda _f: stop.set())
    started = time.monotonic()
    late = main_thread_lateness(stop)
    elapsed = time.monotonic() - started
    n = fut.result()
    deadline = time.monotonic() + 5
    while table.total < n and time.monotonic() < deadline:
        time.sleep(0.01)
    table.close()
    flusher.close()
    return row("fed on runtime thread", rate, n, elapsed, flusher, spent, table, late)


def bench_real(rate: int, seconds: float) -> dict[str, Any]:
    from sse_nb import EventServer, EventSource, ReadyState

    with EventServer(heartbeat=None).start() as server:
        es = EventSource(server.url)
        flusher, spent = timed_flusher()
        table = EventTable(es, flusher=flusher)
        light = StatusLight(es, flusher=flusher)
        deadline = time.monotonic() + 10
        while es.ready_state != ReadyState.OPEN and time.monotonic() < deadline:
            time.sleep(0.01)
        total = int(rate * seconds)
        stop = threading.Event()

        def produce() -> None:
            start = time.monotonic()
            sent = 0
            while sent < total:
                due = min(total, int((time.monotonic() - start) * rate) + 1)
                while sent < due:
                    sent += 1
                    server.publish(f"payload {sent}")
                time.sleep(0.002)

        def finish() -> None:
            produce()
            end = time.monotonic() + 30
            while es.events_received < total and time.monotonic() < end:
                time.sleep(0.01)
            stop.set()

        started = time.monotonic()
        threading.Thread(target=finish, daemon=True).start()
        late = main_thread_lateness(stop)
        elapsed = time.monotonic() - started
        es.close()
        table.close()
        light.close()
        flusher.close()
        return row(
            "real server → EventSource",
            rate,
            es.events_received,
            elapsed,
            flusher,
            spent,
            table,
            late,
        )


def row(
    path: str,
    rate: int,
    n: int,
    elapsed: float,
    flusher: Flusher,
    spent: list[float],
    table: EventTable,
    late: list[float],
) -> dict[str, Any]:
    late_sorted = sorted(late) or [0.0]
    return {
        "path": path,
        "rate": rate,
        "events": n,
        "seconds": elapsed,
        "flushes/s": flusher.flushes / elapsed,
        "msgs/s": table.messages_sent / elapsed,
        "rows/msg": table.rows_sent / max(1, table.messages_sent),
        "flush ms (mean)": 1000 * statistics.fmean(spent) if spent else 0.0,
        "main late p99 ms": 1000 * late_sorted[int(0.99 * (len(late_sorted) - 1))],
        "main late max ms": 1000 * late_sorted[-1],
    }


def print_table(rows: list[dict[str, Any]]) -> None:
    cols = list(rows[0])
    widths = [max(len(c), *(len(fmt(r[c])) for r in rows)) for c in cols]
    print(" | ".join(c.ljust(w) for c, w in zip(cols, widths, strict=True)))
    print("-+-".join("-" * w for w in widths))
    for r in rows:
        print(" | ".join(fmt(r[c]).ljust(w) for c, w in zip(cols, widths, strict=True)))


def fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:,.1f}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


SCROLL_JS = """async ([selector, seconds]) => {
    const v = document.querySelector(selector + " .sse-nb-viewport");
    const frames = [];
    let last = performance.now();
    const end = last + seconds * 1000;
    let maxRows = 0;
    await new Promise((resolve) => {
        function step(now) {
            frames.push(now - last);
            last = now;
            // Sweep the whole table back and forth.
            const f = ((now % 2000) / 2000);
            v.scrollTop = f * (v.scrollHeight - v.clientHeight);
            maxRows = Math.max(maxRows, v.querySelectorAll(".sse-nb-row").length);
            if (now < end) requestAnimationFrame(step); else resolve();
        }
        requestAnimationFrame(step);
    });
    frames.sort((a, b) => a - b);
    const p = (q) => frames[Math.floor(q * (frames.length - 1))];
    return {frames: frames.length, p50: p(0.5), p95: p(0.95), max: frames[frames.length - 1],
            rowsInDom: maxRows};
}"""


def bench_browser(seconds: float) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    from tests.conftest import CHROMIUM, CHROMIUM_ARGS
    from tests.lab import start_lab, stop_lab

    with tempfile.TemporaryDirectory() as tmp:
        lab = start_lab(Path(tmp))
        try:
            with sync_playwright() as pw:
                b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                page = b.new_page(viewport={"width": 1280, "height": 900})
                lab.run_notebook(
                    page,
                    "bench.ipynb",
                    [
                        "from sse_nb.widgets import EventTable\nfrom sse_nb.protocol import Event\n"
                        "big = EventTable(max_rows=100_000, height=400)\nbig.add_class('big')\nbig",
                        "for i in range(100_000):\n"
                        "    big.append(Event(data=f'row {i} ' * 8, id=str(i)))",
                    ],
                )
                page.wait_for_selector(".big .sse-nb-table[data-rows='100000']", timeout=120_000)
                result = page.evaluate(SCROLL_JS, [".big", seconds])
                b.close()
        finally:
            stop_lab(lab)
    return {
        "rows held": 100_000,
        "frames": result["frames"],
        "frame p50 ms": result["p50"],
        "frame p95 ms": result["p95"],
        "frame max ms": result["max"],
        "rows in DOM (max)": result["rowsInDom"],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=SECONDS)
    ap.add_argument("--no-browser", action="store_true")
    args = ap.parse_args()
    rows = []
    for rate in RATES:
        rows.append(bench_direct(rate, args.seconds))
        rows.append(bench_real(rate, args.seconds))
    print("\nPython side: flushes and messages to the page; lateness of the main thread")
    print_table(rows)
    if not args.no_browser:
        print("\nBrowser: scrolling an EventTable of 100,000 rows (JupyterLab, headless Chromium)")
        print_table([bench_browser(args.seconds)])


if __name__ == "__main__":
    main()
