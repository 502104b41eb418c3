"""The exceptions sse_nb defines, and the built-in ones it raises, each saying what happened.

Defined here; ``except SSEError`` catches these (and nothing else)::

    SSEError                      base of the exceptions below
    ├── ConnectionFailed          the client cannot (re)connect and has stopped trying
    │   ├── BadStatus             the server answered with a status other than 200 (or 204)
    │   ├── BadContentType        the response was not text/event-stream
    │   └── ReconnectLimitReached the ReconnectPolicy's max_attempts ran out
    ├── ConnectionLost            the stream broke; the client is reconnecting (not final)
    │   └── IdleTimeout           no bytes (heartbeats included) for idle_timeout seconds
    ├── StreamError               the bytes received do not make a valid event stream
    ├── SourceClosed              the client was closed while you waited for an event
    └── EventLogError             the server's event log cannot be opened or written (also an
        │                         OSError; the message names the file)
        └── LogUnavailable        the shared event log (Redis) cannot be reached: not published

Raised as well, and NOT derived from ``SSEError`` (Python's own meaning applies)::

    ValueError                    a bad argument: an id, a retry, a channel name, an origin,
    │                             a token, a heartbeat, an event type
    └── LineTooLongError          (sse_nb.protocol) a line longer than max_line_length
        └── EventTooLongError     an event longer than max_event_length
    TypeError                     an argument of the wrong type (data that is not JSON-
                                  serialisable, an id that is not a str)
    RuntimeError                  a call at the wrong moment: publishing to a closed channel,
    │                             ``port`` before ``start()``, a blocking call on the runtime
    │                             thread, ``start()`` of a mounted or finally stopped server
    └── IllegalTransition         (sse_nb.protocol) a readyState change the standard never
                                  makes: a bug in the code that asked for it
    TimeoutError                  a wait ran out: ``EventSource.next(timeout=)``, ``wait_for()``,
                                  ``sse_nb.lab.wait_until()``

The magics answer a bad command with IPython's ``UsageError`` (one line, no traceback); the
server answers bad requests with an HTTP status, never an exception in the caller.
"""

from __future__ import annotations

__all__ = [
    "BadContentType",
    "BadStatus",
    "ConnectionFailed",
    "ConnectionLost",
    "EventLogError",
    "IdleTimeout",
    "LogUnavailable",
    "ReconnectLimitReached",
    "SSEError",
    "SourceClosed",
    "StreamError",
]


class SSEError(Exception):
    """Base class of every sse_nb error."""


class ConnectionFailed(SSEError):
    """The client failed the connection (the browser's "fail the connection"): no reconnect."""


class BadStatus(ConnectionFailed):
    """The server answered with a status the standard says to fail on."""

    def __init__(self, url: str, status: int, body: str = "") -> None:
        self.url, self.status, self.body = url, status, body
        snippet = f": {body[:200]!r}" if body else ""
        super().__init__(f"{url} answered HTTP {status}, not 200 with an event stream{snippet}")


class BadContentType(ConnectionFailed):
    """The response was not ``text/event-stream``."""

    def __init__(self, url: str, content_type: str) -> None:
        self.url, self.content_type = url, content_type
        shown = content_type or "no Content-Type"
        super().__init__(f"{url} answered with {shown!r}, not 'text/event-stream'")


class ReconnectLimitReached(ConnectionFailed):
    """Every reconnect attempt the policy allowed has failed."""

    def __init__(self, url: str, attempts: int, last_error: BaseException | None = None) -> None:
        self.url, self.attempts, self.last_error = url, attempts, last_error
        why = f" (last error: {last_error})" if last_error else ""
        super().__init__(f"gave up on {url} after {attempts} reconnect attempts{why}")


class ConnectionLost(SSEError):
    """The connection dropped (network error or end of stream); a reconnect follows.

    Kept as the client's ``error`` while it is CONNECTING again, so a user can see why.
    """

    def __init__(self, url: str, why: str) -> None:
        self.url, self.why = url, why
        super().__init__(f"lost the stream from {url}: {why}; reconnecting")


class IdleTimeout(ConnectionLost):
    """Nothing arrived for ``idle_timeout`` seconds: the connection is taken for dead."""

    def __init__(self, url: str, seconds: float) -> None:
        self.seconds = seconds
        super().__init__(url, f"no bytes for {seconds:g} s (not even a heartbeat)")


class StreamError(SSEError):
    """The stream broke a limit (e.g. a line longer than the parser holds)."""


class SourceClosed(SSEError):
    """The client is CLOSED; no more events will come."""


class EventLogError(SSEError, OSError):
    """The server's event log cannot be opened or written; the message names the file.

    An ``OSError`` too, so code that handles file errors (a full disk, a missing folder) handles
    this one as well.
    """


class LogUnavailable(EventLogError):
    """The shared event log cannot be reached, so the event was not published (never dropped).

    Raised at once by ``publish()`` of a server or publisher on a Redis log; publish again once
    the log is back.
    """

    def __init__(self, where: str, why: str, message: str | None = None) -> None:
        self.where, self.why = where, why
        super().__init__(
            message or f"the event log {where} is unavailable ({why}); nothing was published"
        )
