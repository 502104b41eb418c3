"""The recording format: status, headers and raw chunks of responses with their times, in JSON.

A recording is written by a client (``es.record(path)``, ``sse-nb record``) and served back by
a server (``EventServer.play``, ``sse-nb play``), so its format lives here, below both. One JSON
object per line:

- first, ``{"sse_nb_recording": 1, "url": ..., "started": <epoch s>}``;
- for each response, ``{"t": <s since start>, "status": 200, "headers": [[name, value], ...]}``;
- for each chunk of its body, ``{"t": <s>, "data": <text>}`` when the bytes are UTF-8, else
  ``{"t": <s>, "b64": <base64>}``, so that a replay is byte-identical either way.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["FORMAT_VERSION", "Recording", "Response", "chunk_line", "header_line", "response_line"]

#: Version written in a recording's first line; a reader refuses any other.
FORMAT_VERSION = 1


@dataclass
class Response:
    """One recorded response: what a replay answers one connection attempt with."""

    time: float
    status: int
    headers: list[tuple[str, str]]
    #: (seconds since the recording started, raw bytes), in arrival order.
    chunks: list[tuple[float, bytes]] = field(default_factory=list)

    @property
    def body(self) -> bytes:
        return b"".join(data for _, data in self.chunks)


@dataclass
class Recording:
    """A parsed recording: ``responses[n]`` answers the n-th connection attempt of a replay."""

    url: str
    started: float
    responses: list[Response]

    @classmethod
    def load(cls, path: str | Path) -> Recording:
        """Read a recording file; ``ValueError`` names the first line that is not one."""
        with open(path, encoding="utf-8") as f:
            return cls.parse(f.read().splitlines(), str(path))

    @classmethod
    def parse(cls, lines: list[str], source: str = "recording") -> Recording:
        rec: Recording | None = None
        for n, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
                if rec is None:
                    if obj.get("sse_nb_recording") != FORMAT_VERSION:
                        raise ValueError(f"not an sse_nb recording of format {FORMAT_VERSION}")
                    rec = cls(str(obj.get("url", "")), float(obj.get("started", 0.0)), [])
                elif "status" in obj:
                    headers = [(str(k), str(v)) for k, v in obj["headers"]]
                    rec.responses.append(Response(float(obj["t"]), int(obj["status"]), headers))
                else:
                    data = obj["data"].encode() if "data" in obj else base64.b64decode(obj["b64"])
                    if not rec.responses:
                        raise ValueError("a chunk before any response")
                    rec.responses[-1].chunks.append((float(obj["t"]), data))
            except (ValueError, KeyError, TypeError, AttributeError) as exc:
                raise ValueError(f"{source}, line {n}: {exc}") from None
        if rec is None:
            raise ValueError(f"{source}: empty, not an sse_nb recording")
        return rec


def header_line(url: str, started: float) -> str:
    return json.dumps({"sse_nb_recording": FORMAT_VERSION, "url": url, "started": started})


def response_line(t: float, status: int, headers: list[tuple[str, str]]) -> str:
    return json.dumps({"t": round(t, 6), "status": status, "headers": [list(h) for h in headers]})


def chunk_line(t: float, data: bytes) -> str:
    try:
        return json.dumps({"t": round(t, 6), "data": data.decode("utf-8")})
    except UnicodeDecodeError:
        return json.dumps({"t": round(t, 6), "b64": base64.b64encode(data).decode("ascii")})
