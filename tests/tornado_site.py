"""A plain Tornado application on a free loopback port, for tests: a page's origin, a host app.

It runs on the package's runtime loop, where ``EventServer`` runs too, so an app may mount one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import tornado.httpserver
import tornado.netutil
import tornado.web

from sse_nb import _runtime

__all__ = ["EVENTSOURCE_PAGE", "page_origin", "serving"]

#: A page whose ``window.connect(url)`` opens the browser's own EventSource and keeps count:
#: ``opened`` (open events), ``ids`` (each message's lastEventId), ``gaps`` (gap signals).
EVENTSOURCE_PAGE = """<!doctype html>
<meta charset="utf-8">
<title>sse_nb test page</title>
<script>
window.ids = [];
window.opened = 0;
window.gaps = 0;
window.source = null;
window.connect = (url) => {
  const es = new EventSource(url);
  es.onopen = () => { window.opened += 1; };
  es.onmessage = (e) => { window.ids.push(e.lastEventId); };
  es.addEventListener("sse_nb.gap", () => { window.gaps += 1; });
  window.source = es;
};
</script>
"""


@contextmanager
def serving(make_app: Callable[[], tornado.web.Application]) -> Iterator[int]:
    """Serve the app ``make_app()`` builds (on the runtime loop) on 127.0.0.1; yield its port."""

    async def start() -> tuple[tornado.httpserver.HTTPServer, int]:
        sockets = tornado.netutil.bind_sockets(0, "127.0.0.1")
        http = tornado.httpserver.HTTPServer(make_app())
        http.add_sockets(sockets)
        return http, sockets[0].getsockname()[1]

    http, port = _runtime.run(start())
    try:
        yield port
    finally:

        async def stop() -> None:
            http.stop()

        _runtime.run(stop())


@contextmanager
def page_origin(html: str) -> Iterator[str]:
    """An origin (``http://127.0.0.1:PORT``) whose ``/`` answers the page ``html``."""

    class PageHandler(tornado.web.RequestHandler):
        def get(self) -> None:
            self.set_header("Content-Type", "text/html; charset=utf-8")
            self.finish(html)

    with serving(lambda: tornado.web.Application([("/", PageHandler)])) as port:
        yield f"http://127.0.0.1:{port}"
