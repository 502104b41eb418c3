"""When to try again: the reconnection delay as a pure function of the attempt number."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import NamedTuple

__all__ = ["DEFAULT_DELAY", "ReconnectPolicy", "Wait"]

#: Seconds to wait before reconnecting when the server sent no ``retry:``; browsers use a few
#: seconds (the standard leaves the initial reconnection time to the user agent).
DEFAULT_DELAY = 3.0


class Wait(NamedTuple):
    """One planned wait of a schedule, in seconds, with the band its jitter may fall in."""

    attempt: int
    delay: float
    low: float
    base: float
    high: float


@dataclass(frozen=True)
class ReconnectPolicy:
    """How a client waits between connection attempts.

    ``attempt`` counts failed attempts since the last successful connection (0 for the first
    reconnect after a connection that worked). The base is the server's ``retry:`` when it sent
    one, else ``delay``; each further failed attempt multiplies it by ``backoff`` up to
    ``max_delay``; ``jitter`` spreads it by up to that fraction either way so that many clients
    dropped together do not return together.

    ``ReconnectPolicy(backoff=1.0, jitter=0.0)`` is exactly the browser: a constant delay, forever.
    """

    delay: float = DEFAULT_DELAY
    backoff: float = 2.0
    max_delay: float = 30.0
    jitter: float = 0.1
    max_attempts: int | None = None

    def __post_init__(self) -> None:
        for name in ("delay", "backoff", "max_delay", "jitter"):
            if not math.isfinite(getattr(self, name)):
                raise ValueError(f"{name} must be a finite number, not {getattr(self, name)!r}")
        if self.delay < 0 or self.max_delay < 0:
            raise ValueError("delay and max_delay must be >= 0")
        if self.backoff < 1.0:
            raise ValueError("backoff must be >= 1.0 (1.0 means a constant delay)")
        if not 0.0 <= self.jitter <= 1.0:
            raise ValueError("jitter must be between 0.0 and 1.0")
        if self.max_attempts is not None and self.max_attempts < 0:
            raise ValueError("max_attempts must be >= 0 or None")

    def allows(self, attempt: int) -> bool:
        """Whether reconnect attempt number ``attempt`` (0-based) may be made."""
        return self.max_attempts is None or attempt < self.max_attempts

    def delay_for(
        self, attempt: int, retry_ms: int | None = None, *, rand: float | None = None
    ) -> float:
        """Seconds to wait before attempt ``attempt``; ``rand`` in [0, 1] fixes the jitter.

        ``retry_ms`` is the event stream's reconnection time (the server's ``retry:``), which
        the standard says to wait; it replaces ``delay`` as the base.
        """
        if retry_ms is not None and retry_ms < 0:
            raise ValueError(f"retry_ms must be >= 0, not {retry_ms!r}")
        if rand is not None and not 0.0 <= rand <= 1.0:
            raise ValueError(f"rand must be between 0 and 1, not {rand!r}")
        base = retry_ms / 1000.0 if retry_ms is not None else self.delay
        # A server's retry: may ask for more than max_delay; honour the server for the base.
        cap = max(self.max_delay, base)
        if base <= 0.0:
            wait = 0.0
        else:
            try:
                wait = min(base * self.backoff ** max(attempt, 0), cap)
            except OverflowError:  # thousands of attempts: long since at the cap
                wait = cap
        if self.jitter:
            r = random.random() if rand is None else rand
            wait *= 1.0 + self.jitter * (2.0 * r - 1.0)
        return max(wait, 0.0)

    def schedule(
        self, n: int, retry_ms: int | None = None, *, seed: int | None = None
    ) -> list[Wait]:
        """The waits before attempts ``0 .. n-1`` after a connection that worked, if all fail.

        ``seed`` fixes the jitter draws (the same seed, the same schedule); each ``Wait`` also
        gives the band the jitter may reach (``low``, ``high``) around the jitter-free ``base``.
        Attempts past ``max_attempts`` are not made, so the schedule stops there.
        """
        if n < 0:
            raise ValueError(f"n must be >= 0, not {n!r}")
        rng = random.Random(seed)
        out = []
        for attempt in range(n):
            if not self.allows(attempt):
                break
            out.append(
                Wait(
                    attempt,
                    self.delay_for(attempt, retry_ms, rand=rng.random()),
                    self.delay_for(attempt, retry_ms, rand=0.0),
                    self.delay_for(attempt, retry_ms, rand=0.5),
                    self.delay_for(attempt, retry_ms, rand=1.0),
                )
            )
        return out
