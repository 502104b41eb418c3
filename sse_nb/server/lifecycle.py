"""Where a server listens and how it stops: its own port, or a route table in someone's Tornado app.

``start`` binds a listener (``binding.py``) on the loop thread; ``mount`` adds the routes to an
existing app instead. Either way the heartbeat and, for a shared log (Redis), the log's tail run
while the server listens. ``stop`` ends every stream ("server stopped"), stops both and frees
the port; a final stop (``final=True``) first answers every (re)connect with 204 for ``linger``
seconds, so reconnecting clients hear "stop" before the port goes away. ``EventServer`` is the
face (``start``, ``mount``, ``stop``); this module does the work, on the server's loop thread.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import tornado.httpserver
import tornado.web

from .binding import addresses, bind, unbind
from .channels import Pipeline
from .heartbeat import Heartbeat
from .listener import Listener
from .loop import CALL_TIMEOUT, LoopHandle
from .reasons import CloseReason
from .shared import SharedLog

__all__ = ["FINAL_LINGER", "Lifecycle"]

#: Seconds ``stop(final=True)`` keeps answering 204 before freeing the port: longer than a
#: browser's default reconnection delay (a few seconds), so reconnecting clients hear "stop".
FINAL_LINGER = 5.0


class Lifecycle:
    """The listening state of one ``EventServer``: not started, listening, mounted, stopped."""

    def __init__(
        self,
        loop: LoopHandle,
        pipeline: Pipeline,
        shared: SharedLog | None,
        *,
        port: int,
        reuse_port: bool,
        heartbeat: float | None,
    ) -> None:
        #: The port asked for (0: a free one); a restart asks for the one it had.
        self.requested_port = port
        #: The port listened on, once started.
        self.port: int | None = None
        #: Stopped for good (``stop(final=True)``): (re)connects are answered 204.
        self.final = False
        self.mounted = False
        self.http: tornado.httpserver.HTTPServer | None = None
        self.listener: Listener | None = None
        self._reuse_port = reuse_port
        self._loop = loop
        self._pipeline = pipeline
        self._shared = shared
        self._heartbeat = Heartbeat(heartbeat, pipeline.subscribers, self.listening)
        self._background: set[asyncio.Future[None]] = set()

    def listening(self) -> bool:
        """Whether streams may be served (own port or mounted): the heartbeat ticks meanwhile."""
        return self.http is not None or self.mounted

    @property
    def running(self) -> bool:
        """Listening on its own port, and not stopped for good."""
        return self.http is not None and not self.final

    def addresses(self) -> list[str]:
        """The ``host:port`` addresses really listened on (``0.0.0.0``: every interface)."""
        return addresses(self.listener)

    def mount(
        self,
        app: tornado.web.Application,
        handlers: list[Any],
        loop: asyncio.AbstractEventLoop | None,
    ) -> None:
        """Add ``handlers`` to ``app``, whose ``loop`` (default: the running one) serves them."""
        if self.http is not None:
            raise RuntimeError("the server is already started on its own port")
        if loop is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                raise RuntimeError(
                    "mount() needs the app's event loop: call it from that loop or pass loop="
                ) from None
        self._loop.loop = loop
        self.mounted = True
        app.add_handlers(r".*$", handlers)
        loop.call_soon_threadsafe(self._heartbeat.start, loop)
        if self._shared is not None:
            loop.call_soon_threadsafe(self._shared.attach, self._pipeline, loop)

    def start(self, handlers: list[Any], host: str, max_connections: int | None) -> bool:
        """Serve ``handlers`` on ``host`` (from any thread); False if it already listened."""
        if self.mounted:
            raise RuntimeError("this server is mounted into an existing Tornado app")
        if self.final:
            raise RuntimeError("this server was stopped for good (stop(final=True))")

        def start_on_loop() -> bool:
            if self.http is not None:
                return False
            self.http, self.listener = bind(
                handlers,
                host,
                self.requested_port,
                reuse_port=self._reuse_port,
                max_connections=max_connections,
            )
            self.port = self.listener.sockets[0].getsockname()[1]
            self._heartbeat.start(self._loop.get())
            if self._shared is not None:
                self._shared.attach(self._pipeline, self._loop.get())
            return True

        return self._loop.call(start_on_loop)

    def stop(self, final: bool, linger: float) -> None:
        """End every stream, stop the heartbeat and the shared log's tail, free the port (after
        ``linger`` s of 204 answers when ``final``); from another thread, wait for all that."""
        if final:
            self.final = True
        done = threading.Event()

        def stop_on_loop() -> None:
            if self._pipeline.pending:
                self._pipeline.drain()
            for conn in self._pipeline.subscribers():
                conn.close(CloseReason.SERVER_STOPPED)
            if self._shared is not None:
                self._shared.detach()  # ends pending joins too
            self._heartbeat.stop()
            if final and linger > 0 and self.http is not None:

                def free_port() -> None:
                    self._close_listener()
                    done.set()

                self._loop.get().call_later(linger, free_port)
            else:
                self._close_listener()
                done.set()

        self._loop.call(stop_on_loop)
        if not self._loop.here():
            done.wait(linger + CALL_TIMEOUT)

    def _close_listener(self) -> None:
        http, self.http = self.http, None
        if http is None:
            return
        task = unbind(http, self.listener)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
