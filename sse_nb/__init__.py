"""sse_nb: Server-Sent Events in Jupyter: a replaying server, a resumable client, widgets, magics.

``import sse_nb`` stays cheap: the server (Tornado), the clients (httpx) and the widgets are
imported on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .protocol import Event, ReadyState, ReconnectPolicy

if TYPE_CHECKING:
    from .client.source import AsyncEventSource
    from .client.sync import EventSource
    from .server.app import EventServer

__version__ = "0.2.0.dev0"

__all__ = [
    "AsyncEventSource",
    "Event",
    "EventServer",
    "EventSource",
    "ReadyState",
    "ReconnectPolicy",
]

_LAZY = {
    "EventServer": ("sse_nb.server.app", "EventServer"),
    "EventSource": ("sse_nb.client.sync", "EventSource"),
    "AsyncEventSource": ("sse_nb.client.source", "AsyncEventSource"),
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        value = getattr(importlib.import_module(module), attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'sse_nb' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext sse_nb``: register the magics (imported only now)."""
    from .magics import load_ipython_extension as _load

    _load(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    """``%unload_ext sse_nb``: stop what the magics started and remove them."""
    from .magics import unload_ipython_extension as _unload

    _unload(ipython)
