"""A demo publisher for the CLI and the magics: a counter published every period."""

from __future__ import annotations

import json
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .app import EventServer

__all__ = ["TICK_EVENT", "Ticker"]

#: The event type of the ticker's counter.
TICK_EVENT = "tick"
#: Longest ``stop()`` waits for the ticker's thread to end (it wakes at once; this bounds it).
STOP_TIMEOUT = 5.0


class Ticker:
    """A demo publisher: ``{"tick": n}`` as event ``tick`` every ``period`` seconds.

    A thread of its own rather than a task on the runtime loop: ``publish()`` is thread safe,
    and a ticker that sleeps must not hold the loop that streams the events it publishes.
    """

    def __init__(self, server: EventServer, period: float) -> None:
        self.server, self.period, self.count = server, period, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sse-nb-ticker", daemon=True)

    def start(self) -> Ticker:
        """Start ticking (the first event comes one ``period`` later); returns the ticker."""
        self._thread.start()
        return self

    def _run(self) -> None:
        # Ends when stop() is called or the server stops; one publish per period.
        while not self._stop.wait(self.period) and self.server.running:
            self.count += 1
            self.server.publish(json.dumps({"tick": self.count}), event=TICK_EVENT)

    def stop(self) -> None:
        """Stop ticking and wait (at most ``STOP_TIMEOUT`` s) for the thread to end."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(STOP_TIMEOUT)
