"""The resumable client: ``AsyncEventSource`` (asyncio and trio) and ``EventSource`` (sync).

``options`` spells the keywords both take; ``connection`` makes one request and checks the
response; ``source`` runs the reconnect loop; ``readystate`` is its state machine (announce,
reestablish, fail; the transition log); ``delivery`` takes each chunk of events to history,
listeners and the inbox; ``dedupe`` drops events a replay repeats; ``inbox`` holds events for
``async for``; ``sync`` runs a source on the runtime thread for notebooks and scripts, with a
``ThreadInbox``; ``tap`` is what a byte tap hears, and the recorder built on it.
docs/client-lifecycle.md draws how they fit together.
"""

from .dedupe import DEDUP_WINDOW
from .delivery import Received
from .inbox import AsyncInbox, Inbox
from .options import DEFAULT_HISTORY, SourceOptions
from .readystate import Transition
from .source import AsyncEventSource
from .sync import EventSource, ThreadInbox
from .tap import Recorder, Wire

__all__ = [
    "DEDUP_WINDOW",
    "DEFAULT_HISTORY",
    "AsyncEventSource",
    "AsyncInbox",
    "EventSource",
    "Inbox",
    "Received",
    "Recorder",
    "SourceOptions",
    "ThreadInbox",
    "Transition",
    "Wire",
]
