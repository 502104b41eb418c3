"""What a byte tap hears from a client, and the recorder built on it (``es.record(path)``)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any, NamedTuple

import anyio

from ..protocol.recording import chunk_line, header_line, response_line

__all__ = ["Recorder", "Tapped", "Taps", "Wire"]

logger = logging.getLogger("sse_nb.client")


class Wire(NamedTuple):
    """One thing a tap hears, before the parser sees it.

    ``kind`` is ``"response"`` (a response was accepted: ``status`` and ``headers`` set),
    ``"bytes"`` (``data``: a chunk exactly as read) or ``"end"`` (that response's body ended,
    however: end of stream, reset, idle timeout, ``close()``).
    """

    time: float
    kind: str
    data: bytes = b""
    status: int = 0
    headers: tuple[tuple[str, str], ...] = ()


class Recorder:
    """Writes every response a client receives to a recording file, one JSON line per item.

    Made by ``es.record(path)``; ``close()`` (or leaving its ``with`` block) stops recording and
    closes the file. Lines are flushed as written, so a recording survives a crash.
    """

    def __init__(self, path: str | Path, url: str) -> None:
        self.path = Path(path)
        self._started = time.time()
        self._lock = threading.Lock()
        self._file: IO[str] | None = open(self.path, "w", encoding="utf-8")  # noqa: SIM115
        self._write(header_line(url, self._started))
        self.responses = 0
        self.chunks = 0
        self.unsubscribe: Any = None  # set by the source that feeds it

    def _write(self, line: str) -> None:
        with self._lock:
            if self._file is not None:
                self._file.write(line + "\n")
                self._file.flush()

    def __call__(self, wire: Wire) -> None:
        t = wire.time - self._started
        if wire.kind == "response":
            self.responses += 1
            self._write(response_line(t, wire.status, list(wire.headers)))
        elif wire.kind == "bytes":
            self.chunks += 1
            self._write(chunk_line(t, wire.data))

    def close(self) -> None:
        """Stop recording and close the file (idempotent); what was written stays playable."""
        if self.unsubscribe is not None:
            self.unsubscribe()
        with self._lock:
            f, self._file = self._file, None
        if f is not None:
            f.close()

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()


class Taps:
    """The byte taps of one source, and how long its reading is paused (``pause_reading``)."""

    def __init__(self, url: str) -> None:
        self.url = url
        #: The callbacks; the source checks this list once per chunk, so no tap costs nothing.
        self.callbacks: list[Callable[[Wire], None]] = []
        self.pause_until = 0.0  # monotonic time until which reading waits
        #: The response being read, kept so that a tap added in the middle of it hears it first
        #: (a recording then always starts with a status and headers); ``None`` between them.
        self.current: Wire | None = None
        # Orders a new tap's first "response" before any "bytes" it hears, across threads.
        self._lock = threading.Lock()

    def opened(self, status: int, headers: tuple[tuple[str, str], ...]) -> None:
        """A response was accepted: remember it, and tell the taps (once per connection)."""
        with self._lock:
            self.current = Wire(time.time(), "response", b"", status, headers)
        if self.callbacks:
            self.tell(self.current)

    def add(self, callback: Callable[[Wire], None]) -> Callable[[], None]:
        """Add a tap; if a response is being read, the tap hears it at once."""
        with self._lock:
            self.callbacks.append(callback)
            current = self.current
            if current is not None:
                callback(current)

        def untap() -> None:
            if callback in self.callbacks:
                self.callbacks.remove(callback)

        return untap

    def record(self, path: str | Path) -> Recorder:
        recorder = Recorder(path, self.url)
        recorder.unsubscribe = self.add(recorder)
        return recorder

    def tell(self, wire: Wire) -> None:
        if wire.kind == "end":
            self.current = None
        with self._lock:
            taps = tuple(self.callbacks)
            for tap in taps:
                try:
                    tap(wire)
                except Exception:  # a broken tool must not break the stream
                    logger.exception("a byte tap of %s raised", self.url)

    def pause(self, seconds: float) -> None:
        if not seconds >= 0:
            raise ValueError(f"seconds must be >= 0, not {seconds!r}")
        self.pause_until = time.monotonic() + seconds

    async def paused(self) -> None:
        """Sit out what is left of a ``pause``, if any."""
        wait, self.pause_until = self.pause_until - time.monotonic(), 0.0
        if wait > 0:
            await anyio.sleep(wait)


class Tapped:
    """The lab's hooks on a source (``tap``, ``record``, ``pause_reading``), for both faces."""

    #: Where the hooks live; the source reads them on its event loop's thread.
    taps: Taps

    def tap(self, callback: Callable[[Wire], None]) -> Callable[[], None]:
        """Hear each accepted response and its raw bytes before the parser (a ``Wire`` each, on
        the loop's thread), for ``sse_nb.lab.WireView``; returns the function that removes it."""
        return self.taps.add(callback)

    def record(self, path: str | Path) -> Recorder:
        """Record every response from now on to ``path``, for ``EventServer.play`` and
        ``sse-nb play``; closing the returned ``Recorder`` stops it."""
        return self.taps.record(path)

    def pause_reading(self, seconds: float) -> None:
        """After the next chunk, leave the socket unread for ``seconds`` (TCP then pushes back
        on the server): a real slow consumer. The idle timeout does not run meanwhile."""
        self.taps.pause(seconds)
