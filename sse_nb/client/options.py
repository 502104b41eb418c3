"""The options of a source, spelled once for both faces: ``AsyncEventSource`` and ``EventSource``.

Both constructors take ``url`` and ``**options: Unpack[SourceOptions]``: a type checker checks
every keyword, and a new option is one line in ``SourceOptions``, its default in ``DEFAULTS`` and
its check (if any) in ``checked``, all here. ``tests/test_client_options.py`` keeps the three
in step.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol, TypedDict

import httpx

from ..protocol import ReconnectPolicy, check_id

__all__ = [
    "DEFAULTS",
    "DEFAULT_HISTORY",
    "Listener",
    "ServerLike",
    "SourceOptions",
    "checked",
    "target",
]

#: Events kept in ``history`` by default: enough for a widget's table, bounded for long streams.
DEFAULT_HISTORY = 1000

#: A listener: called with the ``Event`` (``"message"``, named types, ``"*"``), the
#: ``Transition`` (``"state"``) or ``None`` (``"open"``, ``"error"``).
Listener = Callable[[Any], None]


class SourceOptions(TypedDict, total=False):
    """The keyword arguments of ``AsyncEventSource(url, ...)`` and ``EventSource(url, ...)``."""

    #: Resume from this id on the first connect (sent as ``Last-Event-ID``); no CR, LF or NUL.
    last_event_id: str | None
    #: The request's method (``"GET"``); ``headers``, ``content`` and ``json`` make the rest of
    #: it, resent on every reconnect. ``Accept``, ``Cache-Control`` and ``Last-Event-ID`` are
    #: always the source's own.
    method: str
    headers: Mapping[str, str] | None
    content: bytes | str | None
    json: Any
    #: How to wait between attempts (``None``: ``ReconnectPolicy()``).
    reconnect: ReconnectPolicy | None
    #: Seconds without a byte (heartbeat comments count; waiting for the response headers too)
    #: after which a connection is taken for dead and replaced (noticed within a sixteenth more);
    #: ``None``, as in a browser, waits forever.
    idle_timeout: float | None
    #: Events kept in ``history``.
    history: int
    #: An ``httpx.AsyncClient`` to send with (auth, proxies, transports); never closed by the
    #: source. ``None``: the source makes its own.
    client: httpx.AsyncClient | None
    #: Drop events whose id was delivered already (a replay overlap); ``False`` for streams
    #: whose ids are not unique.
    dedupe: bool
    #: ``{type: callback}`` registered before the first byte, so not even the first replayed
    #: event is missed (``on()`` after the constructor may race a fast replay).
    listeners: Mapping[str, Listener] | None


#: Each option's value when it is not given.
DEFAULTS: SourceOptions = {
    "last_event_id": None,
    "method": "GET",
    "headers": None,
    "content": None,
    "json": None,
    "reconnect": None,
    "idle_timeout": None,
    "history": DEFAULT_HISTORY,
    "client": None,
    "dedupe": True,
    "listeners": None,
}


def checked(options: SourceOptions) -> SourceOptions:
    """Every option with a value: the given ones checked (``ValueError`` saying which), the rest
    their defaults. ``method`` comes back upper-case, ``reconnect`` never ``None``."""
    unknown = set(options) - set(DEFAULTS)
    if unknown:  # reached only by callers a type checker does not see
        raise TypeError(f"unknown option(s): {', '.join(sorted(unknown))}")
    opts: SourceOptions = {**DEFAULTS, **options}
    if opts["content"] is not None and opts["json"] is not None:
        raise ValueError("give content or json, not both")
    idle = opts["idle_timeout"]
    if idle is not None and not idle > 0:
        raise ValueError(f"idle_timeout must be a positive number of seconds, not {idle}")
    if opts["history"] < 0:
        raise ValueError("history must be >= 0")
    if opts["last_event_id"]:
        check_id(opts["last_event_id"], "last_event_id", resumable=False)
    opts["method"] = opts["method"].upper()
    if opts["reconnect"] is None:
        opts["reconnect"] = ReconnectPolicy()
    return opts


class ServerLike(Protocol):
    """A server given instead of a url (``EventServer`` is one): its url and its token."""

    @property
    def url(self) -> str: ...

    #: Sent as ``Authorization: Bearer <token>`` when set.
    token: str | None


def target(url_or_server: str | ServerLike, options: SourceOptions) -> tuple[str, SourceOptions]:
    """The url to open and the options to open it with.

    Given a server object, its token goes into the ``Authorization`` header (unless the caller
    set one), so that a client made from a server needs no token repeated by hand.
    """
    if isinstance(url_or_server, str):
        return url_or_server, options
    url, token = url_or_server.url, url_or_server.token
    if not token:
        return url, options
    headers = dict(options.get("headers") or {})
    if not any(name.lower() == "authorization" for name in headers):
        headers["Authorization"] = f"Bearer {token}"
    return url, {**options, "headers": headers}
