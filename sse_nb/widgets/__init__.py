"""Widgets that show clients and servers at work; they observe, they never open sockets.

Imported lazily (``import sse_nb`` does not load ipywidgets): ``from sse_nb.widgets import ...``.
``contracts`` spells what a view needs from a client or a server and every message it exchanges
with its page; ``Follower`` is how a view follows its source, flushes and stops, and
``stop_following`` is what a view's ``close`` calls.
"""

from __future__ import annotations

from ._batch import FLUSH_HZ, Flusher
from ._observe import Follower, stop_following
from .browser import BrowserEventSource
from .client import ClientPanel
from .server import ServerPanel
from .status import StatusLight
from .table import PAGE_ROWS, EventTable
from .timeline import Timeline

__all__ = [
    "FLUSH_HZ",
    "PAGE_ROWS",
    "BrowserEventSource",
    "ClientPanel",
    "EventTable",
    "Flusher",
    "Follower",
    "ServerPanel",
    "StatusLight",
    "Timeline",
    "stop_following",
]
