"""Parser speed: sse_nb's EventParser against httpx-sse's decoders on the same byte streams.

Run: ``python bench/parse.py`` (``--quick`` for a smaller, faster run).

Both parsers receive the same bytes, cut into the same chunks a network would deliver (64 KiB
reads, and small reads of 1-4 KiB). httpx-sse is driven exactly as its own ``iter_sse`` drives
it: httpx's ``TextDecoder`` (incremental UTF-8 with replacement), then ``SSELineDecoder`` inside
a generator (``_iter_sse_lines``), then ``line.rstrip("\\n")`` and ``SSEDecoder.decode(line)``
for every line. sse_nb is driven as its client drives it: ``EventParser.feed(chunk)``.
Each figure is the best of several repetitions of CPU time (``time.process_time``), since the
machine is shared and wall time would count other processes' turns; the two parsers'
repetitions alternate, so that a drift of the machine's speed reaches both.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timezone

from httpx._decoders import TextDecoder
from httpx_sse._decoders import SSEDecoder, SSELineDecoder

from sse_nb.protocol import EventParser

#: Seed for the chunk sizes, so every run cuts the streams identically.
SEED = 20261124
#: Large reads, as from a fast local socket.
BIG_CHUNK = 64 * 1024
#: Small reads, as from a slow or busy network (uniform in this range, inclusive).
SMALL_CHUNKS = (1024, 4096)


def small_events(n: int, eol: str = "\n") -> bytes:
    """``n`` events of about 100 bytes of JSON data, each with an ``id:``."""
    out = []
    for i in range(n):
        data = json.dumps(
            {
                "seq": i,
                "ts": 1732400000.0 + i / 1000,
                "sensor": "temp-3",
                "value": 21.5 + i % 7,
                "unit": "C",
                "ok": True,
            },
            separators=(",", ":"),
        )
        out.append(f"id: {i}{eol}data: {data}{eol}{eol}")
    return "".join(out).encode()


def multiline_events(n: int) -> bytes:
    """``n`` events whose data is pretty-printed JSON (six ``data:`` lines) with a type and id."""
    out = []
    for i in range(n):
        data = json.dumps(
            {"seq": i, "name": f"item-{i}", "price": i * 0.25, "tags": ["a", "b"]}, indent=1
        )
        lines = "".join(f"data: {line}\n" for line in data.split("\n"))
        out.append(f"event: update\nid: {i}\n{lines}\n")
    return "".join(out).encode()


def large_events(n: int, size: int = 4096) -> bytes:
    """``n`` events carrying ``size`` bytes of data each, with an ``id:``."""
    rng = random.Random(SEED)
    alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ,.:{}"'
    out = []
    for i in range(n):
        payload = "".join(rng.choices(alphabet, k=size))
        out.append(f"id: {i}\ndata: {payload}\n\n")
    return "".join(out).encode()


def chunked(stream: bytes, sizes: Callable[[], int]) -> list[bytes]:
    chunks = []
    pos = 0
    while pos < len(stream):
        step = sizes()
        chunks.append(stream[pos : pos + step])
        pos += step
    return chunks


def run_sse_nb(chunks: list[bytes]) -> int:
    parser = EventParser()
    feed = parser.feed
    n = 0
    for chunk in chunks:
        n += len(feed(chunk))
    return n


def _httpx_sse_lines(chunks: list[bytes]) -> Iterator[str]:
    # httpx.Response.iter_text() then httpx_sse._api._iter_sse_lines(), inlined.
    text_decoder = TextDecoder("utf-8")
    decoder = SSELineDecoder()
    for chunk in chunks:
        text = text_decoder.decode(chunk)
        if text:
            yield from decoder.decode(text)
    text = text_decoder.flush()
    if text:
        yield from decoder.decode(text)
    yield from decoder.flush()


def run_httpx_sse(chunks: list[bytes]) -> int:
    # httpx_sse.EventSource.iter_sse(), minus the content-type check.
    decoder = SSEDecoder()
    n = 0
    for line in _httpx_sse_lines(chunks):
        line = line.rstrip("\n")
        sse = decoder.decode(line)
        if sse is not None:
            n += 1
    return n


def best_time(
    fn: Callable[[list[bytes]], int], chunks: list[bytes], reps: int
) -> tuple[float, int]:
    best = float("inf")
    count = 0
    for _ in range(reps):
        t0 = time.process_time()
        count = fn(chunks)
        best = min(best, time.process_time() - t0)
    return best, count


def best_times(chunks: list[bytes], reps: int) -> tuple[float, float, int, int]:
    """Best times of both parsers, their repetitions interleaved.

    The machine's speed drifts by up to 2x within a minute; measuring all of one parser's
    repetitions and then all of the other's would put the drift into the ratio.
    """
    t_ours = t_theirs = float("inf")
    n_ours = n_theirs = 0
    for _ in range(reps):
        t, n_ours = best_time(run_sse_nb, chunks, 1)
        t_ours = min(t_ours, t)
        t, n_theirs = best_time(run_httpx_sse, chunks, 1)
        t_theirs = min(t_theirs, t)
    return t_ours, t_theirs, n_ours, n_theirs


def import_time(reps: int) -> float:
    """Best wall time of ``import sse_nb`` in a fresh interpreter, in ms."""
    code = "import time; t = time.perf_counter(); import sse_nb; print(time.perf_counter() - t)"
    times = []
    for _ in range(reps):
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        )
        times.append(float(out.stdout))
    return min(times) * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="a tenth of the events, fewer repetitions")
    ap.add_argument("--reps", type=int, default=5, help="repetitions per measurement (best kept)")
    args = ap.parse_args()
    scale = 10 if args.quick else 1
    reps = 2 if args.quick else args.reps

    streams = [
        ("small", 200_000 // scale, small_events(200_000 // scale)),
        ("small CRLF", 200_000 // scale, small_events(200_000 // scale, "\r\n")),
        ("multi-line", 100_000 // scale, multiline_events(100_000 // scale)),
        ("4 KB", 10_000 // scale, large_events(10_000 // scale)),
    ]
    rng = random.Random(SEED)
    chunkings: list[tuple[str, Callable[[], int]]] = [
        ("64 KiB", lambda: BIG_CHUNK),
        ("1-4 KiB", lambda: rng.randint(*SMALL_CHUNKS)),
    ]

    print(
        f"# parse benchmark, {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, "
        f"Python {sys.version.split()[0]}, best of {reps}"
    )
    header = (
        f"| {'stream':<10} | {'events':>7} | {'chunks':<7} | {'sse_nb ev/s':>11} | "
        f"{'MB/s':>6} | {'httpx-sse ev/s':>14} | {'MB/s':>6} | {'ratio':>6} |"
    )
    print(header)
    print("|" + "|".join("-" * (len(c)) for c in header.split("|")[1:-1]) + "|")
    for name, n, stream in streams:
        for chunk_name, sizes in chunkings:
            chunks = chunked(stream, sizes)
            t_ours, t_theirs, n_ours, n_theirs = best_times(chunks, reps)
            if n_ours != n or n_theirs != n:
                raise SystemExit(
                    f"{name}: expected {n} events, sse_nb {n_ours}, httpx-sse {n_theirs}"
                )
            mb = len(stream) / 1e6
            print(
                f"| {name:<10} | {n:>7} | {chunk_name:<7} | {n / t_ours:>11,.0f} | "
                f"{mb / t_ours:>6.1f} | {n / t_theirs:>14,.0f} | {mb / t_theirs:>6.1f} | "
                f"{t_theirs / t_ours:>5.2f}x |"
            )
    print(f"\nimport sse_nb (fresh interpreter, best of 7): {import_time(7):.1f} ms")


if __name__ == "__main__":
    main()
