"""Soak: 200 clients stream for minutes through a proxy that injects random faults; 0 lost.

One command: ``python bench/soak.py`` (``--minutes 2`` by default; also
``--clients``, ``--rate``, and ``--no-faults`` for the same run on a clean network).

The server (``EventServer`` with a memory log that holds the whole run) runs in a subprocess
and publishes at a fixed rate from its main thread, as a notebook would; each event's data is
the publish time (``time.monotonic_ns()``, system-wide on Linux) so clients measure
publish-to-delivery latency. 200 sse_nb ``AsyncEventSource`` clients connect through the chaos
proxy of ``tests/reliability/chaos.py``: every proxied connection lives a random time, then is
cut mid-chunk with FIN or RST, stalls silently (the client's idle timeout must notice), or gets
its next connection refused. Clients resume with ``Last-Event-ID``.

Printed: events published, deliveries expected and delivered, lost (must be 0), duplicated
(delivered twice to the application: must be 0), duplicates the client suppressed (overlap
the server replayed), gap signals, faults injected, reconnects, latency p50/p99 over every
delivery (replays after a fault included, so p99 shows outages), and the server's peak RSS.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sse_nb.client import AsyncEventSource  # noqa: E402
from sse_nb.protocol import ReconnectPolicy  # noqa: E402
from tests.reliability.chaos import ChaosProxy  # noqa: E402

#: Clients, as the requirement states it.
CLIENTS = 200
#: Events published per second: 10,000 deliveries/s to 200 clients, sustained.
RATE = 50
#: Server heartbeat (s) and the clients' idle timeout (s): a stalled connection is noticed
#: after a few missed heartbeats.
HEARTBEAT = 0.5
IDLE_TIMEOUT = 2.0
#: Seconds a proxied connection lives before its fault (uniform): several faults per client
#: per minute.
LIFETIME = (1.0, 15.0)
#: Seconds to wait after the last publish for every client to catch up (it may be in a stall
#: or a reconnect wait when the publisher stops).
CATCH_UP = 30.0
SEED = 20_261_124


def serve(args: argparse.Namespace) -> None:
    """The server process: publish on command, report what it published and its peak RSS."""
    from sse_nb.server import EventServer

    events = int(args.rate * args.minutes * 60) + 10
    server = EventServer(heartbeat=HEARTBEAT, history=events).start()
    print(json.dumps({"port": server.port}), flush=True)
    for line in sys.stdin:
        cmd = line.strip()
        if cmd == "start":
            server.publish("start")  # id "1": every client then has an id to resume from
            print(json.dumps({"started": True}), flush=True)
        elif cmd == "go":
            # Fixed rate against the clock: a late tick is caught up, never skipped.
            t0 = time.monotonic()
            n = int(args.rate * args.minutes * 60)
            for i in range(n):
                delay = t0 + i / args.rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                last = server.publish(str(time.monotonic_ns()))
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
            print(json.dumps({"published": n, "last_id": last, "peak_rss": peak}), flush=True)
        elif cmd == "quit":
            break
    server.stop()


class Client:
    """One soaking client's record."""

    def __init__(self) -> None:
        self.counts: collections.Counter[int] = collections.Counter()
        self.latencies: list[int] = []
        self.last = 0
        self.gaps = 0
        self.reconnects = 0
        self.suppressed = 0
        self.error: str | None = None


async def run(args: argparse.Namespace) -> dict[str, Any]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        "--serve",
        "--rate",
        str(args.rate),
        "--minutes",
        str(args.minutes),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert proc.stdin is not None and proc.stdout is not None

    async def reply() -> dict[str, Any]:
        assert proc.stdout is not None
        line = await proc.stdout.readline()
        if not line:
            raise SystemExit("the server process ended")
        result: dict[str, Any] = json.loads(line)
        return result

    async def command(cmd: str) -> dict[str, Any]:
        assert proc.stdin is not None
        proc.stdin.write(cmd.encode() + b"\n")
        await proc.stdin.drain()
        return await reply()

    port = (await reply())["port"]
    proxy = ChaosProxy(port, SEED, lifetime=LIFETIME)
    await proxy.start()
    url = f"http://127.0.0.1:{proxy.port}/events"
    policy = ReconnectPolicy(delay=0.05, backoff=2.0, max_delay=1.0, jitter=0.2)
    clients = [Client() for _ in range(args.clients)]
    opened = 0
    all_open = asyncio.Event()
    target = [0]  # the last id to wait for, once known
    done = asyncio.Event()
    finished = 0

    async def listen(c: Client) -> None:
        nonlocal opened, finished

        def on_open(_: Any) -> None:
            nonlocal opened
            opened += 1
            if opened == len(clients):
                all_open.set()
            unsubscribe()

        try:
            async with AsyncEventSource(url, reconnect=policy, idle_timeout=IDLE_TIMEOUT) as es:
                unsubscribe = es.on("open", on_open)
                async for event in es:
                    if event.id is None:
                        if event.type == "sse_nb.gap":
                            c.gaps += 1
                        continue
                    n = int(event.id)
                    c.counts[n] += 1
                    c.last = max(c.last, n)
                    if n > 1:
                        c.latencies.append(time.monotonic_ns() - int(event.data))
                    if target[0] and c.last >= target[0]:
                        break
                c.reconnects, c.suppressed = es.reconnects, es.duplicates
        except Exception as exc:  # recorded and reported: a client must never fail
            c.error = repr(exc)
        finished += 1
        if finished == len(clients):
            done.set()

    tasks = [asyncio.ensure_future(listen(c)) for c in clients]
    t_start = time.monotonic()
    try:
        await asyncio.wait_for(all_open.wait(), 60)
        await command("start")
        t0 = time.monotonic()
        while any(c.last < 1 for c in clients):
            if time.monotonic() - t0 > 30:
                raise SystemExit("not every client received the start event")
            await asyncio.sleep(0.05)
        proxy.faults = not args.no_faults
        print(
            f"{len(clients)} clients in; publishing {args.rate}/s for {args.minutes} min "
            f"{'without' if args.no_faults else 'with'} faults ...",
            flush=True,
        )
        result = await command("go")
        proxy.faults = False
        target[0] = int(result["last_id"])
        # Clients already at the last id stop at their next event, and none will come: wait
        # on the records, then cancel. A client still behind after CATCH_UP counts as loss.
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(_wait_caught_up(clients, target[0], done), CATCH_UP)
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await proxy.stop()
        if proc.returncode is None:
            proc.stdin.write(b"quit\n")
            await proc.stdin.drain()
            await asyncio.wait_for(proc.wait(), 30)
    elapsed = time.monotonic() - t_start
    return summarize(clients, result, dict(proxy.injected), elapsed)


async def _wait_caught_up(clients: list[Client], last: int, done: asyncio.Event) -> None:
    while not done.is_set() and any(c.last < last for c in clients):
        await asyncio.sleep(0.1)


def summarize(
    clients: list[Client], result: dict[str, Any], faults: dict[str, int], elapsed: float
) -> dict[str, Any]:
    last = int(result["last_id"])
    wanted = range(1, last + 1)
    lost = sum(sum(1 for n in wanted if c.counts[n] == 0) for c in clients)
    duplicated = sum(sum(k - 1 for k in c.counts.values() if k > 1) for c in clients)
    latencies = sorted(x for c in clients for x in c.latencies)

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] / 1e6

    return {
        "clients": len(clients),
        "published": result["published"] + 1,
        "expected": last * len(clients),
        "delivered": sum(sum(c.counts.values()) for c in clients),
        "lost": lost,
        "duplicated": duplicated,
        "suppressed": sum(c.suppressed for c in clients),
        "gaps": sum(c.gaps for c in clients),
        "reconnects": sum(c.reconnects for c in clients),
        "faults": faults,
        "errors": [c.error for c in clients if c.error],
        "p50_ms": pct(0.50) if latencies else float("nan"),
        "p99_ms": pct(0.99) if latencies else float("nan"),
        "peak_rss_mb": result["peak_rss"] / 1e6,
        "seconds": elapsed,
    }


def report(r: dict[str, Any], args: argparse.Namespace) -> None:
    print()
    print(
        f"soak  {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}  cpus={os.cpu_count()}  "
        f"python={sys.version.split()[0]}  {r['clients']} clients, {args.rate} events/s, "
        f"{args.minutes} min, {r['seconds']:.0f} s in all"
    )
    faults = ", ".join(f"{k} {v}" for k, v in sorted(r["faults"].items()))
    rows = [
        ("events published", f"{r['published']:,}"),
        ("deliveries expected", f"{r['expected']:,}"),
        ("deliveries", f"{r['delivered']:,}"),
        ("lost", f"{r['lost']:,}"),
        ("duplicated", f"{r['duplicated']:,}"),
        ("duplicates suppressed by the client", f"{r['suppressed']:,}"),
        ("gap signals", f"{r['gaps']:,}"),
        ("faults injected", f"{sum(r['faults'].values()):,} ({faults})"),
        ("reconnects", f"{r['reconnects']:,}"),
        ("latency p50", f"{r['p50_ms']:.1f} ms"),
        ("latency p99", f"{r['p99_ms']:.1f} ms"),
        ("server peak RSS", f"{r['peak_rss_mb']:.1f} MB"),
        ("client errors", str(len(r["errors"]))),
    ]
    print("| measure | value |")
    print("|---|---:|")
    for name, value in rows:
        print(f"| {name} | {value} |")
    for err in r["errors"][:5]:
        print("  client error:", err)
    ok = r["lost"] == 0 and r["duplicated"] == 0 and not r["errors"]
    print("\nresult:", "0 lost, 0 duplicated" if ok else "FAILED")
    if not ok:
        raise SystemExit(1)


def raise_nofile() -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=2.0)
    ap.add_argument("--clients", type=int, default=CLIENTS)
    ap.add_argument("--rate", type=float, default=RATE, help="events published per second")
    ap.add_argument(
        "--no-faults", action="store_true", help="a clean network: the latency baseline"
    )
    ap.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    raise_nofile()
    if args.serve:
        serve(args)
        return
    report(asyncio.run(run(args)), args)


if __name__ == "__main__":
    main()
