"""The widgets in a real JupyterLab in headless Chromium: what a reader of the notebooks sees.

One Lab and one notebook for the module: it starts a server, a Python client and every widget.
The tests then act as the reader would (buttons in the page) or as later cells would
(``lab.execute``), and wait on what the widgets write into the DOM (``data-*`` attributes,
text), never on the kernel's busy indicator. The last test saves a screenshot of each widget
(under docs/img/ when run by scripts/screenshots.py).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import wait_until
from tests.lab import Lab, lab  # noqa: F401  (the fixture)

pytestmark = [pytest.mark.browser, pytest.mark.lab]

#: Where the screenshots go: docs/img/ when ``SSE_NB_SCREENSHOTS=1`` (scripts/screenshots.py),
#: else a temporary directory, so a test run leaves the checkout as it was.
IMG = Path(__file__).resolve().parent.parent / "docs" / "img"

#: Milliseconds to wait for something to show in the page (a loaded 2-core machine).
SHOW = 30_000

HOSTILE = '<img src=x onerror="window.__pwned=1"></script><script>window.__pwned=2</script>'

CELLS = [
    """\
from sse_nb import EventServer, EventSource
from sse_nb.widgets import BrowserEventSource, ClientPanel, ServerPanel, Timeline
server = EventServer(heartbeat=2.0).start()
es = EventSource(server.url)""",
    "panel = ClientPanel(es)\npanel",
    "server_panel = ServerPanel(server)\nserver_panel",
    "client_timeline = Timeline(es)\nclient_timeline",
    "server_timeline = Timeline(server)\nserver_timeline",
    "direct = BrowserEventSource(server, mode='direct')\ndirect",
    "proxied = BrowserEventSource(server, mode='proxy')\nproxied",
    """\
from sse_nb.protocol import Event
from sse_nb.widgets import EventTable
big = EventTable(max_rows=100_000, height=200)
big.add_class("big-table")
big""",
]

RGB = {"OPEN": "rgb(46, 158, 68)", "CLOSED": "rgb(209, 52, 47)", "CONNECTING": "rgb(240, 162, 2)"}


@pytest.fixture(scope="module")
def nb(lab: Lab, browser: Any) -> Iterator[Any]:  # noqa: F811
    """The notebook page, run once for the module."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 2400})
    page = ctx.new_page()
    try:
        lab.run_notebook(page, "widgets.ipynb", CELLS)
        page.wait_for_selector(".sse-nb-status[data-state=OPEN]", timeout=SHOW)
        yield page
    finally:
        try:
            lab.execute(page, "es.close(); server.stop()")
        finally:
            ctx.close()


def run(lab: Lab, page: Any, code: str) -> str:  # noqa: F811
    return lab.execute(page, code)


def last_id(lab: Lab, page: Any) -> str:  # noqa: F811
    """The id of the server's newest event."""
    return run(lab, page, "print(server.last_id())").strip()


def shown_all(lab: Lab, page: Any) -> int:  # noqa: F811
    """Wait until the client's table shows every event published so far; return how many.

    Each test counts on from there, so it passes alone as well as after the others.
    """
    newest = last_id(lab, page)
    total = 0 if newest == "None" else int(newest)
    page.wait_for_selector(f".sse-nb-table[data-total='{total}']", timeout=SHOW)
    return total


def light_colour(page: Any, root: str) -> str:
    return str(
        page.eval_on_selector(f"{root} .sse-nb-light", "e => getComputedStyle(e).backgroundColor")
    )


def browser_state(page: Any, route: str) -> dict[str, str]:
    return dict(
        page.eval_on_selector(f".sse-nb-browser[data-route={route}]", "e => ({...e.dataset})")
    )


def wait_browser(page: Any, route: str, js_condition: str) -> None:
    page.wait_for_function(
        f"""() => {{
            const e = document.querySelector(".sse-nb-browser[data-route={route}]");
            if (!e) return false;
            const d = e.dataset;
            return {js_condition};
        }}""",
        timeout=SHOW,
    )


def test_jupyter_server_proxy_is_enabled(lab: Lab) -> None:  # noqa: F811
    assert "server_processes" in lab.api("server-proxy/servers-info")


def test_rows_appear_and_hostile_data_creates_no_element(lab: Lab, nb: Any) -> None:  # noqa: F811
    run(lab, nb, f"for i in range(5): server.publish(f'event {{i}}')\nserver.publish({HOSTILE!r})")
    nb.wait_for_selector(".sse-nb-table[data-total='6']", timeout=SHOW)
    texts = nb.eval_on_selector_all(
        ".sse-nb-table .sse-nb-row", "rows => rows.map(r => r.children[3].textContent)"
    )
    assert texts == [f"event {i}" for i in range(5)] + [HOSTILE]
    assert nb.evaluate("document.querySelectorAll('img[src=x]').length") == 0
    assert nb.evaluate("window.__pwned === undefined")
    assert nb.eval_on_selector(".sse-nb-status", "e => e.dataset.state") == "OPEN"
    assert light_colour(nb, ".sse-nb-status") == RGB["OPEN"]
    # The browser's own EventSource lists it as text too.
    for route in ("direct", "proxy"):
        wait_browser(nb, route, 'd.lastId === "6"')
        listed = nb.eval_on_selector(
            f".sse-nb-browser[data-route={route}] .sse-nb-events", "e => e.textContent"
        )
        assert HOSTILE in listed
    assert nb.evaluate("document.querySelectorAll('img[src=x]').length") == 0
    assert nb.evaluate("window.__pwned === undefined")


def test_status_light_turns_red_on_close_and_green_on_resume(lab: Lab, nb: Any) -> None:  # noqa: F811
    run(lab, nb, "server.publish('before the close')")
    before = shown_all(lab, nb)
    panel = nb.locator(".sse-nb-client-panel")
    panel.get_by_role("button", name="Close").click()
    nb.wait_for_selector(".sse-nb-status[data-state=CLOSED]", timeout=SHOW)
    assert light_colour(nb, ".sse-nb-status") == RGB["CLOSED"]
    # Events published while the client is closed are missed, then replayed on resume.
    run(lab, nb, "for i in range(3): server.publish(f'missed {i}')")
    panel.get_by_role("button", name="Reconnect").click()
    nb.wait_for_selector(".sse-nb-status[data-state=OPEN]", timeout=SHOW)
    assert light_colour(nb, ".sse-nb-status") == RGB["OPEN"]
    nb.wait_for_selector(f".sse-nb-table[data-total='{before + 3}']", timeout=SHOW)
    ids = nb.eval_on_selector_all(
        ".sse-nb-table .sse-nb-row", "rows => rows.map(r => r.children[1].textContent)"
    )
    assert ids == [str(i) for i in range(1, before + 4)]  # no gap, nothing twice
    nb.wait_for_function(
        """() => ((document.querySelector(".sse-nb-timeline[data-kind=client]")
                   || {dataset: {}}).dataset.marks || "").endsWith("close,resume")""",
        timeout=SHOW,
    )


def test_server_panel_publishes_and_drops_from_the_page(lab: Lab, nb: Any) -> None:  # noqa: F811
    before = shown_all(lab, nb)
    srv = nb.locator(".sse-nb-server")
    srv.locator("input.sse-nb-data").fill("from the page")
    srv.get_by_role("button", name="Publish").click()
    nb.wait_for_selector(f".sse-nb-table[data-total='{before + 1}']", timeout=SHOW)
    code = "print([c.id for c in server.clients if c.state == 'open' and c.id[0] == 'c'][-1])"
    client_id = run(lab, nb, code).strip()
    srv.locator(f"tr.sse-nb-client[data-id='{client_id}'] button.sse-nb-drop").click()
    nb.wait_for_selector(
        f".sse-nb-server tr.sse-nb-client[data-id='{client_id}'][data-state=closed]",
        timeout=SHOW,
    )
    # The Python client notices the drop: amber while it waits to reconnect, then resumes.
    nb.wait_for_selector(".sse-nb-status[data-state=CONNECTING]", timeout=SHOW)
    assert light_colour(nb, ".sse-nb-status") == RGB["CONNECTING"]
    nb.wait_for_function(
        """() => (document.querySelector(".sse-nb-timeline[data-kind=client]")
                  || {dataset: {}}).dataset.marks.endsWith("drop,resume")""",
        timeout=SHOW,
    )
    nb.wait_for_selector(".sse-nb-status[data-state=OPEN]", timeout=SHOW)


@pytest.mark.parametrize("route", ["direct", "proxy"])
def test_browser_event_source_closes_from_python_and_resumes_with_its_own_id(
    lab: Lab,  # noqa: F811
    nb: Any,
    route: str,
) -> None:
    name = "direct" if route == "direct" else "proxied"
    wait_browser(nb, route, 'd.state === "OPEN"')
    run(lab, nb, f"for i in range(2): server.publish(f'{route} {{i}}')")
    last = last_id(lab, nb)
    wait_browser(nb, route, f'd.lastId === "{last}"')
    before = int(browser_state(nb, route)["received"])
    first_client = browser_state(nb, route)["client"]

    run(lab, nb, f"{name}.close()")
    wait_browser(nb, route, 'd.state === "CLOSED"')
    # The server's registry is right either way: through the proxy the widget told it.
    info = json.loads(
        run(
            lab,
            nb,
            "import json\n"
            f"print(json.dumps([(c.state, c.close_reason) for c in server.clients"
            f" if c.id == {first_client!r}]))",
        )
    )
    assert info == [["closed", "client closed"]]

    run(lab, nb, f"for i in range(3): server.publish(f'{route} missed {{i}}')")
    newest = last_id(lab, nb)
    run(lab, nb, f"{name}.open()")
    wait_browser(nb, route, f'd.state === "OPEN" && d.lastId === "{newest}"')
    assert int(browser_state(nb, route)["received"]) == before + 3  # the missed ones, once
    resumed = json.loads(
        run(
            lab,
            nb,
            f"print(json.dumps([c.resumed_from for c in server.clients"
            f" if c.id == {name}.client_id]))",
        )
    )
    assert resumed == [last]  # the browser's own last id, sent as ?lastEventId=
    # The kernel hears the page's reports too.
    state = run(lab, nb, f"print({name}.ready_state.name, {name}.last_event_id)").split()
    assert state == ["OPEN", newest]


def test_browser_event_source_reconnects_by_itself_after_a_drop(lab: Lab, nb: Any) -> None:  # noqa: F811
    run(lab, nb, "server.publish('before the drop')")
    last = last_id(lab, nb)
    wait_browser(nb, "direct", f'd.state === "OPEN" && d.lastId === "{last}"')
    client = browser_state(nb, "direct")["client"]
    run(lab, nb, f"server.disconnect({client!r}); server.publish('after the drop')")
    newest = last_id(lab, nb)
    wait_browser(nb, "direct", f'd.state === "OPEN" && d.lastId === "{newest}"')
    resumed = run(
        lab,
        nb,
        f"print([c.resumed_from for c in server.clients if c.id == {client!r}][-1])",
    ).strip()
    assert resumed == last  # the browser sent Last-Event-ID itself on its reconnect


def test_widgets_update_while_a_cell_blocks(lab: Lab, nb: Any, tmp_path: Path) -> None:  # noqa: F811
    total = int(nb.eval_on_selector(".sse-nb-table", "e => e.dataset.total"))
    flag = lab.root / "release-the-cell"
    # The kernel's main thread blocks (bounded) until the test has seen the rows in the page;
    # the events are published from another thread meanwhile.
    lab.start_execute(
        nb,
        f"""\
import os, threading, time
threading.Timer(0.2, lambda: [server.publish(f"while blocked {{i}}") for i in range(3)]).start()
for _ in range(600):
    if os.path.exists({str(flag)!r}):
        break
    time.sleep(0.05)
""",
    )
    try:
        nb.wait_for_selector(f".sse-nb-table[data-total='{total + 3}']", timeout=SHOW)
        assert nb.evaluate("window.__labExecuteDone") is False  # the cell is still running
    finally:
        flag.write_text("go")
    nb.wait_for_function("() => window.__labExecuteDone === true", timeout=SHOW)


def test_a_close_in_the_page_reaches_the_server_through_the_kernel(lab: Lab, nb: Any) -> None:  # noqa: F811
    # Behind jupyter-server-proxy the server never sees the browser close: the widget tells it.
    wait_browser(nb, "proxy", 'd.state === "OPEN"')
    client = browser_state(nb, "proxy")["client"]
    nb.locator(".sse-nb-browser[data-route=proxy] button.sse-nb-close").click()
    wait_browser(nb, "proxy", 'd.state === "CLOSED"')
    code = f"print([(c.state, str(c.close_reason)) for c in server.clients if c.id == {client!r}])"
    wait_until(
        lambda: run(lab, nb, code).strip() == "[('closed', 'client closed')]",
        timeout=SHOW / 1000,
        interval=0.2,
        what="the server to record the close",
    )
    nb.locator(".sse-nb-browser[data-route=proxy] button.sse-nb-reopen").click()
    wait_browser(nb, "proxy", f'd.state === "OPEN" && d.client !== "{client}"')


def test_a_hundred_thousand_rows_are_rendered_windowed(lab: Lab, nb: Any) -> None:  # noqa: F811
    run(lab, nb, "for i in range(100_000): big.append(Event(data=f'row {i}', id=str(i)))")
    table = ".big-table .sse-nb-table"
    nb.wait_for_selector(f"{table}[data-rows='100000'][data-total='100000']", timeout=SHOW)
    in_dom = nb.eval_on_selector_all(f"{table} .sse-nb-row", "rows => rows.length")
    assert 0 < in_dom < 100  # only the rows in view (and a few around them) exist
    nb.eval_on_selector(f"{table} .sse-nb-viewport", "v => { v.scrollTop = 50000 * 22; }")
    nb.wait_for_selector(f"{table} .sse-nb-row[data-n='50001']", timeout=SHOW)
    assert nb.eval_on_selector_all(f"{table} .sse-nb-row", "rows => rows.length") < 100


def test_screenshots_of_each_widget(lab: Lab, nb: Any, tmp_path: Path) -> None:  # noqa: F811
    img = IMG if os.environ.get("SSE_NB_SCREENSHOTS") == "1" else tmp_path
    img.mkdir(parents=True, exist_ok=True)
    shots = {
        "client_panel.png": ".sse-nb-client-panel",
        "status_light.png": ".sse-nb-status",
        "event_table.png": ".sse-nb-table",
        "server_panel.png": ".sse-nb-server",
        "timeline_client.png": ".sse-nb-timeline[data-kind=client]",
        "timeline_server.png": ".sse-nb-timeline[data-kind=server]",
        "browser_event_source.png": ".sse-nb-browser[data-route=direct]",
    }
    # Everything has rendered by now, in every widget: still no element from event data.
    assert nb.evaluate("document.querySelectorAll('img[src=x]').length") == 0
    assert nb.evaluate("window.__pwned === undefined")
    for name, selector in shots.items():
        loc = nb.locator(selector).first
        loc.scroll_into_view_if_needed()
        loc.screenshot(path=str(img / name))
        assert (img / name).stat().st_size > 1000
