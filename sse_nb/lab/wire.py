"""The wire view: the raw bytes of a stream as they arrive, and the standard's decision per line.

A client's bytes come from its byte tap (``es.tap``), a server connection's from
``server.tap(client_id, ...)``; either way they are fed to a ``TracingParser`` of the view's own,
which reads them line by line exactly as HTML "Server-sent events" §9.2.5-§9.2.6 say, so the
client's own parser pays nothing for being watched. Each chunk is a row (its boundaries are the
reads, or the writes, as they happened), followed by one row per line it ended, with CR, LF,
NUL, the BOM and other control bytes shown as escapes.
"""

from __future__ import annotations

import threading
from collections import deque
from pathlib import Path
from typing import Any

import anywidget
import traitlets

from ..protocol.trace import DISPATCH, Step, TracingParser
from ..widgets import Flusher, Follower, stop_following

__all__ = ["MAX_ROWS", "MAX_SHOWN_BYTES", "WireRows", "WireView", "escape_bytes"]

#: Rows kept (and shown), newest last: a long stream must not grow the page without bound.
MAX_ROWS = 400
#: Bytes of one chunk or line shown; the rest is counted, not shown (a 4 MB replay is one read).
MAX_SHOWN_BYTES = 2000

_ESCAPES = {"\r": "\\r", "\n": "\\n", "\x00": "\\0", "\t": "\\t", "\ufeff": "\\uFEFF"}


def escape_bytes(data: bytes) -> str:
    """``data`` as text with every byte that would hide shown as an escape.

    CR, LF, NUL, TAB and the BOM get their usual escapes, other control characters ``\\xNN``,
    and bytes that are not UTF-8 ``\\xNN`` too; a long input is cut with a count of the rest.
    """
    cut = data[:MAX_SHOWN_BYTES]
    text = cut.decode("utf-8", "backslashreplace")
    out = []
    for ch in text:
        esc = _ESCAPES.get(ch)
        if esc is not None:
            out.append(esc)
        elif ch < " " or ch == "\x7f":
            out.append(f"\\x{ord(ch):02X}")
        else:
            out.append(ch)
    if len(data) > len(cut):
        out.append(f" … (+{len(data) - len(cut)} bytes)")
    return "".join(out)


class _Dechunk:
    """Undoes HTTP/1.1 chunked framing of a server's sent bytes, so the tracer sees the body."""

    def __init__(self) -> None:
        self._buf = b""
        self._left = 0  # body bytes left in the current chunk

    def feed(self, data: bytes) -> bytes:
        self._buf += data
        out = []
        while self._buf:
            if self._left > 0:
                piece = self._buf[: self._left]
                out.append(piece)
                self._left -= len(piece)
                self._buf = self._buf[len(piece) :]
                if not self._left:
                    self._left = -2  # its CRLF follows
                continue
            if self._left < 0:
                if len(self._buf) < -self._left:
                    break
                self._buf = self._buf[-self._left :]
                self._left = 0
                continue
            eol = self._buf.find(b"\r\n")
            if eol < 0:
                break
            size = int(self._buf[:eol].split(b";")[0] or b"0", 16)
            self._buf = self._buf[eol + 2 :]
            self._left = size if size else -2
        return b"".join(out)


class WireRows:
    """The rows of a wire view, built from what a tap hears; no widget, testable alone."""

    def __init__(self, *, http_head: bool = False, max_rows: int = MAX_ROWS) -> None:
        self.rows: deque[dict[str, Any]] = deque(maxlen=max_rows)
        self.chunks = 0
        self.bytes = 0
        self._lock = threading.Lock()
        self._parser = TracingParser()
        self._http_head = http_head  # a server's bytes start with the HTTP head
        self._head = b""
        self._dechunk: _Dechunk | None = None
        self.version = 0  # bumped on every change, for the widget's flush

    def response(self, status: int, headers: list[tuple[str, str]] | tuple[Any, ...]) -> None:
        """A new response: the previous one's unfinished event (if any) is discarded."""
        with self._lock:
            self._end_locked()
            self._parser = TracingParser()
            text = f"HTTP {status} " + "; ".join(f"{k}: {v}" for k, v in headers)
            self.rows.append({"kind": "response", "text": text, "decision": "new response"})
            self.version += 1

    def end(self, reason: str = "") -> None:
        with self._lock:
            self._end_locked()
            if reason:
                self.rows.append({"kind": "end", "text": reason, "decision": "stream ended"})
            self.version += 1

    def _end_locked(self) -> None:
        for step in self._parser.end():
            self._add_step(step)

    def feed(self, data: bytes) -> None:
        """One chunk as read (or written): a chunk row, then a row per line it ended."""
        with self._lock:
            self.chunks += 1
            self.bytes += len(data)
            self.rows.append(
                {
                    "kind": "chunk",
                    "n": self.chunks,
                    "size": len(data),
                    "text": escape_bytes(data),
                    "decision": "",
                }
            )
            body = data
            if self._http_head:
                body = self._split_head(data)
            if self._dechunk is not None:
                body = self._dechunk.feed(body)
            if body:
                self._parser.feed(body)
                for step in self._parser.steps:
                    self._add_step(step)
            self.version += 1

    def _split_head(self, data: bytes) -> bytes:
        self._head += data
        end = self._head.find(b"\r\n\r\n")
        if end < 0:
            return b""
        head, body = self._head[: end + 4], self._head[end + 4 :]
        self._http_head = False
        self._head = b""
        first = head.split(b"\r\n", 1)[0].decode("latin-1")
        self.rows.append({"kind": "response", "text": escape_bytes(head), "decision": first})
        if b"transfer-encoding: chunked" in head.lower():
            self._dechunk = _Dechunk()
        return body

    def _add_step(self, step: Step) -> None:
        row: dict[str, Any] = {
            "kind": "line",
            "text": escape_bytes(step.raw),
            "decision": step.decision,
            "value": escape_bytes(step.value.encode("utf-8")),
        }
        if step.decision == DISPATCH and step.event is not None:
            ev = step.event
            row["value"] = f"{ev.type} id={ev.last_event_id!r} data={ev.data[:200]!r}"
        self.rows.append(row)

    def snapshot(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self.rows)


class WireView(anywidget.AnyWidget):
    """``WireView(es)``: a client's bytes and decisions; ``WireView.server(server, "c1")``: the
    bytes a server sends to one client (``?client=c1``), HTTP head included."""

    _esm = Path(__file__).parent / "static" / "wire.js"

    rows = traitlets.List(traitlets.Dict()).tag(sync=True)
    title = traitlets.Unicode("").tag(sync=True)

    def __init__(self, source: Any = None, *, flusher: Flusher | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.wire = WireRows(http_head=source is None)
        self.follower = Follower(self._flush, flusher)
        self.flusher = self.follower.flusher
        self._shown = -1
        if source is not None:
            self.title = f"client {getattr(source, 'url', '')}"
            self.follower.follow(source.tap(self._heard))

    @classmethod
    def server(cls, server: Any, client_id: str, **kwargs: Any) -> WireView:
        """The bytes ``server`` sends to client ``client_id``, from its next write on."""
        view = cls(None, **kwargs)
        view.title = f"server → {client_id}"

        def sent(data: bytes) -> None:
            view.wire.feed(data)
            view.flusher.request()

        view.follower.follow(server.tap(client_id, sent))
        return view

    def _heard(self, wire: Any) -> None:
        if wire.kind == "response":
            self.wire.response(wire.status, wire.headers)
        elif wire.kind == "bytes":
            self.wire.feed(wire.data)
        else:
            self.wire.end(wire.data.decode("utf-8", "replace"))
        self.flusher.request()

    def _flush(self) -> None:
        if self.wire.version == self._shown:
            return
        self._shown = self.wire.version
        self.rows = self.wire.snapshot()

    def close(self) -> None:
        """Stop listening to the source."""
        stop_following(self)
        super().close()
