"""A source's ReadyState machine: the standard's three steps, each change checked, logged, told.

HTML "Server-sent events" §9.2.3 names what a user agent does with a connection: "announce the
connection" (OPEN, fire ``open``), "reestablish the connection" (CONNECTING, fire ``error``,
then wait and try again) and "fail the connection" (CLOSED, fire ``error``; no reconnect). Each
is one method here. Every change is checked against ``protocol.TRANSITIONS``, recorded in a
bounded log of ``Transition`` records, and told to the inbox (which ends iteration on CLOSED)
and to ``on("state")`` listeners before ``open`` or ``error`` fires. The driver
(``source.py``) decides when; this module only says what each step changes.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from typing import NamedTuple

from ..protocol import ReadyState, check_transition
from .delivery import Delivery
from .inbox import Inbox

__all__ = ["MAX_TRANSITIONS", "StateMachine", "Transition"]

#: State transitions kept: a flapping connection must not grow memory without bound.
MAX_TRANSITIONS = 1000


class Transition(NamedTuple):
    """One change of ``ready_state`` (or one more reconnect attempt), for logs and timelines."""

    time: float
    state: ReadyState
    reason: str
    last_event_id: str


class StateMachine:
    """``ready_state``, ``error`` and the transition log of one source (its loop thread only).

    ``last_event_id()`` is read into each ``Transition``; ``delivery`` fires the listeners.
    """

    def __init__(self, inbox: Inbox, delivery: Delivery, last_event_id: Callable[[], str]) -> None:
        self.state = ReadyState.CONNECTING
        #: Why the source is CLOSED or CONNECTING again (``None`` while all is well).
        self.error: BaseException | None = None
        #: Connections announced so far: a reconnect loop restarts its backoff after each.
        self.opens = 0
        self._inbox = inbox
        self._delivery = delivery
        self._last_event_id = last_event_id
        self._log: deque[Transition] = deque(maxlen=MAX_TRANSITIONS)
        self.record(ReadyState.CONNECTING, "created")

    @property
    def transitions(self) -> list[Transition]:
        """The timestamped log of state changes, oldest first."""
        return list(self._log)

    def record(self, state: ReadyState, reason: str) -> Transition:
        """Log a step that is no change of state (e.g. one more reconnect attempt)."""
        t = Transition(time.time(), state, reason, self._last_event_id())
        self._log.append(t)
        return t

    def change(self, state: ReadyState, reason: str) -> None:
        """Go to ``state`` (``IllegalTransition`` if the standard has no such step); tell it."""
        check_transition(self.state, state)
        self.state = state
        self._inbox.state_changed(state, self.error)
        self._delivery.emit("state", self.record(state, reason))

    def announce(self) -> None:
        """HTML §9.2.3 "announce the connection": OPEN, then fire ``open``."""
        self.error = None
        self.opens += 1
        self.change(ReadyState.OPEN, "connected")
        self._delivery.emit("open", None)

    def reestablish(self, lost: BaseException) -> None:
        """HTML §9.2.3 "reestablish the connection": CONNECTING, then fire ``error`` (the
        caller waits and tries again)."""
        self.error = lost
        self.change(ReadyState.CONNECTING, str(lost))
        self._delivery.emit("error", None)

    def fail(self, error: BaseException | None, reason: str) -> None:
        """HTML §9.2.3 "fail the connection": CLOSED, then fire ``error``; no reconnect."""
        self.error = error
        self.change(ReadyState.CLOSED, reason)
        self._delivery.emit("error", None)
