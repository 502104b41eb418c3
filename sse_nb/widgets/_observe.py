"""What every view shares: the subscriptions it holds on its source, ended by ``close()``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["Subscriptions", "describe_error", "stop_following"]

#: Characters of an error's text shown in a view: one readable line, not a traceback.
MAX_ERROR_CHARS = 300


class Subscriptions:
    """The unsubscribe callables a view got from its source's ``on(...)`` / ``on_change(...)``."""

    def __init__(self) -> None:
        self._undo: list[Callable[[], Any]] = []

    def add(self, unsubscribe: Callable[[], Any]) -> None:
        self._undo.append(unsubscribe)

    def close(self) -> None:
        undo, self._undo = self._undo, []
        for fn in undo:
            fn()


def stop_following(view: Any) -> None:
    """End a view's subscriptions, and its flusher when it owns one (a panel shares its own).

    The attributes are absent when ``__init__`` failed: ipywidgets still calls ``close()`` from
    ``__del__`` then.
    """
    subs = getattr(view, "_subs", None)
    if subs is None:
        return
    subs.close()
    if view._owns_flusher:
        view.flusher.close()


def describe_error(error: BaseException | None) -> str:
    """A one-line text for an error (empty when there is none)."""
    if error is None:
        return ""
    text = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
    return text[:MAX_ERROR_CHARS]
