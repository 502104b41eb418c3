"""The server's callbacks: who is told when a client connects, disconnects or anything changes.

They run on the loop thread; one that raises is logged and the others still run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from .connection import ClientInfo

__all__ = ["Callback", "Hooks"]

logger = logging.getLogger("sse_nb.server")

Callback = Callable[[ClientInfo], Any]


class Hooks:
    """Three lists of callbacks: on connect, on disconnect, on change."""

    def __init__(self) -> None:
        self.connect: list[Callback] = []
        self.disconnect: list[Callback] = []
        self.change: list[Callable[[], Any]] = []

    @staticmethod
    def add(callbacks: list[Any], callback: Any) -> Callable[[], None]:
        """Add ``callback`` to ``callbacks``; returns the function that removes it."""
        callbacks.append(callback)

        def unsubscribe() -> None:
            if callback in callbacks:
                callbacks.remove(callback)

        return unsubscribe

    @staticmethod
    def emit(callbacks: list[Callback], info: ClientInfo) -> None:
        for cb in list(callbacks):
            try:
                cb(info)
            except Exception:
                logger.exception("sse_nb: a client callback raised")

    def changed(self) -> None:
        for cb in list(self.change):
            try:
                cb()
            except Exception:
                logger.exception("sse_nb: an on_change callback raised")
