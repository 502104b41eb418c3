"""What every view shares: a ``Follower`` (its subscriptions and its flusher), and error text."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ._batch import Flusher

__all__ = ["MAX_ERROR_CHARS", "Follower", "describe_error", "stop_following"]

#: Characters of an error's text shown in a view: one readable line, not a traceback.
MAX_ERROR_CHARS = 300


class Follower:
    """How a view follows its source: one flush sink, the subscriptions it holds, one ``close``.

    ``flusher`` is shared when given (the views of one panel flush together) and then left
    running on ``close``; a flusher the follower made itself is closed with it. ``request`` takes
    (and ignores) one argument, so it can be given to ``source.on(...)`` as it is.
    """

    def __init__(self, sink: Callable[[], None], flusher: Flusher | None = None) -> None:
        self.owns_flusher = flusher is None
        self.flusher = flusher if flusher is not None else Flusher()
        self.flusher.add(sink)
        self._undo: list[Callable[[], Any]] = []

    def follow(self, unsubscribe: Callable[[], Any]) -> None:
        """Keep the function that ends one subscription, for ``close``."""
        self._undo.append(unsubscribe)

    def request(self, _arg: object = None) -> None:
        """Ask for a flush soon (callable from any thread, any number of times)."""
        self.flusher.request()

    def close(self) -> None:
        """End every subscription, and the flusher when this follower made it."""
        undo, self._undo = self._undo, []
        for fn in undo:
            fn()
        if self.owns_flusher:
            self.flusher.close()


def stop_following(view: Any) -> None:
    """``view.follower.close()``, if the view got as far as making one.

    ipywidgets calls ``close()`` from ``__del__`` even when ``__init__`` failed.
    """
    follower = getattr(view, "follower", None)
    if isinstance(follower, Follower):
        follower.close()


def describe_error(error: BaseException | None) -> str:
    """A one-line text for an error (empty when there is none)."""
    if error is None:
        return ""
    text = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
    return text[:MAX_ERROR_CHARS]
