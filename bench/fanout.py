"""Server fan-out: sse_nb's EventServer against sse-starlette + uvicorn and a plain Tornado handler.

One command: ``python bench/fanout.py`` (``--quick`` for a shorter run).

Each server runs in its own subprocess and publishes from inside itself when told to (a line on
its stdin: ``publish N RATE CHANNEL``); the data of every event is the publish time in ns, so the
load generator (this process: raw asyncio sockets, no HTTP library) measures publish→receive
latency. The load generator counts events by counting ``b"\\n\\n"`` and samples latency from the
first complete event of every chunk it reads (the oldest event in that chunk: an upper bound).

Scenarios:

(a) one client, N events published as fast as possible: delivered events/s;
(b) 1,000 clients: server RSS per idle connection; then 10 events/s for a few seconds, and then
    events as fast as possible: delivered events/s (summed over clients), latency p50/p99;
(r) sse_nb only: a client reconnecting with ``Last-Event-ID`` is replayed 10,000 missed events;
    time from connect to the last replayed event.

Servers compared:

- ``sse_nb``: ``EventServer`` on sse_nb's runtime thread; ``publish()`` called from the main
  thread (as a notebook would).
- ``starlette``: ``sse_starlette.EventSourceResponse`` on uvicorn; one ``asyncio.Queue`` per
  client, filled by a publisher coroutine that yields to the loop every ``YIELD_EVERY`` events.
- ``tornado``: a plain Tornado ``RequestHandler`` that ``write()``s and ``await flush()``es each
  event from its own queue (the usual way to stream with Tornado), same publisher.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import resource
import socket
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any

#: Events in scenario (a): long enough (seconds) for the slowest server to reach steady state.
EVENTS_ONE_CLIENT = 100_000
#: Clients in scenario (b), as the targets are stated.
CLIENTS = 1_000
#: Seconds of the 10 events/s phase of (b).
RATE_SECONDS = 4.0
#: Events in the as-fast-as-possible phase of (b) (times CLIENTS deliveries).
EVENTS_FAST_FANOUT = 200
#: Rounds of each (b) phase per server, interleaved between servers; the median round is shown.
ROUNDS = 3
#: Missed events replayed in (r), as the target is stated.
REPLAY_EVENTS = 10_000
#: Replay repetitions (best and median reported; the machine is shared).
REPLAY_ROUNDS = 5
#: Baseline publishers yield to their loop every this many events, so writes can interleave.
YIELD_EVERY = 10
#: Padding that makes each event about 60 bytes, like a small JSON tick.
PADDING = "x" * 32
#: Longest any phase may take before it is reported as incomplete (keeps a run bounded).
PHASE_TIMEOUT = 90.0
#: File descriptors needed: 1,000 client sockets here (the servers raise their own limit).
NOFILE = 8_192


def raise_nofile() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(NOFILE, hard) if hard != resource.RLIM_INFINITY else NOFILE
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


def payload() -> str:
    return f"{time.time_ns()} {PADDING}"


# --------------------------------------------------------------------------------------------
# Servers (each runs in its own subprocess)
# --------------------------------------------------------------------------------------------


def paced(n: int, rate: float) -> Any:
    """Yield 0..n-1, sleeping so that event i leaves at t0 + i/rate (rate 0: no pacing)."""
    t0 = time.monotonic()
    for i in range(n):
        if rate > 0:
            delay = t0 + i / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        yield i


def command_loop(publish: Any) -> None:
    """Read ``publish N RATE CHANNEL`` lines from stdin; answer ``done`` when published."""
    for line in sys.stdin:
        parts = line.split()
        if not parts:
            continue
        if parts[0] == "publish":
            publish(int(parts[1]), float(parts[2]), parts[3])
            print("done", flush=True)
        elif parts[0] == "quit":
            return


def serve_sse_nb() -> None:
    from sse_nb.server import EventServer

    # A bigger slow-consumer limit than the default: the load generator shares two cores with
    # the server and may lag for a moment; the bench measures speed, not the drop policy.
    server = EventServer(heartbeat=15.0, history=50_000, queue_limit=64 * 1024 * 1024).start()
    print(f"port {server.port}", flush=True)

    def publish(n: int, rate: float, channel: str) -> None:
        for _ in paced(n, rate):
            server.publish(payload(), channel=channel)

    command_loop(publish)
    dropped = [c for c in server.clients if c.close_reason == "slow consumer"]
    if dropped:
        print(f"slow consumers dropped: {len(dropped)}", file=sys.stderr)
    server.stop()


def _loop_publisher(loop: asyncio.AbstractEventLoop, queues: set[Any], encode: Any) -> Any:
    counter = [0]

    async def publish_async(n: int, rate: float) -> None:
        t0 = time.monotonic()
        for i in range(n):
            if rate > 0:
                delay = t0 + i / rate - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
            elif i % YIELD_EVERY == 0:
                await asyncio.sleep(0)
            counter[0] += 1
            item = encode(counter[0], payload())
            for q in list(queues):
                q.put_nowait(item)

    def publish(n: int, rate: float, channel: str) -> None:
        asyncio.run_coroutine_threadsafe(publish_async(n, rate), loop).result()

    return publish


def serve_starlette() -> None:
    import uvicorn
    from sse_starlette import EventSourceResponse
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.routing import Route

    queues: set[asyncio.Queue[dict[str, str]]] = set()

    async def events(request: Request) -> EventSourceResponse:
        q: asyncio.Queue[dict[str, str]] = asyncio.Queue()
        queues.add(q)

        async def gen() -> Any:
            try:
                while True:
                    yield await q.get()
            finally:
                queues.discard(q)

        return EventSourceResponse(gen(), ping=600, sep="\n")

    app = Starlette(routes=[Route("/events", events)])
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(app, log_level="warning", lifespan="off", backlog=4096)
    server = uvicorn.Server(config)
    loop = asyncio.new_event_loop()
    threading.Thread(
        target=loop.run_until_complete, args=(server.serve([sock]),), daemon=True
    ).start()
    while not server.started:
        time.sleep(0.05)
    print(f"port {sock.getsockname()[1]}", flush=True)
    command_loop(_loop_publisher(loop, queues, lambda i, d: {"id": str(i), "data": d}))


def serve_tornado() -> None:
    import tornado.httpserver
    import tornado.iostream
    import tornado.netutil
    import tornado.web

    from sse_nb.protocol import encode_event

    queues: set[asyncio.Queue[bytes]] = set()

    class Plain(tornado.web.RequestHandler):
        async def get(self) -> None:
            self.set_header("Content-Type", "text/event-stream")
            self.set_header("Cache-Control", "no-cache")
            await self.flush()
            q: asyncio.Queue[bytes] = asyncio.Queue()
            queues.add(q)
            try:
                while True:
                    self.write(await q.get())
                    await self.flush()
            except tornado.iostream.StreamClosedError:
                pass
            finally:
                queues.discard(q)

    loop = asyncio.new_event_loop()
    ready = threading.Event()
    port: list[int] = []

    def run() -> None:
        asyncio.set_event_loop(loop)

        async def start() -> None:
            sockets = tornado.netutil.bind_sockets(0, "127.0.0.1", backlog=4096)
            tornado.httpserver.HTTPServer(
                tornado.web.Application([("/events", Plain)])
            ).add_sockets(sockets)
            port.append(sockets[0].getsockname()[1])
            ready.set()

        loop.run_until_complete(start())
        loop.run_forever()

    threading.Thread(target=run, daemon=True).start()
    ready.wait(30)
    print(f"port {port[0]}", flush=True)
    command_loop(_loop_publisher(loop, queues, lambda i, d: encode_event(d, id=str(i))))


SERVERS = {"sse_nb": serve_sse_nb, "starlette": serve_starlette, "tornado": serve_tornado}


# --------------------------------------------------------------------------------------------
# Load generator (this process)
# --------------------------------------------------------------------------------------------


@dataclass
class Totals:
    """Counters shared by all clients of one phase."""

    events: int = 0
    last_receive: float = 0.0
    latencies: list[float] = field(default_factory=list)
    sample: bool = True


class Client(asyncio.Protocol):
    """One raw HTTP/1.1 SSE client: counts events, samples latency, nothing else."""

    def __init__(self, path: str, totals: Totals, headers: str = "") -> None:
        self.path, self.totals, self.headers = path, totals, headers
        self.head_done = asyncio.get_running_loop().create_future()
        self.closed = asyncio.get_running_loop().create_future()
        self.buf = b""
        self.in_body = False
        self.last_byte = b""
        self.events = 0
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        req = f"GET {self.path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n"
        transport.write((req + self.headers + "\r\n").encode())

    def data_received(self, data: bytes) -> None:
        now = time.time_ns()
        if not self.in_body:
            self.buf += data
            head, sep, rest = self.buf.partition(b"\r\n\r\n")
            if not sep:
                return
            self.in_body = True
            self.buf = b""
            if not self.head_done.done():
                self.head_done.set_result(head)
            data = rest
            if not data:
                return
        n = data.count(b"\n\n")
        if self.last_byte == b"\n" and data[:1] == b"\n":
            n += 1
        self.last_byte = data[-1:]
        if n:
            self.events += n
            t = self.totals
            t.events += n
            t.last_receive = time.monotonic()
            if t.sample:
                i = data.find(b"data: ")
                if i >= 0 and len(data) >= i + 25:
                    with contextlib.suppress(ValueError):
                        t.latencies.append((now - int(data[i + 6 : i + 25])) / 1e6)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.head_done.done():
            self.head_done.set_exception(ConnectionError("closed before headers"))
        if not self.closed.done():
            self.closed.set_result(None)


class ServerProcess:
    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.proc: asyncio.subprocess.Process | None = None
        self.port = 0

    async def start(self) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable,
            __file__,
            "--serve",
            self.kind,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        assert self.proc.stdout is not None
        line = await asyncio.wait_for(self.proc.stdout.readline(), 60)
        self.port = int(line.split()[1])

    async def publish(self, n: int, rate: float = 0.0, channel: str = "default") -> None:
        assert self.proc is not None and self.proc.stdin and self.proc.stdout
        self.proc.stdin.write(f"publish {n} {rate} {channel}\n".encode())
        await self.proc.stdin.drain()
        line = await asyncio.wait_for(self.proc.stdout.readline(), PHASE_TIMEOUT)
        assert line.strip() == b"done", line

    def rss_kib(self) -> int:
        assert self.proc is not None
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    async def stop(self) -> None:
        if self.proc is None:
            return
        with contextlib.suppress(Exception):
            assert self.proc.stdin is not None
            self.proc.stdin.write(b"quit\n")
            await self.proc.stdin.drain()
        try:
            await asyncio.wait_for(self.proc.wait(), 10)
        except asyncio.TimeoutError:
            self.proc.kill()
            await self.proc.wait()


async def connect(
    port: int, n: int, totals: Totals, path: str = "/events", headers: str = ""
) -> list[Client]:
    loop = asyncio.get_running_loop()
    clients: list[Client] = []
    for start in range(0, n, 100):  # in waves, so the listen backlog never overflows
        wave = [Client(path, totals, headers) for _ in range(min(100, n - start))]
        await asyncio.gather(
            *(loop.create_connection(lambda c=c: c, "127.0.0.1", port) for c in wave)
        )
        await asyncio.wait_for(asyncio.gather(*(c.head_done for c in wave)), 60)
        clients += wave
    return clients


async def wait_for_events(totals: Totals, want: int, timeout: float = PHASE_TIMEOUT) -> bool:
    deadline = time.monotonic() + timeout
    while totals.events < want:
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.005)
    return True


def close_all(clients: list[Client]) -> None:
    for c in clients:
        if c.transport is not None:
            c.transport.close()


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


async def run_delivery(
    server: ServerProcess, clients_n: int, events: int, rate: float
) -> dict[str, Any]:
    totals = Totals()
    clients = await connect(server.port, clients_n, totals)
    await asyncio.sleep(0.5)  # let every server finish registering its subscribers
    t0 = time.monotonic()
    publishing = asyncio.ensure_future(server.publish(events, rate))
    complete = await wait_for_events(totals, events * clients_n)
    await publishing
    elapsed = (totals.last_receive or time.monotonic()) - t0
    close_all(clients)
    await asyncio.sleep(0.3)
    return {
        "delivered": totals.events,
        "expected": events * clients_n,
        "complete": complete,
        "rate": totals.events / elapsed if elapsed > 0 else float("nan"),
        "p50": pct(totals.latencies, 0.50),
        "p99": pct(totals.latencies, 0.99),
    }


async def run_idle_rss(server: ServerProcess, clients_n: int) -> tuple[float, list[Client], Totals]:
    await asyncio.sleep(0.5)
    before = server.rss_kib()
    totals = Totals()
    clients = await connect(server.port, clients_n, totals)
    await asyncio.sleep(1.0)
    after = server.rss_kib()
    return (after - before) * 1024 / clients_n, clients, totals


async def run_replay(server: ServerProcess, rounds: int) -> list[float]:
    times = []
    for r in range(rounds):
        channel = f"replay{r}"
        await server.publish(1, 0.0, channel)  # id "1": the last event the client saw
        await server.publish(REPLAY_EVENTS, 0.0, channel)
        totals = Totals(sample=False)
        t0 = time.perf_counter()
        clients = await connect(
            server.port, 1, totals, f"/events/{channel}", "Last-Event-ID: 1\r\n"
        )
        ok = await wait_for_events(totals, REPLAY_EVENTS, 30)
        dt = time.perf_counter() - t0
        close_all(clients)
        times.append(dt * 1000 if ok and totals.events == REPLAY_EVENTS else float("nan"))
    return times


async def bench_all(args: argparse.Namespace) -> list[dict[str, Any]]:
    """Every phase for every server; rounds of a phase alternate between servers, so the noise
    of a shared machine falls on all of them alike."""
    servers = [ServerProcess(kind) for kind in args.servers]
    out: dict[str, dict[str, Any]] = {kind: {"kind": kind} for kind in args.servers}
    try:
        for server in servers:
            await server.start()
        for server in servers:
            print(f"  {server.kind}: (a) one client, {args.events_one:,} events ...", flush=True)
            out[server.kind]["a"] = await run_delivery(server, 1, args.events_one, 0.0)
        for server in servers:
            print(f"  {server.kind}: (b) {args.clients:,} idle clients: RSS ...", flush=True)
            rss, idle, _ = await run_idle_rss(server, args.clients)
            out[server.kind]["rss_per_conn"] = rss
            close_all(idle)
            await asyncio.sleep(0.5)
        rate_events = int(10 * args.rate_seconds)
        for r in range(args.rounds):
            for server in servers:
                print(
                    f"  {server.kind}: (b) {args.clients:,} clients at 10 ev/s, "
                    f"round {r + 1}/{args.rounds} ...",
                    flush=True,
                )
                res = await run_delivery(server, args.clients, rate_events, 10.0)
                out[server.kind].setdefault("b10_rounds", []).append(res)
        for r in range(args.rounds):
            for server in servers:
                print(
                    f"  {server.kind}: (b) {args.clients:,} clients as fast as possible, "
                    f"round {r + 1}/{args.rounds} ...",
                    flush=True,
                )
                res = await run_delivery(server, args.clients, args.events_fast, 0.0)
                out[server.kind].setdefault("bfast_rounds", []).append(res)
        for server in servers:
            if server.kind == "sse_nb":
                print(f"  sse_nb: (r) replay of {REPLAY_EVENTS:,} missed events ...", flush=True)
                out["sse_nb"]["replay"] = await run_replay(server, args.replay_rounds)
    finally:
        for server in servers:
            await server.stop()
    for res in out.values():
        res["b10"] = median_round(res["b10_rounds"])
        res["bfast"] = median_round(res["bfast_rounds"])
    return list(out.values())


def median_round(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """The round with the median p99 (the machine is shared; one round can be unlucky)."""
    ordered = sorted(rounds, key=lambda r: r["p99"])
    return ordered[len(ordered) // 2]


def fmt_rate(r: dict[str, Any]) -> str:
    flag = "" if r["complete"] else f" (incomplete: {r['delivered']:,}/{r['expected']:,})"
    return f"{r['rate']:>10,.0f}{flag}"


def report(results: list[dict[str, Any]], args: argparse.Namespace) -> None:
    by = {r["kind"]: r for r in results}
    print()
    print(
        f"fan-out benchmark  {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}  "
        f"cpus={os.cpu_count()}  python={sys.version.split()[0]}"
    )
    head = (
        f"{'server':<10} {'(a) ev/s':>12} {'(b) RSS/idle conn':>18} "
        f"{'(b) 10/s ev/s':>14} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'(b) fast ev/s':>14} {'p50 ms':>8} {'p99 ms':>8}"
    )
    print(head)
    print("-" * len(head))
    for r in results:
        print(
            f"{r['kind']:<10} {fmt_rate(r['a']):>12} {r['rss_per_conn'] / 1024:>14.1f} KiB "
            f"{fmt_rate(r['b10']):>14} {r['b10']['p50']:>8.1f} {r['b10']['p99']:>8.1f} "
            f"{fmt_rate(r['bfast']):>14} {r['bfast']['p50']:>8.1f} {r['bfast']['p99']:>8.1f}"
        )
    if "sse_nb" in by and "replay" in by["sse_nb"]:
        times = by["sse_nb"]["replay"]
        good = [t for t in times if t == t]
        print(
            f"\nreplay of {REPLAY_EVENTS:,} missed events (connect → last event), sse_nb: "
            f"best {min(good):.1f} ms, median {statistics.median(good):.1f} ms "
            f"over {len(times)} rounds"
            if good
            else "\nreplay: failed"
        )
    if "sse_nb" in by and "starlette" in by:
        s, b = by["sse_nb"], by["starlette"]
        print("\ntargets (sse_nb vs sse-starlette):")
        checks = [
            ("(a) events/s >= 5x", s["a"]["rate"] / b["a"]["rate"], 5.0, True),
            ("(b) fast delivered ev/s >= 3x", s["bfast"]["rate"] / b["bfast"]["rate"], 3.0, True),
            ("(b) fast p99 <= 1/3", s["bfast"]["p99"] / b["bfast"]["p99"], 1 / 3, False),
            ("(b) 10/s p99 <= 1/3", s["b10"]["p99"] / b["b10"]["p99"], 1 / 3, False),
        ]
        for name, ratio, bar, higher in checks:
            ok = ratio >= bar if higher else ratio <= bar
            print(f"  {name:<32} {ratio:>8.2f}x   {'met' if ok else 'NOT met'}")
        rss = s["rss_per_conn"] / 1024
        print(
            f"  {'RSS per idle connection <= 16 KiB':<32} {rss:>8.1f} KiB "
            f"{'met' if rss <= 16 else 'NOT met'}"
        )
        if "replay" in s:
            good = [t for t in s["replay"] if t == t]
            best = min(good) if good else float("nan")
            print(
                f"  {'replay 10,000 < 50 ms':<32} {best:>8.1f} ms  "
                f"{'met' if best < 50 else 'NOT met'}"
            )


async def main_async(args: argparse.Namespace) -> None:
    report(await bench_all(args), args)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--serve", choices=sorted(SERVERS), help=argparse.SUPPRESS)
    p.add_argument("--servers", nargs="+", default=["sse_nb", "starlette", "tornado"])
    p.add_argument("--quick", action="store_true", help="smaller numbers, for a smoke run")
    args = p.parse_args()
    raise_nofile()
    if args.serve:
        SERVERS[args.serve]()
        return
    args.events_one = EVENTS_ONE_CLIENT // (10 if args.quick else 1)
    args.clients = CLIENTS // (10 if args.quick else 1)
    args.rate_seconds = 2.0 if args.quick else RATE_SECONDS
    args.events_fast = EVENTS_FAST_FANOUT
    args.replay_rounds = 2 if args.quick else REPLAY_ROUNDS
    args.rounds = 1 if args.quick else ROUNDS
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
