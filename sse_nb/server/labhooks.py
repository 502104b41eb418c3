"""The lab tools' hooks on ``EventServer`` (a mixin): play a recording, tap a client, faults.

The logic lives where its job does: ``play.py`` serves recordings, ``admission.py`` keeps the
byte taps, ``faults.py`` breaks connections on demand; this mixin is only their face on the
server, so ``app.py`` keeps to publishing, serving and the lifecycle.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from ..protocol.recording import Recording
from .admission import Admission
from .faults import Answer, Faults
from .lifecycle import Lifecycle
from .loop import LoopHandle
from .play import PLAY_PREFIX, Player

__all__ = ["LabHooks"]


class _Server(Protocol):
    """What the hooks use of the server they are mixed into."""

    _loop: LoopHandle
    _admission: Admission
    _player: Player
    _lifecycle: Lifecycle
    faults: Faults

    @property
    def url(self) -> str: ...

    @property
    def port(self) -> int: ...

    def start(self) -> object: ...

    def stop(self) -> None: ...


class LabHooks:
    """``play``, ``tap``, the answers ``faults`` injects and its restart, for ``EventServer``."""

    def play(
        self: _Server,
        recording: Recording | str | Path,
        *,
        speed: float | None = 1.0,
        name: str | None = None,
    ) -> str:
        """Serve a recording (a ``Recording`` or a file from ``es.record``) and return its URL.

        Each request there gets the next recorded response, byte for byte, its chunks at their
        recorded times divided by ``speed`` (``None``: as fast as possible); see ``play.py``.
        Needs the server's own listener (``start()``), not ``mount()``.
        """
        name = self._player.add(recording, speed, name)
        return self.url.rsplit("/events", 1)[0] + f"{PLAY_PREFIX}/{name}"

    def tap(self: _Server, client_id: str, callback: Callable[[bytes], None]) -> Callable[[], None]:
        """Hear every byte sent to client ``client_id`` (the ``?client=`` query parameter),
        HTTP head included, on the loop thread; returns a function that removes the tap.

        For lab tools that show the wire; it applies to the client's open connection, if any,
        and to its next ones.
        """
        self._loop.call(lambda: self._admission.tap(client_id, callback))
        return lambda: self._loop.call(lambda: self._admission.tap(client_id, None))

    def injected_answer(self: _Server, url: str) -> Answer | None:
        """The answer a fault wants for this connection attempt instead of a stream, if any."""
        return self.faults.take_answer(url)

    def _restart(self: _Server) -> None:
        """Stop and start again on the same port (``faults.restart``)."""
        port = self.port
        self.stop()
        self._lifecycle.requested_port = port
        self.start()
