"""``%sse_doctor`` in a real JupyterLab in headless Chromium, each finding made by its real cause.

A healthy page (both routes reach the probe server, events one by one, heartbeats, the
``Accept`` the page sent arriving unchanged); seven browser widgets on the proxy route (one
origin over HTTP/1.1: the doctor counts them and its own proxy probe stalls); a Jupyter server
with jupyter-server-proxy disabled. The report is read from the DOM (``data-done``,
``data-ok`` and ``data-topic`` of each finding). Screenshots of the healthy report and of the
seven-widget one go to docs/img/ when ``SSE_NB_SCREENSHOTS=1``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from tests.lab import Lab, lab, start_lab, stop_lab  # noqa: F401  (lab: the fixture)

#: Seconds per test: a Lab start, a notebook, widgets, and a report that takes its time.
TEST_TIMEOUT = 300

pytestmark = [pytest.mark.browser, pytest.mark.lab, pytest.mark.timeout(TEST_TIMEOUT)]

IMG = Path(__file__).resolve().parent.parent / "docs" / "img"

#: Milliseconds for the whole report: the page's hello, probes of 6 s, a loaded machine.
REPORT = 120_000


def findings(page: Any) -> dict[str, tuple[bool, str]]:
    """The finished report in the page: topic -> (ok, text)."""
    try:
        page.wait_for_selector(".sse-nb-doctor[data-done='1']", timeout=REPORT)
    except Exception:
        report = page.evaluate(
            "() => [...document.querySelectorAll('.sse-nb-doctor')].map(e => e.textContent)"
        )
        raise AssertionError(f"no finished report; in the page: {report}") from None
    rows = page.evaluate(
        """() => [...document.querySelectorAll('.sse-nb-doctor[data-done="1"] .sse-nb-finding')]
            .map(e => [e.dataset.topic, e.dataset.ok === '1', e.textContent])"""
    )
    return {topic: (ok, text) for topic, ok, text in rows}


def shoot(page: Any, name: str, tmp: Path) -> None:
    img = IMG if os.environ.get("SSE_NB_SCREENSHOTS") == "1" else tmp
    img.mkdir(parents=True, exist_ok=True)
    page.locator(".sse-nb-doctor[data-done='1']").last.screenshot(path=str(img / name))


def test_a_healthy_page_reaches_the_kernel_on_both_routes(
    lab: Lab,  # noqa: F811
    page: Any,
    tmp_path: Path,
) -> None:
    page.set_viewport_size({"width": 1100, "height": 900})
    lab.run_notebook(page, "healthy.ipynb", ["%load_ext sse_nb", "%sse_doctor"])
    found = findings(page)
    for route in ("direct", "proxy"):
        assert found[f"{route} route"][0], found
        ok, text = found[f"{route} route: timing"]
        assert ok and "one by one" in text, found
        assert found[f"{route} route: heartbeats"][0], found
        # The page's probe sends Accept: text/event-stream; both routes pass it on unchanged.
        ok, text = found[f"{route} route: Accept"]
        assert ok and "Accept: text/event-stream, as a browser's EventSource" in text, found
    ok, text = found["HTTP version"]
    assert ok and "http/1.1" in text, found
    assert found["jupyter-server-proxy"][0]
    shoot(page, "doctor_healthy.png", tmp_path)


def test_seven_browser_widgets_on_one_origin_are_counted_with_the_http2_fix(
    lab: Lab,  # noqa: F811
    page: Any,
    tmp_path: Path,
) -> None:
    page.set_viewport_size({"width": 1100, "height": 900})
    cells = [
        "%load_ext sse_nb",
        """\
from sse_nb import EventServer
from sse_nb.widgets import BrowserEventSource
busy = EventServer().start()
widgets = [BrowserEventSource(busy, mode="proxy") for _ in range(7)]
display(*widgets)""",
        # Run in the same Run All: the page handles the widgets' opens before the doctor's
        # probes (the kernel answers the pages' hellos in order), so the probe counts them.
        "%sse_doctor",
    ]
    lab.run_notebook(page, "seven.ipynb", cells)
    found = findings(page)
    # Six (at most) open; the seventh waits for a connection the browser will not open.
    assert page.locator(".sse-nb-browser[data-route=proxy]").count() == 7
    ok, text = found["HTTP version"]
    assert not ok and "7 event stream(s)" in text, found
    assert "HTTP/2" in page.locator(".sse-nb-doctor .sse-nb-fix").first.text_content()
    # Whether the doctor's own proxy probe is among the stalled depends on the order in which
    # Chromium queues it behind the widgets' streams; it must end either way, with a verdict.
    assert "proxy route" in found, found
    assert found["direct route"][0], found  # another origin: not behind the six
    shoot(page, "doctor_findings.png", tmp_path)


def test_a_jupyter_server_without_the_proxy_gets_the_install_fix(
    tmp_path_factory: pytest.TempPathFactory, page: Any
) -> None:
    tmp = tmp_path_factory.mktemp("noproxy")
    config = tmp / "config"
    config.mkdir()
    (config / "jupyter_server_config.json").write_text(
        json.dumps({"ServerApp": {"jpserver_extensions": {"jupyter_server_proxy": False}}})
    )
    bare = start_lab(tmp)
    try:
        bare.run_notebook(page, "noproxy.ipynb", ["%load_ext sse_nb", "%sse_doctor"])
        found = findings(page)
        ok, text = found["proxy route"]
        assert not ok and "404" in text and "jupyter-server-proxy" in text, found
        fix = page.locator(".sse-nb-finding[data-topic='proxy route'] .sse-nb-fix").text_content()
        assert "jupyter server extension list" in fix
        assert found["direct route"][0], found
    finally:
        stop_lab(bare)
