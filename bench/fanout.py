"""Server fan-out: sse_nb's EventServer against sse-starlette + uvicorn and a plain Tornado handler.

One command: ``python bench/fanout.py`` (``--quick`` for a shorter run, ``--scenarios s`` to run
only some scenarios).

Each server runs in its own subprocess and publishes from inside itself when told to (a line on
its stdin: ``publish N RATE CHANNEL``, or ``run SECONDS RATE CHANNEL``); the data of every event
is the publish time in ns, so the load generator (this process: raw asyncio sockets, no HTTP
library) measures publish→receive latency. The load generator counts events by counting
``b"\\n\\n"`` and samples latency from the first complete event of every chunk it reads (the
oldest event in that chunk: an upper bound).

Scenarios:

(a) one client, N events published as fast as possible: delivered events/s;
(b) 1,000 clients: server RSS per idle connection; then 10 events/s for a few seconds, and then
    a burst of 200 events published as fast as possible: delivered events/s (summed over
    clients), latency p50/p99. The burst is not a sustained rate: sse_nb's ``publish()`` from a
    thread is quicker than the loop's first drain, so each client gets the burst in one write;
(s) sustained, 1,000 clients: the server's publisher runs for ``SUSTAIN_SECONDS``, first as fast
    as it can, then at a ladder of fixed rates (``SUSTAIN_RATES``, stopped at a server's first
    failed rate). Delivered events/s and latency are measured over the steady window only (the
    first ``WARMUP_SECONDS`` are left out); after the publisher stops, clients get
    ``DRAIN_SECONDS`` to receive the rest; events not delivered by then (lost to slow-consumer
    cuts, or still queued) are counted as undelivered. A rate is *sustained* when every event
    reached every client and the steady window delivered at least ``KEEP_UP`` of the offered
    rate. sse_nb runs here with its default slow-consumer limit (``MAX_QUEUED_BYTES``), as a
    user would;
(r) sse_nb only: a client reconnecting with ``Last-Event-ID`` is replayed 10,000 missed events;
    time from connect to the last replayed event.

Servers compared:

- ``sse_nb``: ``EventServer`` on sse_nb's runtime thread; ``publish()`` called from the main
  thread (as a notebook would). For (a), (b) and (r) its slow-consumer limit is raised to 64 MiB
  (those scenarios measure speed, not the drop policy); (s) uses the default limit.
- ``starlette``: ``sse_starlette.EventSourceResponse`` on uvicorn; one ``asyncio.Queue`` per
  client, filled by a publisher coroutine that yields to the loop every ``YIELD_EVERY`` events
  (so "as fast as possible" is throttled by the writers sharing its loop: a natural limit).
- ``tornado``: a plain Tornado ``RequestHandler`` that ``write()``s and ``await flush()``es each
  event from its own queue (the usual way to stream with Tornado), same publisher.
- ``redis``: ``EventServer`` on a ``RedisEventLog`` (one process): ``publish()`` is an ``XADD``
  and every event reaches the clients through the process's tail, so latency includes two hops
  through Redis.
- ``redis_w2``: two such processes on one port (``SO_REUSEPORT``, as ``sse-nb serve --workers
  2``); the clients are spread over them by the kernel, and the events come from a third process
  (a ``RedisPublisher``). RSS is the two workers' together.

The Redis rows run when ``redis-server`` and the ``redis`` package are present: this script then
starts its own ``redis-server`` (free port, temporary folder, nothing persisted) and stops it at
the end. ``--clients 10000 --servers redis_w2 --scenarios rss`` measures 10,000 idle clients held
across the two workers.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
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
#: Seconds the publisher runs in each step of (s): long enough for a steady window.
SUSTAIN_SECONDS = 5.0
#: Seconds at the start of each (s) step left out of the rate and latency (connections warm up).
WARMUP_SECONDS = 1.0
#: Seconds clients get after an (s) publisher stops to receive what is still queued.
DRAIN_SECONDS = 3.0
#: Fixed publish rates (events/s, each to every client) tried in (s), lowest first.
SUSTAIN_RATES = (10, 20, 50, 100, 1_000, 3_000, 10_000, 30_000)
#: Share of the offered deliveries/s the steady window must reach for a rate to count as sustained.
KEEP_UP = 0.95
#: sse_nb's slow-consumer limit in (a), (b) and (r), which measure speed, not the drop policy.
BENCH_QUEUE_LIMIT = 64 * 1024 * 1024
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
#: File descriptors needed: 1,000 client sockets here (10,000 with ``--clients 10000``; the
#: servers raise their own limit).
NOFILE = 32_768
#: Environment variables that carry the Redis URL, stream prefix and port to server processes.
REDIS_URL_ENV = "SSE_NB_BENCH_REDIS"
PREFIX_ENV = "SSE_NB_BENCH_PREFIX"
PORT_ENV = "SSE_NB_BENCH_PORT"
#: Entries kept per channel by the Redis rows (as the in-memory server's history).
REDIS_MAXLEN = 50_000
#: Workers of the ``redis_w2`` server, as ``sse-nb serve --workers 2``.
WORKERS = 2


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


def paced(n: int, rate: float, seconds: float = 0.0) -> Any:
    """Yield 0..n-1, sleeping so that event i leaves at t0 + i/rate (rate 0: no pacing); with
    ``seconds``, stop when that much time has passed."""
    t0 = time.monotonic()
    end = t0 + seconds if seconds > 0 else float("inf")
    for i in range(n):
        if rate > 0:
            delay = t0 + i / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        if time.monotonic() >= end:
            return
        yield i


#: Upper bound on events of one ``run`` command (the duration ends it long before).
RUN_MAX_EVENTS = 10**9


def command_loop(publish: Any) -> None:
    """Read ``publish N RATE CHANNEL`` or ``run SECONDS RATE CHANNEL`` lines from stdin; answer
    ``done COUNT`` with the number of events published."""
    for line in sys.stdin:
        parts = line.split()
        if not parts:
            continue
        if parts[0] == "publish":
            count = publish(int(parts[1]), float(parts[2]), parts[3], 0.0)
            print(f"done {count}", flush=True)
        elif parts[0] == "run":
            count = publish(RUN_MAX_EVENTS, float(parts[2]), parts[3], float(parts[1]))
            print(f"done {count}", flush=True)
        elif parts[0] == "quit":
            return


def serve_sse_nb(queue_limit: int | None) -> None:
    from sse_nb.server import EventServer
    from sse_nb.server.connection import MAX_QUEUED_BYTES

    limit = MAX_QUEUED_BYTES if queue_limit is None else queue_limit
    server = EventServer(heartbeat=15.0, history=50_000, queue_limit=limit).start()
    print(f"port {server.port}", flush=True)

    def publish(n: int, rate: float, channel: str, seconds: float) -> int:
        count = 0
        for _ in paced(n, rate, seconds):
            server.publish(payload(), channel=channel)
            count += 1
        return count

    command_loop(publish)
    dropped = [c for c in server.clients if c.close_reason == "slow consumer"]
    if dropped:
        print(f"slow consumers dropped: {len(dropped)}", file=sys.stderr)
    server.stop()


def _loop_publisher(loop: asyncio.AbstractEventLoop, queues: set[Any], encode: Any) -> Any:
    counter = [0]

    async def publish_async(n: int, rate: float, seconds: float) -> int:
        t0 = time.monotonic()
        end = t0 + seconds if seconds > 0 else float("inf")
        for i in range(n):
            delay = t0 + i / rate - time.monotonic() if rate > 0 else 0.0
            if delay > 0:
                await asyncio.sleep(delay)
            elif i % YIELD_EVERY == 0:  # behind schedule or unpaced: still let writers run
                await asyncio.sleep(0)
            if time.monotonic() >= end:
                return i
            counter[0] += 1
            item = encode(counter[0], payload())
            for q in list(queues):
                q.put_nowait(item)
        return n

    def publish(n: int, rate: float, channel: str, seconds: float) -> int:
        future = asyncio.run_coroutine_threadsafe(publish_async(n, rate, seconds), loop)
        return future.result()

    return publish


def serve_starlette(queue_limit: int | None) -> None:
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


def serve_tornado(queue_limit: int | None) -> None:
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


def serve_redis(queue_limit: int | None) -> None:
    """``EventServer`` on the shared Redis log; with ``PORT_ENV`` set, one of several workers."""
    from sse_nb.server import EventServer, RedisEventLog
    from sse_nb.server.connection import MAX_QUEUED_BYTES

    limit = MAX_QUEUED_BYTES if queue_limit is None else queue_limit
    log = RedisEventLog(
        os.environ[REDIS_URL_ENV], prefix=os.environ[PREFIX_ENV], maxlen=REDIS_MAXLEN
    )
    worker = PORT_ENV in os.environ
    server = EventServer(
        port=int(os.environ.get(PORT_ENV, "0")),
        heartbeat=15.0,
        log=log,
        queue_limit=limit,
        reuse_port=worker,
    ).start()
    print(f"port {server.port}", flush=True)

    def publish(n: int, rate: float, channel: str, seconds: float) -> int:
        count = 0
        for _ in paced(n, rate, seconds):
            server.publish(payload(), channel=channel)
            count += 1
        return count

    command_loop(publish)
    server.close()


def serve_redis_workers(queue_limit: int | None) -> None:
    """``WORKERS`` ``serve_redis`` processes on one port; this process publishes to the log."""
    from sse_nb.server import RedisPublisher

    limit = [] if queue_limit is None else ["--queue-limit", str(queue_limit)]
    workers: list[subprocess.Popen[str]] = []
    port = 0
    for _ in range(WORKERS):
        env = {**os.environ, PORT_ENV: str(port)}
        proc = subprocess.Popen(
            [sys.executable, __file__, "--serve", "redis", *limit],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        assert proc.stdout is not None
        port = int(proc.stdout.readline().split()[1])  # the first worker picks it
        workers.append(proc)
    print(f"port {port}", flush=True)
    pub = RedisPublisher(os.environ[REDIS_URL_ENV], prefix=os.environ[PREFIX_ENV])

    def publish(n: int, rate: float, channel: str, seconds: float) -> int:
        count = 0
        for _ in paced(n, rate, seconds):
            pub.publish(payload(), channel=channel)
            count += 1
        return count

    try:
        command_loop(publish)
    finally:
        pub.close()
        for proc in workers:
            assert proc.stdin is not None
            with contextlib.suppress(OSError):
                proc.stdin.write("quit\n")
                proc.stdin.flush()
        for proc in workers:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)


SERVERS = {
    "sse_nb": serve_sse_nb,
    "starlette": serve_starlette,
    "tornado": serve_tornado,
    "redis": serve_redis,
    "redis_w2": serve_redis_workers,
}
#: The servers on the shared Redis log (they need a redis-server; see ``RedisServer``).
REDIS_KINDS = ("redis", "redis_w2")
#: Scenario names for ``--scenarios``, in the order they run.
SCENARIOS = ("a", "rss", "b10", "bfast", "r", "s")


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
    #: Latency is sampled only between these monotonic times (the steady window of (s)).
    window: tuple[float, float] = (0.0, float("inf"))


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
            t.last_receive = mono = time.monotonic()
            if t.sample and t.window[0] <= mono <= t.window[1]:
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
    def __init__(self, kind: str, queue_limit: int | None = BENCH_QUEUE_LIMIT) -> None:
        self.kind = kind
        self.queue_limit = queue_limit
        self.proc: asyncio.subprocess.Process | None = None
        self.port = 0

    async def start(self) -> None:
        limit = [] if self.queue_limit is None else ["--queue-limit", str(self.queue_limit)]
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable,
            __file__,
            "--serve",
            self.kind,
            *limit,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        assert self.proc.stdout is not None
        line = await asyncio.wait_for(self.proc.stdout.readline(), 60)
        self.port = int(line.split()[1])

    async def publish(self, n: int, rate: float = 0.0, channel: str = "default") -> int:
        return await self._command(f"publish {n} {rate} {channel}")

    async def run(self, seconds: float, rate: float = 0.0, channel: str = "default") -> int:
        """Publish for ``seconds`` at ``rate`` (0: as fast as possible); the count published."""
        return await self._command(f"run {seconds} {rate} {channel}")

    async def _command(self, line: str) -> int:
        assert self.proc is not None and self.proc.stdin and self.proc.stdout
        self.proc.stdin.write(f"{line}\n".encode())
        await self.proc.stdin.drain()
        answer = await asyncio.wait_for(self.proc.stdout.readline(), PHASE_TIMEOUT)
        parts = answer.split()
        assert parts and parts[0] == b"done", answer
        return int(parts[1])

    def rss_kib(self) -> int:
        """RSS of the server process and its children (the workers of ``redis_w2``)."""
        assert self.proc is not None
        total, todo = 0, [self.proc.pid]
        while todo:
            pid = todo.pop()
            with contextlib.suppress(OSError), open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
            with contextlib.suppress(OSError), open(f"/proc/{pid}/task/{pid}/children") as f:
                todo += [int(x) for x in f.read().split()]
        return total

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


def protocol_of(client: Client) -> Callable[[], Client]:
    """The protocol factory ``create_connection`` wants, for an existing client."""
    return lambda: client


async def connect(
    port: int, n: int, totals: Totals, path: str = "/events", headers: str = ""
) -> list[Client]:
    loop = asyncio.get_running_loop()
    clients: list[Client] = []
    for start in range(0, n, 100):  # in waves, so the listen backlog never overflows
        wave = [Client(path, totals, headers) for _ in range(min(100, n - start))]
        await asyncio.gather(
            *(loop.create_connection(protocol_of(c), "127.0.0.1", port) for c in wave)
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


async def run_sustained(
    server: ServerProcess, clients_n: int, rate: float, seconds: float
) -> dict[str, Any]:
    """One step of (s): the publisher runs ``seconds`` at ``rate`` (0: as fast as it can)."""
    totals = Totals()
    clients = await connect(server.port, clients_n, totals)
    await asyncio.sleep(0.5)  # let every server finish registering its subscribers
    t0 = time.monotonic()
    totals.window = (t0 + WARMUP_SECONDS, t0 + seconds)
    running = asyncio.ensure_future(server.run(seconds, rate))
    await asyncio.sleep(max(0.0, totals.window[0] - time.monotonic()))
    e0, ta = totals.events, time.monotonic()
    await asyncio.sleep(max(0.0, totals.window[1] - time.monotonic()))
    e1, tb = totals.events, time.monotonic()
    published = await running
    want = published * clients_n
    deadline = time.monotonic() + DRAIN_SECONDS
    while totals.events < want and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    cut = [c for c in clients if c.closed.done()]
    lost_cut = sum(max(0, published - c.events) for c in cut)
    lost = max(0, want - totals.events)
    close_all(clients)
    await asyncio.sleep(0.3)
    window_rate = (e1 - e0) / (tb - ta)
    offered = rate * clients_n if rate > 0 else published * clients_n / seconds
    return {
        "rate": rate,
        "published": published,
        "publish_rate": published / seconds,
        "offered": offered,
        "delivered": totals.events,
        "expected": want,
        "window_rate": window_rate,
        "p50": pct(totals.latencies, 0.50),
        "p99": pct(totals.latencies, 0.99),
        "cut": len(cut),
        "lost_cut": lost_cut,
        "lost_queued": lost - lost_cut,
        "lost": lost,
        "sustained": lost == 0 and window_rate >= KEEP_UP * offered,
    }


async def run_sustained_ladder(kind: str, args: argparse.Namespace) -> dict[str, Any]:
    """(s) for one server, in a fresh process with its default limits: as fast as possible,
    then the fixed rates upward until one is not sustained."""
    server = ServerProcess(kind, queue_limit=None)
    out: dict[str, Any] = {"steps": []}
    try:
        await server.start()
        for rate in (0, *args.sustain_rates):
            label = "as fast as possible" if rate == 0 else f"{rate:,} ev/s"
            print(
                f"  {kind}: (s) {args.clients:,} clients, {label} for {args.sustain_seconds:g} s",
                flush=True,
            )
            step = await run_sustained(server, args.clients, rate, args.sustain_seconds)
            if rate == 0:
                out["max"] = step
                continue
            out["steps"].append(step)
            if not step["sustained"]:
                break
    finally:
        await server.stop()
    return out


async def bench_all(args: argparse.Namespace) -> list[dict[str, Any]]:
    """Every selected scenario for every server; rounds of (b) alternate between servers, so the
    noise of a shared machine falls on all of them alike."""
    want = set(args.scenarios)
    servers = [ServerProcess(kind) for kind in args.servers]
    out: dict[str, dict[str, Any]] = {kind: {"kind": kind} for kind in args.servers}
    burst = want & {"a", "rss", "b10", "bfast", "r"}
    try:
        for server in servers if burst else []:
            await server.start()
        for server in servers if "a" in want else []:
            print(f"  {server.kind}: (a) one client, {args.events_one:,} events ...", flush=True)
            out[server.kind]["a"] = await run_delivery(server, 1, args.events_one, 0.0)
        for server in servers if "rss" in want else []:
            print(f"  {server.kind}: (b) {args.clients:,} idle clients: RSS ...", flush=True)
            rss, idle, _ = await run_idle_rss(server, args.clients)
            out[server.kind]["rss_per_conn"] = rss
            close_all(idle)
            await asyncio.sleep(0.5)
        rate_events = int(10 * args.rate_seconds)
        for r in range(args.rounds if "b10" in want else 0):
            for server in servers:
                print(
                    f"  {server.kind}: (b) {args.clients:,} clients at 10 ev/s, "
                    f"round {r + 1}/{args.rounds} ...",
                    flush=True,
                )
                res = await run_delivery(server, args.clients, rate_events, 10.0)
                out[server.kind].setdefault("b10_rounds", []).append(res)
        for r in range(args.rounds if "bfast" in want else 0):
            for server in servers:
                print(
                    f"  {server.kind}: (b) {args.clients:,} clients, burst of "
                    f"{args.events_fast} events, round {r + 1}/{args.rounds} ...",
                    flush=True,
                )
                res = await run_delivery(server, args.clients, args.events_fast, 0.0)
                out[server.kind].setdefault("bfast_rounds", []).append(res)
        for server in servers if "r" in want else []:  # the in-memory log only
            if server.kind == "sse_nb":
                print(f"  sse_nb: (r) replay of {REPLAY_EVENTS:,} missed events ...", flush=True)
                out["sse_nb"]["replay"] = await run_replay(server, args.replay_rounds)
    finally:
        for server in servers if burst else []:
            await server.stop()
    for kind in args.servers if "s" in want else []:
        out[kind]["s"] = await run_sustained_ladder(kind, args)
    for res in out.values():
        if "b10_rounds" in res:
            res["b10"] = median_round(res["b10_rounds"])
        if "bfast_rounds" in res:
            res["bfast"] = median_round(res["bfast_rounds"])
    return list(out.values())


def median_round(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """The round with the median p99 (the machine is shared; one round can be unlucky)."""
    ordered = sorted(rounds, key=lambda r: r["p99"])
    return ordered[len(ordered) // 2]


def fmt_rate(r: dict[str, Any]) -> str:
    flag = "" if r["complete"] else f" (incomplete: {r['delivered']:,}/{r['expected']:,})"
    return f"{r['rate']:>10,.0f}{flag}"


def best_sustained(s: dict[str, Any]) -> dict[str, Any] | None:
    """The highest fixed rate of (s) with nothing lost and the offered rate delivered."""
    ok = [step for step in s["steps"] if step["sustained"]]
    return ok[-1] if ok else None


def report_burst(results: list[dict[str, Any]]) -> None:
    rows = [r for r in results if {"a", "rss_per_conn", "b10", "bfast"} & r.keys()]
    if not rows:
        return
    head = (
        f"{'server':<10} {'(a) ev/s':>12} {'(b) RSS/idle conn':>18} "
        f"{'(b) 10/s ev/s':>14} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'(b) burst ev/s':>14} {'p50 ms':>8} {'p99 ms':>8}"
    )
    print(head)
    print("-" * len(head))
    for r in rows:
        a = fmt_rate(r["a"]) if "a" in r else "-"
        rss = f"{r['rss_per_conn'] / 1024:.1f} KiB" if "rss_per_conn" in r else "-"
        cells = [f"{r['kind']:<10} {a:>12} {rss:>18}"]
        for key in ("b10", "bfast"):
            if key in r:
                x = r[key]
                cells.append(f"{fmt_rate(x):>14} {x['p50']:>8.1f} {x['p99']:>8.1f}")
            else:
                cells.append(f"{'-':>14} {'-':>8} {'-':>8}")
        print(" ".join(cells))
    if any("bfast" in r for r in rows):
        print("(b) burst: every event published before the first drain; not a sustained rate.")


def report_sustained(results: list[dict[str, Any]], args: argparse.Namespace) -> None:
    rows = [r for r in results if "s" in r]
    if not rows:
        return
    print(
        f"\n(s) sustained, {args.clients:,} clients, {args.sustain_seconds:g} s per step "
        f"(steady window: after the first {WARMUP_SECONDS:g} s; {DRAIN_SECONDS:g} s to drain)"
    )
    head = (
        f"{'server':<10} {'publish rate':>14} {'published ev/s':>15} {'delivered ev/s':>15} "
        f"{'p50 ms':>9} {'p99 ms':>9} {'cut':>5} {'undelivered':>18}  sustained"
    )
    print(head)
    print("-" * len(head))
    for r in rows:
        s = r["s"]
        for step in ([s["max"]] if "max" in s else []) + s["steps"]:
            label = "max" if step["rate"] == 0 else f"{step['rate']:,}/s"
            lost = f"{step['lost']:,}"
            if step["lost"]:
                lost += f" ({100 * step['lost'] / max(1, step['expected']):.0f}%)"
            print(
                f"{r['kind']:<10} {label:>14} {step['publish_rate']:>15,.0f} "
                f"{step['window_rate']:>15,.0f} {step['p50']:>9.1f} {step['p99']:>9.1f} "
                f"{step['cut']:>5} {lost:>18}  {'yes' if step['sustained'] else 'no'}"
            )
    for r in rows:
        best = best_sustained(r["s"])
        print(
            f"  {r['kind']}: highest sustained rate "
            + (
                f"{best['rate']:,} ev/s ({best['window_rate']:,.0f} deliveries/s, "
                f"p99 {best['p99']:.1f} ms)"
                if best
                else "none of the rates tried"
            )
        )


def report_targets(by: dict[str, dict[str, Any]]) -> None:
    if "sse_nb" not in by or "starlette" not in by:
        return
    s, b = by["sse_nb"], by["starlette"]
    checks: list[tuple[str, float, float, bool]] = []
    if "a" in s and "a" in b:
        checks.append(("(a) events/s >= 5x", s["a"]["rate"] / b["a"]["rate"], 5.0, True))
    if "s" in s and "s" in b:
        ss, bs = best_sustained(s["s"]), best_sustained(b["s"])
        if ss and bs:
            checks.append(
                (
                    "(s) sustained deliveries/s >= 3x",
                    ss["window_rate"] / bs["window_rate"],
                    3.0,
                    True,
                )
            )
        ours = {st["rate"]: st for st in s["s"]["steps"]}
        for theirs in b["s"]["steps"]:
            if theirs["rate"] in ours:
                kept = "" if theirs["sustained"] else " (sse-starlette saturated)"
                checks.append(
                    (
                        f"(s) p99 at {theirs['rate']:,} ev/s <= 1/3{kept}",
                        ours[theirs["rate"]]["p99"] / theirs["p99"],
                        1 / 3,
                        False,
                    )
                )
        if "max" in s["s"] and "max" in b["s"]:
            sm, bm = s["s"]["max"], b["s"]["max"]
            checks.append(
                ("(s) max: delivered ev/s >= 3x", sm["window_rate"] / bm["window_rate"], 3.0, True)
            )
            checks.append(("(s) max: p99 <= 1/3", sm["p99"] / bm["p99"], 1 / 3, False))
    if "bfast" in s and "bfast" in b:
        checks.append(
            ("(b) burst delivered ev/s >= 3x", s["bfast"]["rate"] / b["bfast"]["rate"], 3.0, True)
        )
        checks.append(("(b) burst p99 <= 1/3", s["bfast"]["p99"] / b["bfast"]["p99"], 1 / 3, False))
    if "b10" in s and "b10" in b:
        checks.append(("(b) 10/s p99 <= 1/3", s["b10"]["p99"] / b["b10"]["p99"], 1 / 3, False))
    print("\ntargets (sse_nb vs sse-starlette):")
    for name, ratio, bar, higher in checks:
        ok = ratio >= bar if higher else ratio <= bar
        print(f"  {name:<52} {ratio:>8.2f}x   {'met' if ok else 'NOT met'}")
    if "rss_per_conn" in s:
        rss = s["rss_per_conn"] / 1024
        print(
            f"  {'RSS per idle connection <= 16 KiB':<52} {rss:>8.1f} KiB "
            f"{'met' if rss <= 16 else 'NOT met'}"
        )
    if "replay" in s:
        good = [t for t in s["replay"] if t == t]
        best = min(good) if good else float("nan")
        print(
            f"  {'replay 10,000 < 50 ms':<52} {best:>8.1f} ms  {'met' if best < 50 else 'NOT met'}"
        )


def report(results: list[dict[str, Any]], args: argparse.Namespace) -> None:
    by = {r["kind"]: r for r in results}
    load = os.getloadavg()
    print()
    print(
        f"fan-out benchmark  {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}  "
        f"cpus={os.cpu_count()}  python={sys.version.split()[0]}  "
        f"load average at the end {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
    )
    report_burst(results)
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
    report_sustained(results, args)
    report_targets(by)


#: redis-server options for a log that lives only as long as the run.
PERSIST_NOTHING = ("--save", "", "--appendonly", "no")


class RedisServer:
    """A ``redis-server`` of this run: free loopback port, temporary folder, nothing persisted."""

    def __init__(self) -> None:
        self.dir = tempfile.mkdtemp(prefix="sse-nb-bench-redis-")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        exe = shutil.which("redis-server") or "redis-server"
        self.proc = subprocess.Popen(
            [
                exe,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                self.dir,
                *PERSIST_NOTHING,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=1) as s,
            ):
                s.sendall(b"PING\r\n")
                if s.recv(16).startswith(b"+PONG"):
                    return
            time.sleep(0.05)
        raise RuntimeError("redis-server did not answer within 20 s")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(20)
        shutil.rmtree(self.dir, ignore_errors=True)


def redis_available() -> str | None:
    """Why the Redis rows cannot run here, or ``None`` when they can."""
    if shutil.which("redis-server") is None:
        return "redis-server is not installed"
    try:
        import redis  # noqa: F401
    except ImportError:
        return "the redis package is not installed (pip install 'sse_nb[redis]')"
    return None


def report_redis(by: dict[str, dict[str, Any]]) -> None:
    """The Redis rows against the in-memory log of the same run."""
    if "sse_nb" not in by or not set(REDIS_KINDS) & by.keys():
        return
    s = by["sse_nb"]
    print("\ntargets (Redis log vs in-memory log, same run):")
    for kind in REDIS_KINDS:
        r = by.get(kind)
        if r is None:
            continue
        if "b10" in r and "b10" in s:
            ratio = r["b10"]["p99"] / s["b10"]["p99"]
            name = f"{kind}: (b) 10/s p99 <= 2x in-memory"
            print(f"  {name:<52} {ratio:>8.2f}x   {'met' if ratio <= 2 else 'NOT met'}")
        if "rss_per_conn" in r:
            rss = r["rss_per_conn"] / 1024
            name = f"{kind}: RSS per idle connection <= 16 KiB"
            print(f"  {name:<52} {rss:>8.1f} KiB {'met' if rss <= 16 else 'NOT met'}")


async def main_async(args: argparse.Namespace) -> None:
    redis_server: RedisServer | None = None
    if set(args.servers) & set(REDIS_KINDS):
        redis_server = RedisServer()
        redis_server.start()
        os.environ[REDIS_URL_ENV] = redis_server.url
        os.environ[PREFIX_ENV] = f"bench{os.getpid()}"
    try:
        results = await bench_all(args)
    finally:
        if redis_server is not None:
            redis_server.stop()
    report(results, args)
    report_redis({r["kind"]: r for r in results})


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--serve", choices=sorted(SERVERS), help=argparse.SUPPRESS)
    p.add_argument("--queue-limit", type=int, default=None, help=argparse.SUPPRESS)
    p.add_argument(
        "--scenarios",
        nargs="+",
        choices=SCENARIOS,
        default=list(SCENARIOS),
        help="a: one client; rss: idle RSS; b10: 10 ev/s; bfast: burst; s: sustained; r: replay",
    )
    p.add_argument(
        "--servers",
        nargs="+",
        choices=sorted(SERVERS),
        default=None,
        help="default: sse_nb starlette tornado, and redis redis_w2 when Redis is available",
    )
    p.add_argument("--quick", action="store_true", help="smaller numbers, for a smoke run")
    p.add_argument("--clients", type=int, default=None, help=f"clients in (b) and (s) ({CLIENTS})")
    args = p.parse_args()
    raise_nofile()
    if args.serve:
        SERVERS[args.serve](args.queue_limit)
        return
    args.events_one = EVENTS_ONE_CLIENT // (10 if args.quick else 1)
    if args.servers is None:
        args.servers = ["sse_nb", "starlette", "tornado"]
        why = redis_available()
        if why is None:
            args.servers += list(REDIS_KINDS)
        else:
            print(f"no Redis rows: {why}", flush=True)
    elif set(args.servers) & set(REDIS_KINDS) and (why := redis_available()):
        p.error(f"the Redis servers cannot run: {why}")
    if args.clients is None:
        args.clients = CLIENTS // (10 if args.quick else 1)
    args.rate_seconds = 2.0 if args.quick else RATE_SECONDS
    args.events_fast = EVENTS_FAST_FANOUT
    args.replay_rounds = 2 if args.quick else REPLAY_ROUNDS
    args.rounds = 1 if args.quick else ROUNDS
    args.sustain_seconds = 3.0 if args.quick else SUSTAIN_SECONDS
    args.sustain_rates = SUSTAIN_RATES
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
