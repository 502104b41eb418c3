"""``RedisPublisher``: append events to the Redis Streams event log from any process.

A worker or a notebook that serves no clients publishes here; every server process on the same
log (``RedisEventLog`` with the same URL and prefix) hands the event to its subscribers.

>>> with RedisPublisher("redis://127.0.0.1:6379/0") as pub:      # doctest: +SKIP
...     pub.publish({"price": 3})                                 # '1717171717171-0'

Needs the optional extra ``sse_nb[redis]`` (the ``redis`` package); importing this module does
not, only creating a publisher does.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from ..errors import LogUnavailable
from .channels import CHANNEL_PATTERN, event_text
from .log import DEFAULT_HISTORY

if TYPE_CHECKING:
    import redis

__all__ = [
    "DEFAULT_PREFIX",
    "LOG_TIMEOUT",
    "STREAM_ID_PATTERN",
    "RedisPublisher",
    "redact_url",
    "redis_module",
    "stream_key",
]

#: Key prefix of the streams: ``<prefix>:<channel>``.
DEFAULT_PREFIX = "sse_nb"
#: Seconds a Redis connect or reply may take before the log counts as unavailable: far above a
#: healthy round trip, short enough that a publisher hears "unavailable" at once.
LOG_TIMEOUT = 5.0
#: A Redis stream entry id, ``<ms>-<seq>``: the only ids a Redis log can resume after.
STREAM_ID_PATTERN = r"[0-9]{1,20}-[0-9]{1,20}"

_STREAM_ID = re.compile(STREAM_ID_PATTERN)
_CHANNEL = re.compile(CHANNEL_PATTERN)
#: What an unreachable Redis raises (redis-py's own errors and the socket's).
_UNREACHABLE_NAMES = ("ConnectionError", "TimeoutError")


def redis_module() -> Any:
    """The ``redis`` package, or an ImportError that says in one line how to get it."""
    try:
        import redis
    except ImportError:
        raise ImportError(
            "the Redis event log needs the redis package: pip install 'sse_nb[redis]'"
        ) from None
    return redis


def stream_key(prefix: str, channel: str) -> str:
    """The stream holding ``channel``'s events."""
    return f"{prefix}:{channel}"


def parse_stream_id(value: str | None) -> tuple[int, int] | None:
    """``"12-3"`` -> ``(12, 3)``: stream ids compare as these tuples; ``None`` if not one."""
    if value is None or not _STREAM_ID.fullmatch(value):
        return None
    ms, seq = value.split("-")
    return int(ms), int(seq)


def redact_url(url: str) -> str:
    """``url`` with its password replaced by ``***``: safe to print and log."""
    try:
        parts = urlsplit(url)
        if parts.password is None:
            return url
        user = parts.username or ""
        host = parts.hostname or ""
        if ":" in host:
            host = f"[{host}]"
        port = f":{parts.port}" if parts.port is not None else ""
        return urlunsplit(parts._replace(netloc=f"{user}:***@{host}{port}"))
    except ValueError:
        return "<a Redis URL that does not parse>"


def unreachable(exc: BaseException) -> bool:
    """True for the errors of a Redis that cannot be reached (not of a refused command)."""
    import redis as _redis

    return isinstance(exc, (_redis.ConnectionError, _redis.TimeoutError, OSError))


def sync_client(url: str, timeout: float) -> redis.Redis:
    """A blocking client that fails fast: no retries, so an outage surfaces at once."""
    rd = redis_module()
    retry = rd.retry.Retry(rd.backoff.NoBackoff(), 0)
    client: redis.Redis = rd.Redis.from_url(
        url,
        decode_responses=True,
        socket_connect_timeout=timeout,
        socket_timeout=timeout,
        retry=retry,
    )
    return client


class RedisPublisher:
    """Publish to a Redis Streams event log; thread safe; ``publish()`` returns the stream id.

    ``maxlen``: entries kept per channel (``XADD MAXLEN``); a client resuming after a trimmed
    id gets the gap signal. ``approximate``: trim with ``~`` (whole nodes, cheaper; at least
    ``maxlen`` kept) or exactly. Publishers and servers of one log should agree on both.
    """

    def __init__(
        self,
        url: str,
        *,
        prefix: str = DEFAULT_PREFIX,
        maxlen: int = DEFAULT_HISTORY,
        approximate: bool = True,
        timeout: float = LOG_TIMEOUT,
    ) -> None:
        if isinstance(maxlen, bool) or not isinstance(maxlen, int) or maxlen < 1:
            raise ValueError(f"maxlen must be a positive int, not {maxlen!r}")
        if not isinstance(prefix, str) or not prefix:
            raise ValueError(f"prefix must be a non-empty str, not {prefix!r}")
        self.url = redact_url(url)
        self.prefix = prefix
        self.maxlen = maxlen
        self.approximate = approximate
        self._client = sync_client(url, timeout)
        self._lock = threading.Lock()
        self._closed = False
        self._last: dict[str, str] = {}
        #: Called with ``None`` after a publish that reached Redis, with the error after one that
        #: did not (a ``RedisEventLog`` follows the log's availability through it).
        self.on_outcome: Callable[[BaseException | None], None] | None = None
        #: Events published by this publisher.
        self.published = 0

    def publish(
        self,
        data: Any,
        *,
        event: str | None = None,
        id: str | None = None,
        channel: str = "default",
    ) -> str:
        """Append one event to ``channel``'s stream; returns the id Redis gave it.

        ``data`` is a ``str`` or any JSON-serialisable value. ``id`` is normally left to Redis;
        a given one must be a stream id (``<ms>-<seq>``) above the stream's last. Raises
        :class:`~sse_nb.errors.LogUnavailable` at once when Redis cannot be reached.
        """
        text = event_text(data)
        if not isinstance(channel, str) or not _CHANNEL.fullmatch(channel):
            raise ValueError(
                f"channel {channel!r} is not a valid name: 1-128 of A-Z a-z 0-9 _ . : ~ -"
            )
        if event is not None and (not isinstance(event, str) or any(c in event for c in "\r\n")):
            raise ValueError(f"event type {event!r} must be a str without CR or LF")
        return self.append(channel, text, event, id)

    def append(self, channel: str, text: str, event: str | None, id: str | None) -> str:
        """``XADD`` checked input (what ``publish`` and a server's ``publish`` end in)."""
        if self._closed:
            raise RuntimeError("this publisher is closed")
        if id is not None and parse_stream_id(id) is None:
            raise ValueError(
                f"id {id!r} is not a Redis stream id (<ms>-<seq>); leave id out to let Redis "
                "assign one"
            )
        fields = {"data": text} if event is None else {"data": text, "event": event}
        rd = redis_module()
        try:
            new_id = self._client.xadd(
                stream_key(self.prefix, channel),
                fields,  # type: ignore[arg-type]
                id=id if id is not None else "*",
                maxlen=self.maxlen,
                approximate=self.approximate,
            )
        except rd.ResponseError as exc:
            if id is not None:
                raise ValueError(f"Redis refused id {id!r}: {exc}") from None
            raise
        except Exception as exc:
            if not unreachable(exc):
                raise
            self._report(exc)
            raise LogUnavailable(self.url, f"{type(exc).__name__}: {exc}") from None
        self._report(None)
        eid = str(new_id)
        with self._lock:
            self.published += 1
            self._last[channel] = eid
        return eid

    @property
    def client(self) -> redis.Redis:
        """The blocking Redis client (thread safe), for reads next to the publishes."""
        return self._client

    def last_published(self, channel: str) -> str | None:
        """Id of the newest event this publisher appended to ``channel``."""
        return self._last.get(channel)

    def _report(self, error: BaseException | None) -> None:
        if self.on_outcome is not None:
            self.on_outcome(error)

    def close(self) -> None:
        """Release the connections (idempotent)."""
        if not self._closed:
            self._closed = True
            self._client.close()

    def __enter__(self) -> RedisPublisher:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<RedisPublisher {self.url} prefix={self.prefix!r} published={self.published}>"


def now_text(epoch: float) -> str:
    """``"12:03:04 UTC"``: how "unavailable since" is shown."""
    return time.strftime("%H:%M:%S UTC", time.gmtime(epoch))
