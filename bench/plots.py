"""Benchmark plots: runs small sweeps and draws docs/img/bench-*.png (matplotlib, bench only).

One command: ``python bench/plots.py`` (about 6 minutes; ``--only parse`` etc.
for one figure, ``--quick`` for a smoke run). Every figure is measured by this script when it
runs, with the code of the other benchmarks imported, so the plots never drift from them:

* ``bench-parse.png``: parser events/s, sse_nb ``EventParser`` vs httpx-sse, on the streams and
  chunkings of ``bench/parse.py`` (its functions, best CPU time of ``--reps``);
* ``bench-fanout.png``: delivered events/s and p99 latency vs number of clients (10, 100,
  1,000) for sse_nb, sse-starlette + uvicorn and a plain Tornado handler, with the server
  processes and raw-socket load generator of ``bench/fanout.py``. Two phases per point: events
  as fast as possible (``max(200, 20,000 / clients)`` events, so every point has at least
  20,000 deliveries) and a fixed 20 events/s for 3 s. One round per point: on a shared machine
  single points are noisy, the trend is the message;
* ``bench-replay.png``: time for a client reconnecting with ``Last-Event-ID`` to receive all of
  N missed events (1,000 to 100,000), connect to last byte, best of 3; ``EventServer`` on sse_nb's
  runtime thread in this process, the raw client of ``bench/fanout.py``;
* ``bench-redis.png``: the in-memory log against the Redis log in one process and in two workers
  (``bench/fanout.py``'s ``sse_nb``, ``redis``, ``redis_w2``, on a ``redis-server`` this script
  starts): publish→receive p50/p99 at 1,000 clients × 10 events/s (fan-out's (b) "10/s" phase,
  median of its rounds) and RSS per idle connection at 1,000 and 10,000 idle clients (10,000:
  the two workers and the in-memory log only, each in a fresh process). Skipped when
  redis-server or the ``redis`` package is absent.

Tables of the same figures are printed (Markdown) for ``docs/benchmarks.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import resource
import sys
import time
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import fanout  # noqa: E402
import parse  # noqa: E402

IMG = BENCH.parent / "docs" / "img"
#: Clients per fan-out point, as the comparison is stated.
CLIENT_COUNTS = (10, 100, 1_000)
#: Every as-fast-as-possible point delivers at least this many events in all.
MIN_DELIVERIES = 20_000
#: The fixed-rate phase: events/s and seconds.
RATE = 20.0
RATE_SECONDS = 3.0
#: Missed events replayed per point of the replay sweep.
MISSED = (1_000, 3_000, 10_000, 30_000, 100_000)
REPLAY_ROUNDS = 3
SERVER_NAMES = {"sse_nb": "sse_nb", "starlette": "sse-starlette", "tornado": "plain Tornado"}
COLORS = {"sse_nb": "#1f77b4", "starlette": "#d62728", "tornado": "#2ca02c", "httpx-sse": "#d62728"}
LOG_NAMES = {"sse_nb": "in-memory log", "redis": "Redis, 1 process", "redis_w2": "Redis, 2 workers"}
LOG_COLORS = {"sse_nb": "#1f77b4", "redis": "#d62728", "redis_w2": "#ff7f0e"}
#: Idle clients of the Redis figure's RSS panel; the largest only for the logs meant to hold it.
IDLE_COUNTS = (1_000, 10_000)
BIG_IDLE_KINDS = ("sse_nb", "redis_w2")
#: Descriptors a process needs beyond its sockets (interpreter, pipes, Redis connections).
NOFILE_MARGIN = 1_024
#: The goals the Redis log is held to: p99 within 2x the in-memory log's, RSS per idle client.
P99_GOAL_RATIO = 2.0
RSS_GOAL_KIB = 16.0


def stamp() -> str:
    return (
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} cores "
        f"(shared), Python {sys.version.split()[0]}"
    )


# -- parser ---------------------------------------------------------------------------------


def parse_figures(quick: bool, reps: int) -> list[dict[str, Any]]:
    scale = 10 if quick else 1
    streams = [
        ("small", 200_000 // scale, parse.small_events(200_000 // scale)),
        ("small CRLF", 200_000 // scale, parse.small_events(200_000 // scale, "\r\n")),
        ("multi-line", 100_000 // scale, parse.multiline_events(100_000 // scale)),
        ("4 KB", 10_000 // scale, parse.large_events(10_000 // scale)),
    ]
    rng = random.Random(parse.SEED)
    rows: list[dict[str, Any]] = []
    for chunk_name, size in (("64 KiB", lambda: parse.BIG_CHUNK), ("1-4 KiB", None)):
        for name, n, stream in streams:
            sizes = size or (lambda: rng.randint(*parse.SMALL_CHUNKS))
            chunks = parse.chunked(stream, sizes)
            ours, _ = parse.best_time(parse.run_sse_nb, chunks, reps)
            theirs, _ = parse.best_time(parse.run_httpx_sse, chunks, reps)
            rows.append(
                {"stream": name, "chunks": chunk_name, "sse_nb": n / ours, "httpx-sse": n / theirs}
            )
    print("\n| stream | chunks | sse_nb ev/s | httpx-sse ev/s | ratio |")
    print("|---|---|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['stream']} | {r['chunks']} | {r['sse_nb']:,.0f} | {r['httpx-sse']:,.0f} | "
            f"{r['sse_nb'] / r['httpx-sse']:.2f}x |"
        )
    return rows


def plot_parse(rows: list[dict[str, Any]]) -> Path:
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    for ax, chunking in zip(axes, ("64 KiB", "1-4 KiB"), strict=True):
        sel = [r for r in rows if r["chunks"] == chunking]
        xs = range(len(sel))
        for offset, who in ((-0.2, "sse_nb"), (0.2, "httpx-sse")):
            ax.bar(
                [x + offset for x in xs],
                [r[who] for r in sel],
                width=0.4,
                label=who,
                color=COLORS[who],
            )
        for x, r in zip(xs, sel, strict=True):
            ax.annotate(
                f"{r['sse_nb'] / r['httpx-sse']:.1f}x",
                (x - 0.2, r["sse_nb"]),
                ha="center",
                va="bottom",
                fontsize=8,
            )
        ax.set_xticks(list(xs), [r["stream"] for r in sel])
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v / 1e6:.2g}M"))
        ax.set_title(f"reads of {chunking}")
        ax.grid(axis="y", alpha=0.3)
    axes[0].set_ylabel("events parsed per second (CPU time)")
    axes[0].legend()
    fig.suptitle(f"Parser: sse_nb EventParser vs httpx-sse  ({stamp()})", fontsize=10)
    fig.tight_layout()
    return save(fig, "bench-parse.png")


# -- fan-out --------------------------------------------------------------------------------


async def fanout_figures(kinds: list[str], counts: tuple[int, ...]) -> list[dict[str, Any]]:
    servers = [fanout.ServerProcess(kind) for kind in kinds]
    rows: list[dict[str, Any]] = []
    try:
        for server in servers:
            await server.start()
        for n in counts:
            events = max(fanout.EVENTS_FAST_FANOUT, MIN_DELIVERIES // n)
            for server in servers:
                print(f"  {server.kind}: {n} clients ...", flush=True)
                fast = await fanout.run_delivery(server, n, events, 0.0)
                paced = await fanout.run_delivery(server, n, int(RATE * RATE_SECONDS), RATE)
                rows.append({"kind": server.kind, "clients": n, "fast": fast, "paced": paced})
    finally:
        for server in servers:
            await server.stop()
    print(
        "\n| server | clients | fast: delivered ev/s | fast: p99 ms | "
        f"{RATE:.0f} ev/s: p50 ms | {RATE:.0f} ev/s: p99 ms |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    for r in rows:
        flag = "" if r["fast"]["complete"] else " (incomplete)"
        print(
            f"| {SERVER_NAMES[r['kind']]} | {r['clients']:,} | {r['fast']['rate']:,.0f}{flag} | "
            f"{r['fast']['p99']:,.1f} | {r['paced']['p50']:,.1f} | {r['paced']['p99']:,.1f} |"
        )
    return rows


def plot_fanout(rows: list[dict[str, Any]]) -> Path:
    fig, axes = plt.subplots(1, 3, figsize=(13, 4))
    panels = [
        ("fast", "rate", "delivered events/s (as fast as possible)"),
        ("fast", "p99", "p99 latency, ms (as fast as possible)"),
        ("paced", "p99", f"p99 latency, ms ({RATE:.0f} events/s)"),
    ]
    for ax, (phase, key, title) in zip(axes, panels, strict=True):
        for kind in SERVER_NAMES:
            sel = sorted((r for r in rows if r["kind"] == kind), key=lambda r: r["clients"])
            if not sel:
                continue
            ax.plot(
                [r["clients"] for r in sel],
                [r[phase][key] for r in sel],
                marker="o",
                label=SERVER_NAMES[kind],
                color=COLORS[kind],
            )
        plain_log_axes(ax, CLIENT_COUNTS)
        ax.set_xlabel("clients")
        ax.set_title(title, fontsize=10)
        ax.grid(alpha=0.3, which="both")
    axes[0].legend()
    fig.suptitle(f"Fan-out vs number of clients  ({stamp()})", fontsize=10)
    fig.tight_layout()
    return save(fig, "bench-fanout.png")


# -- replay ---------------------------------------------------------------------------------


async def replay_figures(missed: tuple[int, ...], rounds: int) -> list[dict[str, Any]]:
    from sse_nb.server import EventServer

    rows = []
    server = EventServer(heartbeat=None, history=max(missed) + 1).start()
    try:
        for n in missed:
            channel = f"replay{n}"
            server.publish("seen", channel=channel)  # id "1": the last event the client saw
            for _ in range(n):
                server.publish(fanout.payload(), channel=channel)
            # The publishes are drained on the server's loop; a first replay waits for them.
            times = []
            for _ in range(rounds + 1):
                totals = fanout.Totals(sample=False)
                t0 = time.perf_counter()
                clients = await fanout.connect(
                    server.port, 1, totals, f"/events/{channel}", "Last-Event-ID: 1\r\n"
                )
                ok = await fanout.wait_for_events(totals, n, 60)
                times.append((time.perf_counter() - t0) * 1000 if ok else float("nan"))
                fanout.close_all(clients)
            best = min(times[1:])  # the first round also waited for the drain
            rows.append({"missed": n, "ms": best})
    finally:
        server.stop()
    print("\n| missed events | replay time (connect → last event), ms | events/ms |")
    print("|---:|---:|---:|")
    for r in rows:
        print(f"| {r['missed']:,} | {r['ms']:.1f} | {r['missed'] / r['ms']:,.0f} |")
    return rows


def plot_replay(rows: list[dict[str, Any]]) -> Path:
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(
        [r["missed"] for r in rows], [r["ms"] for r in rows], marker="o", color=COLORS["sse_nb"]
    )
    for r in rows:
        ax.annotate(f" {r['ms']:.1f} ms", (r["missed"], r["ms"]), fontsize=8, va="top")
    plain_log_axes(ax, tuple(r["missed"] for r in rows))
    ax.set_xlabel("missed events replayed (≈60 bytes each)")
    ax.set_ylabel("connect → last replayed event, ms")
    ax.grid(alpha=0.3, which="both")
    ax.set_title(f"sse_nb replay by Last-Event-ID\n({stamp()})", fontsize=10)
    fig.tight_layout()
    return save(fig, "bench-replay.png")


# -- Redis log ------------------------------------------------------------------------------


async def redis_figures(
    clients: int, idle: tuple[int, ...], rounds: int, seconds: float
) -> dict[str, Any]:
    """One run of the three logs: idle RSS first on fresh servers, then the 10 ev/s rounds."""
    redis_server = fanout.RedisServer()
    redis_server.start()
    os.environ[fanout.REDIS_URL_ENV] = redis_server.url
    os.environ[fanout.PREFIX_ENV] = f"plots{os.getpid()}"
    rows: dict[str, Any] = {kind: {"rss": {}, "rounds": []} for kind in LOG_NAMES}
    try:
        await idle_rss(list(LOG_NAMES), idle[0], rows)
        servers = [fanout.ServerProcess(kind) for kind in LOG_NAMES]
        try:
            for server in servers:
                await server.start()
            for r in range(rounds):  # interleaved, as fanout.py's (b), so noise falls on all
                for server in servers:
                    print(
                        f"  {server.kind}: {clients:,} clients at 10 ev/s, round {r + 1}",
                        flush=True,
                    )
                    res = await fanout.run_delivery(server, clients, int(10 * seconds), 10.0)
                    rows[server.kind]["rounds"].append(res)
        finally:
            for server in servers:
                await server.stop()
        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
        for n in idle[1:]:
            if soft < n + NOFILE_MARGIN:
                print(f"  skipped {n:,} idle: open-file limit {soft:,} < {n + NOFILE_MARGIN:,}")
            else:
                await idle_rss(list(BIG_IDLE_KINDS), n, rows)
    finally:
        redis_server.stop()
    for row in rows.values():
        row["b10"] = fanout.median_round(row["rounds"])
    print_redis_table(rows, idle)
    return rows


async def idle_rss(kinds: list[str], n: int, rows: dict[str, Any]) -> None:
    """RSS per idle connection with ``n`` clients, each log in a fresh server process."""
    for kind in kinds:
        server = fanout.ServerProcess(kind)
        try:
            await server.start()
            print(f"  {kind}: {n:,} idle clients ...", flush=True)
            rss, clients, _ = await fanout.run_idle_rss(server, n)
            rows[kind]["rss"][n] = rss / 1024
            fanout.close_all(clients)
        finally:
            await server.stop()


def print_redis_table(rows: dict[str, Any], idle: tuple[int, ...]) -> None:
    base = rows["sse_nb"]["b10"]["p99"]
    rss_heads = "".join(f" KiB/idle conn, {n:,} idle |" for n in idle)
    print(f"\n| log | 10 ev/s p50 ms | p99 ms | p99 / in-memory |{rss_heads}")
    print("|---|---:|---:|---:|" + "---:|" * len(idle))
    for kind, row in rows.items():
        b10 = row["b10"]
        flag = "" if b10["complete"] else " (incomplete)"
        rss = "".join(f" {row['rss'][n]:.1f} |" if n in row["rss"] else " - |" for n in idle)
        print(
            f"| {LOG_NAMES[kind]} | {b10['p50']:.1f} | {b10['p99']:.1f}{flag} | "
            f"{b10['p99'] / base:.2f}x |{rss}"
        )


def plot_redis(rows: dict[str, Any], clients: int, idle: tuple[int, ...]) -> Path:
    fig, (lat, mem) = plt.subplots(1, 2, figsize=(11, 4))
    width = 0.8 / len(rows)
    for i, (kind, row) in enumerate(rows.items()):
        offset = (i - (len(rows) - 1) / 2) * width
        style = {"width": width, "color": LOG_COLORS[kind], "label": LOG_NAMES[kind]}
        values = [row["b10"]["p50"], row["b10"]["p99"]]
        bars = lat.bar([x + offset for x in (0, 1)], values, **style)
        lat.bar_label(bars, fmt="%.1f", fontsize=8)
        sizes = [n for n in idle if n in row["rss"]]
        xs = [idle.index(n) + offset for n in sizes]
        bars = mem.bar(xs, [row["rss"][n] for n in sizes], **style)
        mem.bar_label(bars, fmt="%.1f", fontsize=8)
    goal = P99_GOAL_RATIO * rows["sse_nb"]["b10"]["p99"]
    lat.hlines(goal, 0.55, 1.45, colors="k", linestyles="--", label="goal: 2× in-memory p99")
    lat.set_xticks([0, 1], ["p50", "p99"])
    lat.set_ylabel("publish → receive, ms")
    lat.set_title(f"latency, {clients:,} clients × 10 events/s", fontsize=10)
    mem.axhline(RSS_GOAL_KIB, color="k", linestyle="--", label=f"goal: {RSS_GOAL_KIB:g} KiB")
    mem.set_xticks(range(len(idle)), [f"{n:,} idle clients" for n in idle])
    mem.set_ylabel("server RSS per idle connection, KiB")
    mem.set_title("memory per idle connection (RSS of all workers)", fontsize=10)
    mem.set_ylim(0, RSS_GOAL_KIB * 1.75)  # room above the goal line for the legend
    for ax in (lat, mem):
        ax.grid(axis="y", alpha=0.3)
    lat.legend(fontsize=8)
    mem.legend(fontsize=8, loc="upper left", ncol=2)
    fig.suptitle(f"Redis log vs in-memory log  ({stamp()})", fontsize=10)
    fig.tight_layout()
    return save(fig, "bench-redis.png")


def plain_log_axes(ax: Any, xticks: tuple[int, ...]) -> None:
    """Log axes labelled with plain numbers (``1,000``, not ``10^3``) at the measured points."""
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xticks(list(xticks), [f"{x:,}" for x in xticks])
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.10g}"))
    ax.yaxis.set_minor_formatter(NullFormatter())


def save(fig: Any, name: str) -> Path:
    IMG.mkdir(parents=True, exist_ok=True)
    path = IMG / name
    fig.savefig(path, dpi=110)
    plt.close(fig)
    print(f"wrote {path.relative_to(BENCH.parent)}")
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", choices=["parse", "fanout", "replay", "redis"], action="append")
    ap.add_argument("--quick", action="store_true", help="smaller sweeps, for a smoke run")
    ap.add_argument("--reps", type=int, default=3, help="parser repetitions (best kept)")
    args = ap.parse_args()
    fanout.raise_nofile()
    which = args.only or ["parse", "fanout", "replay", "redis"]
    print(f"# benchmark plots, {stamp()}")
    if "parse" in which:
        plot_parse(parse_figures(args.quick, 1 if args.quick else args.reps))
    if "fanout" in which:
        counts = (10, 100) if args.quick else CLIENT_COUNTS
        plot_fanout(asyncio.run(fanout_figures(["sse_nb", "starlette", "tornado"], counts)))
    if "replay" in which:
        missed = MISSED[:3] if args.quick else MISSED
        plot_replay(asyncio.run(replay_figures(missed, 1 if args.quick else REPLAY_ROUNDS)))
    if "redis" in which:
        if why := fanout.redis_available():
            print(f"skipped bench-redis.png: {why}")
        else:
            clients = fanout.CLIENTS // (10 if args.quick else 1)
            idle = tuple(n // (10 if args.quick else 1) for n in IDLE_COUNTS)
            rounds, seconds = (1, 2.0) if args.quick else (fanout.ROUNDS, fanout.RATE_SECONDS)
            rows = asyncio.run(redis_figures(clients, idle, rounds, seconds))
            plot_redis(rows, clients, idle)


if __name__ == "__main__":
    main()
