"""The doctor: which routes from the page reach a server in this kernel, and what is wrong on each.

Theory of operation. ``doctor()`` starts a probe server in the kernel (a random token, a
heartbeat every ``PROBE_HEARTBEAT`` s) and one ``BrowserEventSource`` per route ("direct": the
page connects to the server's own port; "proxy": through jupyter-server-proxy's
``<base>proxy/<port>/``). When the page says hello, each asks the page for a probe
(``BrowserEventSource.probe``): the page reads its route with ``fetch()`` for ``PROBE_SECONDS``.
As soon as the server registers a probe's connection, the kernel publishes ``PROBE_EVENTS``
events on that route's channel, ``PROBE_SPACING`` s apart, noting when each was published,
and keeps the ``Accept`` header the probe's request reached the server with (the page sends
``text/event-stream``; a proxy on the route may drop or replace it). The page reports the
status, headers, and when each event and heartbeat arrived; :func:`judge` and
:func:`accept_finding` turn that into findings, each with its fix. The page's messages reach
the kernel between cells, so the report fills in after the cell that made it has finished; a
page that never answers (a front end without widgets) is reported after ``PAGE_TIMEOUT`` s.

Arrival times are the page's clock against the kernel's: exact when both run on one machine,
off by the clocks' difference otherwise (one-by-one versus burst compares the page's times with
each other only, so it holds either way).

``check_url(url)`` is the part that needs no page (``sse-nb doctor URL``): the same judgement
for one connection from this process, through the public client and its byte tap; sse_nb's
server echoes the ``Accept`` it received in ``X-SSE-NB-Accept``, which tells this side what a
proxy in between passed on.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import importlib.util
import statistics
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from .. import _runtime
from ..client import AsyncEventSource
from ..client.tap import Wire
from ..errors import SSEError
from ..protocol import ReconnectPolicy
from ..protocol.accept import AcceptVerdict, accept_verdict
from ..protocol.state import EVENT_STREAM
from ..server import ACCEPT_HEADER, NO_ACCEPT, ClientInfo, EventServer
from ..widgets import BrowserEventSource
from ..widgets.contracts import BrowserProbed

__all__ = [
    "BURST_FRACTION",
    "CONNECTIONS_PER_ORIGIN",
    "PAGE_TIMEOUT",
    "PROBE_EVENTS",
    "PROBE_HEARTBEAT",
    "PROBE_SECONDS",
    "PROBE_SPACING",
    "ROUTES",
    "SLOW_ARRIVAL",
    "WATCH_MARGIN",
    "Doctor",
    "Finding",
    "Report",
    "accept_finding",
    "check_url",
    "doctor",
    "judge",
]

#: Events published per route: enough to tell one-by-one arrival from a burst.
PROBE_EVENTS = 5
#: Seconds between them: far above a page's timer resolution and a loaded machine's jitter.
PROBE_SPACING = 0.4
#: The probe server's heartbeat: several fall within one probe.
PROBE_HEARTBEAT = 1.0
#: Seconds the page reads each route: the events (1.6 s) after a slow start, and heartbeats.
PROBE_SECONDS = 6.0
#: Seconds to wait for the page's hello and probes before reporting what is missing.
PAGE_TIMEOUT = 30.0
#: Arrivals spread over less than this fraction of the publishing time came in one burst.
BURST_FRACTION = 0.25
#: Seconds from ``publish()`` to arrival beyond which a route is called slow.
SLOW_ARRIVAL = 1.0
#: Connections a browser opens to one origin over HTTP/1.1 (Chromium and Firefox: six); more
#: wait for one to close, and an event stream never closes.
CONNECTIONS_PER_ORIGIN = 6
#: Seconds ``check_url`` allows beyond its watch for connecting and closing on a loaded machine.
WATCH_MARGIN = 30.0
#: The routes a page can take to a server in the kernel (``widgets.browser``).
ROUTES = ("direct", "proxy")

PROXY_FIX = (
    "install jupyter-server-proxy in the environment of the Jupyter server that serves this "
    "page (on Binder: binder/requirements.txt), check that `jupyter server extension list` "
    "shows it enabled, and restart that server"
)
HELD_FIX = (
    "something between the page and the server holds the response: jupyter-server-proxy on "
    "tornado 6.5.8 or older waits for the end of a body sent with neither length nor chunks "
    "(upgrade tornado on the server side, or sse_nb, whose server frames HTTP/1.1 responses "
    "with chunks); nginx needs `proxy_buffering off` (or the server's X-Accel-Buffering: no "
    "left alone: no `proxy_ignore_headers X-Accel-Buffering`)"
)
BURST_FIX = (
    "a proxy buffers the stream: in nginx set `proxy_buffering off;` for this location and do "
    "not ignore X-Accel-Buffering (`proxy_ignore_headers`); other proxies have a similar switch "
    "(docs/deploy.md)"
)
HEARTBEAT_FIX = (
    "a proxy drops comment lines or holds them: let comments through (nginx: "
    "`proxy_buffering off`); without heartbeats a proxy's idle timeout (nginx "
    "proxy_read_timeout, 60 s by default) cuts quiet streams"
)
CONNECTIONS_FIX = (
    "serve Jupyter over HTTP/2 (an HTTPS reverse proxy with http2 on, as most hubs have), or "
    "use fewer browser widgets per page: close() the ones you are done with, or watch streams "
    "with the Python client and its panel, which use no browser connection"
)


@dataclass(frozen=True)
class Finding:
    """One thing the doctor found: ``ok`` or not, in words, with the fix when not ok."""

    #: What was checked, e.g. "direct route", "proxy route: timing", "HTTP version".
    topic: str
    ok: bool
    text: str
    fix: str = ""


class Report:
    """The doctor's findings, as text (``str()``) or escaped HTML (``html()``)."""

    def __init__(self, title: str, findings: Sequence[Finding], done: bool = True) -> None:
        self.title = title
        self.findings = list(findings)
        #: False while probes are still running (the report fills in).
        self.done = done

    @property
    def ok(self) -> bool:
        """True when every finding is fine."""
        return all(f.ok for f in self.findings)

    def __str__(self) -> str:
        lines = [self.title + ("" if self.done else " (probing…)")]
        for f in self.findings:
            lines.append(f"{'ok ' if f.ok else 'FIX'} {f.topic}: {f.text}")
            if f.fix:
                lines.append(f"    fix: {f.fix}")
        if self.done:
            lines.append("all fine" if self.ok else "findings above need a fix")
        return "\n".join(lines)

    __repr__ = __str__

    def html(self) -> str:
        """The report as HTML; every text is escaped. ``data-done`` and ``data-ok`` mark it."""
        rows = []
        for f in self.findings:
            colour = "#2e9e44" if f.ok else "#d1342f"
            fix = (
                f'<div class="sse-nb-fix" style="opacity:.85">fix: {html.escape(f.fix)}</div>'
                if f.fix
                else ""
            )
            rows.append(
                f'<li class="sse-nb-finding" data-ok="{int(f.ok)}" data-topic="'
                f'{html.escape(f.topic)}" style="margin:.3em 0"><span style="color:{colour};'
                f'font-weight:bold">{"✓" if f.ok else "✗"}</span> <b>{html.escape(f.topic)}</b>'
                f": {html.escape(f.text)}{fix}</li>"
            )
        status = ("all fine" if self.ok else "findings need a fix") if self.done else "probing…"
        return (
            f'<div class="sse-nb-doctor" data-done="{int(self.done)}" data-ok="{int(self.ok)}" '
            f'style="font:13px/1.5 system-ui,sans-serif"><div><b>{html.escape(self.title)}'
            f"</b> · {html.escape(status)}</div>"
            f'<ul style="list-style:none;padding-left:.2em;margin:.3em 0">{"".join(rows)}</ul>'
            "</div>"
        )

    def _repr_html_(self) -> str:
        return self.html()


# -- judging what a probe saw ------------------------------------------------------------------


def accept_finding(topic: str, accept: str | None, where: str) -> Finding:
    """The finding on the ``Accept`` a probe's request reached the server with.

    Every probe sends ``Accept: text/event-stream``, as a browser's EventSource does (HTML
    "Server-sent events" §9.2.2); anything else at the server was changed on ``where`` (e.g.
    "the proxy route"). sse_nb's server streams regardless, so this is about what a server that
    negotiates, or a relay, would do with the request (``protocol.accept``).
    """
    verdict = accept_verdict(accept)
    shown = repr(accept)
    if verdict is AcceptVerdict.OK:
        if accept is not None and accept.strip().lower() == EVENT_STREAM:
            return Finding(topic, True, f"{EVENT_STREAM}, as a browser's EventSource sends it")
        return Finding(
            topic,
            True,
            f"{shown} names {EVENT_STREAM} (jupyter-server-proxy streams a response only when "
            f"Accept is exactly {EVENT_STREAM})",
        )
    relays = (
        f"jupyter-server-proxy streams a response only when Accept is exactly {EVENT_STREAM} "
        "(otherwise it waits for the end of the body)"
    )
    if verdict is AcceptVerdict.MISSING:
        return Finding(
            topic,
            False,
            "the request reached the server with no Accept header: sse_nb's server streams "
            "anyway, but a server that negotiates answers its default type (HTML or JSON) "
            f"without it, and {relays}",
            f"the probe sent `Accept: {EVENT_STREAM}` and a proxy on {where} drops it: let the "
            'header through (nginx: remove `proxy_set_header Accept "";`)',
        )
    what = (
        "admits text/event-stream only through a wildcard: a server that negotiates may answer "
        "another type"
        if verdict is AcceptVerdict.WILDCARD
        else "excludes text/event-stream: a server that negotiates answers 406 Not Acceptable "
        "or another type"
    )
    return Finding(
        topic,
        False,
        f"the request reached the server with Accept {shown}, which {what} (sse_nb's server "
        f"streams anyway); {relays}",
        f"send `Accept: {EVENT_STREAM}`: the probe did, and a proxy on {where} replaces it "
        "(nginx: remove `proxy_set_header Accept ...`, or set it to text/event-stream)",
    )


def _status_finding(route: str, probed: BrowserProbed, saturated: bool) -> Finding | None:
    """The finding for a probe that got no stream, or ``None`` when it did."""
    topic = f"{route} route"
    status = probed["status"]
    if status == 200 and probed["content_type"].startswith("text/event-stream"):
        return None
    if status == 0:
        if probed["error"]:
            fix = (
                "the page cannot reach the server's port: use the proxy route (it goes through "
                "the page's own origin)"
                if route == "direct"
                else PROXY_FIX
            )
            return Finding(topic, False, f"the page cannot connect ({probed['error']})", fix)
        if saturated and route == "proxy":
            return Finding(
                topic,
                False,
                f"no response headers within {PROBE_SECONDS:g} s: the browser's connections to "
                "this origin are all in use (see HTTP version)",
                CONNECTIONS_FIX,
            )
        return Finding(
            topic,
            False,
            f"no response headers within {PROBE_SECONDS:g} s",
            HELD_FIX if route == "proxy" else "check that the server runs and its port is open",
        )
    if status == 404 and route == "proxy":
        return Finding(
            topic, False, "404: jupyter-server-proxy is not installed or not enabled", PROXY_FIX
        )
    if status == 401:
        return Finding(
            topic,
            False,
            "401: the server wants a token the page did not send",
            "give the widget the server object (BrowserEventSource(server), %sse_connect NAME), "
            "which sends its token",
        )
    if status == 403:
        return Finding(
            topic,
            False,
            "403: the server refused the page's Host or origin",
            "add the page's host name to EventServer(allowed_hosts=...)",
        )
    if status == 200:
        return Finding(
            topic,
            False,
            f"answered with Content-Type {probed['content_type']!r}, not text/event-stream",
            "something on the route rewrites the response: point the route at the server itself",
        )
    return Finding(topic, False, f"answered HTTP {status}", "see docs/deploy.md for this route")


def judge(
    route: str,
    probed: BrowserProbed | None,
    published: Sequence[tuple[str, float]],
    saturated: bool = False,
) -> list[Finding]:
    """Findings for one route: reach, time to arrival, one by one or burst, heartbeats.

    ``published`` is ``[(data, kernel time)]`` of the probe events; ``probed`` what the page saw
    (``None``: the page never reported); ``saturated``: the page's HTTP/1.1 connections to its
    origin were all taken when the probe began.
    """
    topic = f"{route} route"
    if probed is None:
        return [
            Finding(
                topic,
                False,
                "the page did not report a probe",
                "run the doctor in JupyterLab or Notebook 7 with widgets enabled; elsewhere use "
                "`sse-nb doctor URL`",
            )
        ]
    failed = _status_finding(route, probed, saturated)
    if failed is not None:
        return [failed]
    findings = [
        Finding(
            topic, True, f"reaches the server (response headers in {probed['headers_ms']:.0f} ms)"
        )
    ]
    sent = dict(published)
    arrived = [(str(data), float(t)) for data, t in probed["events"] if str(data) in sent]
    if not published:
        findings.append(Finding(f"{topic}: timing", False, "no probe event was published"))
    elif not arrived:
        findings.append(
            Finding(
                f"{topic}: timing",
                False,
                f"none of {len(published)} events arrived within {PROBE_SECONDS:g} s",
                BURST_FIX,
            )
        )
    else:
        delays = [t - sent[data] for data, t in arrived]
        median = statistics.median(delays)
        times = [t for _, t in arrived]
        sent_span = max(sent.values()) - min(sent.values())
        got_span = max(times) - min(times)
        together = len(arrived) > 1 and got_span < BURST_FRACTION * sent_span
        if together:
            findings.append(
                Finding(
                    f"{topic}: timing",
                    False,
                    f"{len(arrived)} events published over {sent_span:.1f} s arrived together "
                    f"within {got_span * 1000:.0f} ms (median {median * 1000:.0f} ms after "
                    "publish()): buffered on the way",
                    BURST_FIX,
                )
            )
        elif median > SLOW_ARRIVAL:
            findings.append(
                Finding(
                    f"{topic}: timing",
                    False,
                    f"events arrive one by one but {median:.1f} s after publish() (median)",
                    "a slow or loaded route: check the proxy's load, or the kernel's (a busy "
                    "kernel publishes late)",
                )
            )
        else:
            findings.append(
                Finding(
                    f"{topic}: timing",
                    True,
                    f"{len(arrived)}/{len(published)} events arrived one by one, median "
                    f"{median * 1000:.0f} ms after publish()",
                )
            )
    beats = len(probed["heartbeats"])
    if beats:
        findings.append(Finding(f"{topic}: heartbeats", True, f"{beats} heartbeats arrived"))
    else:
        findings.append(
            Finding(
                f"{topic}: heartbeats",
                False,
                f"no heartbeat arrived in {PROBE_SECONDS:g} s (the server sends one every "
                f"{PROBE_HEARTBEAT:g} s)",
                HEARTBEAT_FIX,
            )
        )
    return findings


def judge_page(page: dict[str, str], browser_sources: int) -> list[Finding]:
    """The page's HTTP version, and its browser connections against the per-origin limit."""
    protocol = page.get("protocol", "") or "unknown"
    if protocol.startswith(("h2", "h3")):
        return [
            Finding(
                "HTTP version",
                True,
                f"the page reaches Jupyter over {protocol}: many streams share one connection",
            )
        ]
    limit = CONNECTIONS_PER_ORIGIN
    text = (
        f"the page reaches Jupyter over {protocol}: a browser opens about {limit} connections "
        f"per origin; this page has {browser_sources} event stream(s) open to its own origin "
        "(the proxy route) besides the doctor's"
    )
    if browser_sources + 1 > limit - 1:  # the page's own API traffic needs a connection too
        return [
            Finding(
                "HTTP version",
                False,
                text + f": with {browser_sources + 1} the next ones stall",
                CONNECTIONS_FIX,
            )
        ]
    return [Finding("HTTP version", True, text)]


def proxy_finding() -> Finding:
    """Whether jupyter-server-proxy is importable in the kernel's environment."""
    if importlib.util.find_spec("jupyter_server_proxy") is not None:
        return Finding(
            "jupyter-server-proxy",
            True,
            "installed in the kernel's environment (the proxy route's probe shows whether the "
            "Jupyter server has it enabled)",
        )
    return Finding(
        "jupyter-server-proxy",
        False,
        "not installed in the kernel's environment (it may still be in the Jupyter server's, "
        "if that is another one: the proxy route's probe tells)",
        PROXY_FIX,
    )


# -- the notebook doctor -----------------------------------------------------------------------


class Doctor:
    """A running checkup from the page (see the module docstring); display it to see the report.

    ``routes``: which to probe. ``report`` is the report so far; ``done`` tells when it is
    complete; ``on_done(fn)`` calls ``fn(report)`` then. The probe server stops when it is done.
    """

    def __init__(self, routes: Sequence[str] = ROUTES, *, seconds: float = PROBE_SECONDS) -> None:
        unknown = [r for r in routes if r not in ROUTES]
        if unknown or not routes:
            raise ValueError(f"routes must be some of {ROUTES}, not {list(routes)!r}")
        self.routes = tuple(routes)
        self.seconds = seconds
        self.server = EventServer(token="auto", heartbeat=PROBE_HEARTBEAT, name="sse-doctor")
        self.server.start()
        self.port = self.server.port
        self._lock = threading.Lock()
        self._published: dict[str, list[tuple[str, float]]] = {r: [] for r in self.routes}
        self._results: dict[str, BrowserProbed] = {}
        self._clients: dict[str, str] = {}  # registry id of a probe -> its route
        self._accepts: dict[str, str | None] = {}  # route -> the Accept its probe arrived with
        self._page: dict[str, str] | None = None
        self._browser_sources = 0
        self._done = threading.Event()
        self._callbacks: list[Callable[[Report], None]] = []
        self.server.on_connect(self._connected)
        self.sources = {
            route: BrowserEventSource(self.server, mode=route, channel=route, open=False)
            for route in self.routes
        }
        for route, source in self.sources.items():
            source.on_hello = self._hello
            source.probe(seconds, on_result=self._reporter(route))
        self._view: Any = None
        self._deadline = threading.Timer(PAGE_TIMEOUT + seconds, self._finish)
        self._deadline.daemon = True
        self._deadline.start()

    # -- state ------------------------------------------------------------------------------

    @property
    def done(self) -> bool:
        """Whether every route has a verdict (or the page timed out): ``report`` is complete."""
        return self._done.is_set()

    @property
    def report(self) -> Report:
        """The findings so far (complete once ``done``)."""
        findings = [proxy_finding()]
        with self._lock:
            page, results, accepts = self._page, dict(self._results), dict(self._accepts)
            published = {r: list(p) for r, p in self._published.items()}
        done = self.done
        saturated = False
        if page is not None:
            page_findings = judge_page(page, self._browser_sources)
            saturated = not page_findings[0].ok
            findings += page_findings
        for route in self.routes:
            if route in results or done:
                findings += judge(route, results.get(route), published[route], saturated)
                if route in accepts:  # the probe reached the server, whatever the page saw
                    findings.append(
                        accept_finding(
                            f"{route} route: Accept", accepts[route], f"the {route} route"
                        )
                    )
        title = f"sse_nb doctor: routes from this page to a server in the kernel (port {self.port})"
        return Report(title, findings, done)

    def wait(self, timeout: float = PAGE_TIMEOUT + PROBE_SECONDS + 5) -> Report:
        """Block until done (not from a notebook cell: the page reports between cells)."""
        if not self._done.wait(timeout):
            raise TimeoutError(f"the doctor was not done within {timeout} s")
        return self.report

    def on_done(self, callback: Callable[[Report], None]) -> None:
        """Call ``callback(report)`` when the report is complete (at once if it is)."""
        if self.done:
            callback(self.report)
        else:
            self._callbacks.append(callback)

    # -- the page's side ----------------------------------------------------------------------

    def _hello(self, source: BrowserEventSource) -> None:
        with self._lock:
            if self._page is None:
                self._page = dict(source.page or {})
                self._browser_sources = source.same_origin_sources
            for client in source.client_ids:
                self._clients.setdefault(client, source.mode)
        self._refresh()

    def _connected(self, info: ClientInfo) -> None:
        with self._lock:
            route = self._clients.get(info.id)
            if route is None:
                return
            self._accepts.setdefault(route, info.accept)
            if self._published[route]:
                return
            self._published[route].append(("", 0.0))  # a placeholder: publish once per route
        threading.Thread(target=self._publish, args=(route,), daemon=True).start()

    def _publish(self, route: str) -> None:
        stop = threading.Event()
        sent: list[tuple[str, float]] = []
        for i in range(PROBE_EVENTS):
            data = f"{route}-{i + 1}"
            when = time.time()
            try:
                self.server.publish(data, channel=route)
            except Exception:  # the probe server stopped: the report says what arrived
                break
            sent.append((data, when))
            if stop.wait(PROBE_SPACING):
                break
        with self._lock:
            self._published[route] = sent

    def _reporter(self, route: str) -> Callable[[BrowserProbed], None]:
        def got(probed: BrowserProbed) -> None:
            with self._lock:
                self._results[route] = probed
                self._browser_sources = max(self._browser_sources, probed["same_origin_sources"])
                complete = len(self._results) == len(self.routes)
            if complete:
                self._finish()
            else:
                self._refresh()

        return got

    def _finish(self) -> None:
        with self._lock:
            if self._done.is_set():
                return
            self._done.set()
        self._deadline.cancel()
        self.server.close()
        for source in self.sources.values():
            source.close()
        self._refresh()
        report = self.report
        for callback in self._callbacks:
            callback(report)

    # -- display ------------------------------------------------------------------------------

    def _refresh(self) -> None:
        if self._view is not None:
            self._view.children[0].value = self.report.html()

    def widget(self) -> Any:
        """The report's widget (made once): the report, and the hidden probe views."""
        if self._view is None:
            import ipywidgets

            views = [s.view for s in self.sources.values()]
            hidden = ipywidgets.Box(views, layout=ipywidgets.Layout(display="none"))
            self._view = ipywidgets.VBox([ipywidgets.HTML(self.report.html()), hidden])
        return self._view

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget()._repr_mimebundle_(**kwargs)

    def __repr__(self) -> str:
        return str(self.report)


def doctor(routes: Sequence[str] = ROUTES, *, seconds: float = PROBE_SECONDS) -> Doctor:
    """Check the routes from this notebook's page to a server in its kernel; display the result.

    The report fills in after the cell finishes (the page reports between cells); each finding
    that needs one comes with its fix. ``%sse_doctor`` does the same.
    """
    return Doctor(routes, seconds=seconds)


# -- the part that needs no page -----------------------------------------------------------------


def check_url(url: str, *, token: str | None = None, seconds: float = 20.0) -> Report:
    """Connect to ``url`` from this process for ``seconds`` and report: the answer, the headers
    proxies act on, the response's framing, events and heartbeats arriving (one by one or in
    bursts)."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    wires: list[Wire] = []
    lock = threading.Lock()

    def heard(wire: Wire) -> None:
        with lock:
            wires.append(wire)

    topic = "connection"
    findings: list[Finding] = []

    async def watch() -> BaseException | None:
        # Tapped before it connects, so the response's head is heard too; watched for the whole
        # time unless the stream fails (then iteration ends at once, raising why).
        es = AsyncEventSource(url, headers=headers, reconnect=ReconnectPolicy(max_attempts=0))
        es.tap(heard)

        async def drain() -> None:
            async with es:
                with contextlib.suppress(SSEError):  # kept in es.error
                    async for _ in es:
                        pass

        with contextlib.suppress(asyncio.TimeoutError):  # watched all along: it stayed up
            await asyncio.wait_for(drain(), seconds)
        return es.error

    error = _runtime.run(watch(), timeout=seconds + WATCH_MARGIN)
    with lock:
        seen = list(wires)
    response = next((w for w in seen if w.kind == "response"), None)
    if response is None:
        if error is None:  # connected, but nothing came back: held on the way
            text, fix = f"no response headers within {seconds:g} s", HELD_FIX
        else:
            text, fix = f"no stream: {error}", "check the URL and that the server runs"
            if "401" in str(error):
                fix = "give the server's token: --token-file PATH or $SSE_NB_TOKEN"
        return Report(f"sse_nb doctor {url}", [Finding(topic, False, text, fix)])
    head = {k.lower(): v for k, v in response.headers}
    findings.append(Finding(topic, True, f"HTTP {response.status}, {head.get('content-type', '')}"))
    # Informational: nginx acts on X-Accel-Buffering and removes it, so its absence behind nginx
    # says nothing; whether events arrive one by one (below) is what counts.
    accel = head.get("x-accel-buffering")
    findings.append(
        Finding(
            "X-Accel-Buffering",
            True,
            f"{accel} (the server asks proxies not to buffer)"
            if accel
            else "not in the response (nginx removes it after acting on it)",
        )
    )
    framing = head.get("transfer-encoding", "") or (
        "length" if "content-length" in head else "close-delimited"
    )
    if framing == "close-delimited":
        findings.append(
            Finding(
                "framing",
                False,
                "the body has neither chunks nor a length: it ends when the connection closes",
                "jupyter-server-proxy on tornado 6.5.8 or older holds such a body until the end; "
                "serve HTTP/1.1 chunked (sse_nb's server does)",
            )
        )
    else:
        findings.append(Finding("framing", True, framing))
    echoed = head.get(ACCEPT_HEADER.lower())
    if echoed is None:
        findings.append(
            Finding(
                "Accept",
                True,
                f"sent {EVENT_STREAM}; the server does not say what reached it (sse_nb's server "
                f"does, in {ACCEPT_HEADER})",
            )
        )
    else:
        arrived = None if echoed == NO_ACCEPT else echoed
        findings.append(accept_finding("Accept", arrived, "the route to the server"))
    chunks = [w for w in seen if w.kind == "bytes"]
    beats = sum(
        1
        for w in chunks
        for line in w.data.split(b"\n")
        if line.startswith(b":") and not line[1:].strip()
    )
    events = [w.time for w in chunks for line in w.data.split(b"\n") if line.startswith(b"data:")]
    if beats:
        findings.append(Finding("heartbeats", True, f"{beats} arrived in {seconds:g} s"))
    else:
        findings.append(
            Finding(
                "heartbeats",
                False,
                f"none arrived in {seconds:g} s",
                "turn the server's heartbeat on (shorter than any proxy's read timeout), or "
                "watch longer (--seconds)",
            )
        )
    if len(events) > 1:
        bursts = len({round(t, 2) for t in events})
        findings.append(
            Finding(
                "events",
                True,
                f"{len(events)} arrived in {bursts} separate moment(s) in {seconds:g} s",
            )
        )
    return Report(f"sse_nb doctor {url}", findings)
