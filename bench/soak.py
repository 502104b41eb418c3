"""Soak: 200 clients stream for minutes through a proxy that injects random faults; 0 lost.

One command: ``python bench/soak.py`` (``--minutes 2`` by default; also
``--clients``, ``--rate``, and ``--no-faults`` for the same run on a clean network).

The server (``EventServer`` with a memory log that holds the whole run) runs in a subprocess
and publishes at a fixed rate from its main thread, as a notebook would; each event's data is
the publish time (``time.monotonic_ns()``, system-wide on Linux) so clients measure
publish-to-delivery latency. 200 sse_nb ``AsyncEventSource`` clients, spread over two client
processes (``--procs``) so the harness is not the bottleneck it measures, connect through the
chaos proxy of ``tests/reliability/chaos.py`` (in this process): every proxied connection
lives a random time, then is cut mid-chunk with FIN or RST, stalls silently (the client's idle
timeout must notice), or gets its next connection refused. Clients resume with ``Last-Event-ID``.

Printed: events published, deliveries expected and delivered, lost (must be 0), duplicated
(delivered twice to the application: must be 0), duplicates the client suppressed (overlap
the server replayed), gap signals, faults injected, reconnects, latency p50/p99 over every
delivery (replays after a fault included, so p99 shows outages), the server's peak RSS, and
the CPU share of each process while publishing (a client process near 100 % means the latency
figures are its own queue).
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
#: Client processes: the clients' share of the work (parsing 10,000 events a second) is more
#: than one Python process takes without queueing, so they are spread over two.
PROCS = 2
#: Seconds between the ticks that measure how late a client process's event loop runs.
LAG_TICK = 0.01


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
            t0, cpu0 = time.monotonic(), time.process_time()
            n = int(args.rate * args.minutes * 60)
            for i in range(n):
                delay = t0 + i / args.rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                last = server.publish(str(time.monotonic_ns()))
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
            cpu = (time.process_time() - cpu0) / (time.monotonic() - t0)
            reply = {"published": n, "last_id": last, "peak_rss": peak, "cpu": cpu}
            print(json.dumps(reply), flush=True)
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


class Pipe:
    """A child process spoken to in JSON lines: a command on stdin, one reply on stdout."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        assert proc.stdin is not None and proc.stdout is not None
        self.proc, self._in, self._out = proc, proc.stdin, proc.stdout

    @classmethod
    async def spawn(cls, *argv: str) -> Pipe:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            __file__,
            *argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            limit=1 << 30,  # a worker's report carries every latency it measured
        )
        return cls(proc)

    async def reply(self) -> dict[str, Any]:
        line = await self._out.readline()
        if not line:
            raise SystemExit("a child process ended")
        result: dict[str, Any] = json.loads(line)
        return result

    async def command(self, cmd: str) -> dict[str, Any]:
        self._in.write(cmd.encode() + b"\n")
        await self._in.drain()
        return await self.reply()

    async def stop(self) -> None:
        if self.proc.returncode is None:
            with contextlib.suppress(ConnectionError):
                self._in.write(b"quit\n")
                await self._in.drain()
            try:
                await asyncio.wait_for(self.proc.wait(), 30)
            except asyncio.TimeoutError:
                self.proc.kill()
                await self.proc.wait()


async def worker(args: argparse.Namespace) -> None:
    """A client process: ``--clients`` sources on ``--url``, told what to do on stdin.

    The clients live in worker processes, not beside the proxy: 200 clients taking 10,000
    events a second keep one Python process busy, and a saturated harness would measure its
    own queue instead of the server's latency.
    """
    loop = asyncio.get_running_loop()
    stdin = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stdin), sys.stdin)
    cpu0, wall0 = time.process_time(), time.monotonic()
    lags: list[float] = []  # how late a 10 ms timer runs: this process's own queue

    def tick(due: float) -> None:
        now = loop.time()
        lags.append(now - due)
        loop.call_at(now + LAG_TICK, tick, now + LAG_TICK)

    def say(obj: dict[str, Any]) -> None:
        sys.stdout.write(json.dumps(obj) + "\n")
        sys.stdout.flush()

    policy = ReconnectPolicy(delay=0.05, backoff=2.0, max_delay=1.0, jitter=0.2)
    clients = [Client() for _ in range(args.clients)]
    opened = 0
    all_open = asyncio.Event()
    target = [0]  # the last id to wait for, once known

    async def listen(c: Client) -> None:
        def on_open(_: Any) -> None:
            nonlocal opened
            opened += 1
            if opened == len(clients):
                all_open.set()
            unsubscribe()

        try:
            async with AsyncEventSource(
                args.url, reconnect=policy, idle_timeout=IDLE_TIMEOUT
            ) as es:
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

    tasks = [asyncio.ensure_future(listen(c)) for c in clients]
    try:
        await asyncio.wait_for(all_open.wait(), 60)
        say({"open": True})
        while line := (await stdin.readline()).decode().strip():
            cmd, _, arg = line.partition(" ")
            if cmd == "started":
                t0 = time.monotonic()
                while any(c.last < 1 for c in clients):
                    if time.monotonic() - t0 > 30:
                        raise SystemExit("not every client received the start event")
                    await asyncio.sleep(0.05)
                say({"started": True})
                cpu0, wall0 = time.process_time(), time.monotonic()  # the publishing window
                loop.call_soon(tick, loop.time())
            elif cmd == "finish":
                cpu, wall = time.process_time() - cpu0, time.monotonic() - wall0
                target[0] = last = int(arg)
                # Clients already at the last id stop at their next event, and none will come:
                # wait on the records. A client still behind after CATCH_UP counts as loss.
                t0 = time.monotonic()
                while any(c.last < last and c.error is None for c in clients):
                    if time.monotonic() - t0 > CATCH_UP:
                        break
                    await asyncio.sleep(0.1)
                lag = sorted(lags)[int(0.99 * len(lags))] if lags else 0.0
                say(account(clients, last, cpu, wall) | {"lag_p99": lag})
            elif cmd == "quit":
                break
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def account(clients: list[Client], last: int, cpu: float, wall: float) -> dict[str, Any]:
    """A worker's clients against the ids 1..``last``: what a report sums."""
    wanted = range(1, last + 1)
    return {
        "clients": len(clients),
        "delivered": sum(sum(c.counts.values()) for c in clients),
        "lost": sum(sum(1 for n in wanted if c.counts[n] == 0) for c in clients),
        "duplicated": sum(sum(k - 1 for k in c.counts.values() if k > 1) for c in clients),
        "suppressed": sum(c.suppressed for c in clients),
        "gaps": sum(c.gaps for c in clients),
        "reconnects": sum(c.reconnects for c in clients),
        "errors": [c.error for c in clients if c.error],
        "latencies": [x for c in clients for x in c.latencies],
        "cpu": cpu / wall if wall else 0.0,
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    rate, minutes = str(args.rate), str(args.minutes)
    server = await Pipe.spawn("--serve", "--rate", rate, "--minutes", minutes)
    workers: list[Pipe] = []
    proxy: ChaosProxy | None = None
    t_start = time.monotonic()
    try:
        port = (await server.reply())["port"]
        proxy = ChaosProxy(port, SEED, lifetime=LIFETIME)
        await proxy.start()
        url = f"http://127.0.0.1:{proxy.port}/events"
        share = [len(r) for r in _split(args.clients, args.procs)]
        workers = [await Pipe.spawn("--worker", "--url", url, "--clients", str(n)) for n in share]
        for w in workers:
            await w.reply()  # every client of it is open
        await server.command("start")
        for w in workers:
            await w.command("started")  # every client has id 1 to resume from
        proxy.faults = not args.no_faults
        print(
            f"{args.clients} clients in {len(workers)} processes; publishing {args.rate}/s "
            f"for {args.minutes} min {'without' if args.no_faults else 'with'} faults ...",
            flush=True,
        )
        cpu0, wall0 = time.process_time(), time.monotonic()
        result = await server.command("go")
        proxy_cpu = (time.process_time() - cpu0) / (time.monotonic() - wall0)
        proxy.faults = False
        last = int(result["last_id"])
        accounts = await asyncio.gather(*(w.command(f"finish {last}") for w in workers))
    finally:
        for w in workers:
            await w.stop()
        if proxy is not None:
            await proxy.stop()
        await server.stop()
    elapsed = time.monotonic() - t_start
    return summarize(accounts, result, dict(proxy.injected), elapsed, proxy_cpu)


def _split(n: int, parts: int) -> list[range]:
    return [range(i, n, parts) for i in range(min(parts, n))]


def summarize(
    accounts: list[dict[str, Any]],
    result: dict[str, Any],
    faults: dict[str, int],
    elapsed: float,
    proxy_cpu: float,
) -> dict[str, Any]:
    last = int(result["last_id"])
    latencies: list[int] = sorted(x for a in accounts for x in a["latencies"])
    clients = sum(a["clients"] for a in accounts)

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] / 1e6

    def total(key: str) -> int:
        return sum(int(a[key]) for a in accounts)

    return {
        "clients": clients,
        "processes": len(accounts),
        "published": result["published"] + 1,
        "expected": last * clients,
        "delivered": total("delivered"),
        "lost": total("lost"),
        "duplicated": total("duplicated"),
        "suppressed": total("suppressed"),
        "gaps": total("gaps"),
        "reconnects": total("reconnects"),
        "faults": faults,
        "errors": [e for a in accounts for e in a["errors"]],
        "p50_ms": pct(0.50) if latencies else float("nan"),
        "p99_ms": pct(0.99) if latencies else float("nan"),
        "peak_rss_mb": result["peak_rss"] / 1e6,
        "server_cpu": result["cpu"],
        "worker_cpu": [a["cpu"] for a in accounts],
        "worker_lag": [a["lag_p99"] for a in accounts],
        "proxy_cpu": proxy_cpu,
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
        ("CPU while publishing: server", f"{r['server_cpu']:.0%}"),
        (
            "CPU while publishing: each client process",
            " / ".join(f"{c:.0%}" for c in r["worker_cpu"]),
        ),
        ("CPU while publishing: proxy (the faults)", f"{r['proxy_cpu']:.0%}"),
        (
            "client processes' loop lag p99 (a 10 ms timer)",
            " / ".join(f"{x * 1e3:.0f} ms" for x in r["worker_lag"]),
        ),
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
    ap.add_argument(
        "--procs", type=int, default=PROCS, help="client processes the clients are spread over"
    )
    ap.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--url", help=argparse.SUPPRESS)
    args = ap.parse_args()
    raise_nofile()
    if args.serve:
        serve(args)
        return
    if args.worker:
        asyncio.run(worker(args))
        return
    report(asyncio.run(run(args)), args)


if __name__ == "__main__":
    main()
