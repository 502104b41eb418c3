"""The lab bench in a real JupyterLab in headless Chromium: wire view, faults, ledger, backoff,
conformance, as a reader of a notebook sees them.

One Lab and one notebook for the module. The tests act as the reader would (fault buttons on the
server panel) or as later cells would (``lab.execute``), and wait on what the widgets write into
the DOM (``data-*`` attributes, text), never on the kernel's busy indicator. The last test saves
a screenshot of each tool (under docs/img/ when run by scripts/screenshots.py).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.lab import Lab, lab  # noqa: F401  (the fixture)

pytestmark = [pytest.mark.browser, pytest.mark.lab]

IMG = Path(__file__).resolve().parent.parent / "docs" / "img"

#: Milliseconds to wait for something to show in the page (a loaded 2-core machine).
SHOW = 60_000

CELLS = [
    """\
from sse_nb import EventServer, EventSource, ReconnectPolicy
from sse_nb.lab import BackoffExplorer, Ledger, WireView
from sse_nb.protocol.recording import Recording, Response
from sse_nb.widgets import BrowserEventSource, ClientPanel, ServerPanel, Timeline
server = EventServer(heartbeat=2.0).start()
# CRLF line ends, a BOM, a NUL in an id, a bad retry, and an event cut off by the end of stream.
# The first body bytes come 0.5 s after the head, so the view below is listening by then.
chunks = [
    (0.5, b"\\xef\\xbb\\xbfretry: 2s\\r\\n: comment\\r\\n"),
    (0.6, b"id: 4\\x002\\r\\ndata: caf\\xc3"),
    (0.7, b"\\xa9\\r\\n\\r\\nid: 5\\r\\ndata: fin\\r\\n\\r\\ndata: cut"),
]
head = [("Content-Type", "text/event-stream")]
awkward = server.play(Recording("", 0.0, [Response(0.0, 200, head, chunks)]), speed=1.0)
raw = EventSource(awkward, reconnect=ReconnectPolicy(max_attempts=0))
wire = WireView(raw)
es = EventSource(server.url, reconnect=ReconnectPolicy(delay=0.3, max_delay=1.0, jitter=0.1))
ledger = Ledger(es, server=server)""",
    "wire",
    "server_panel = ServerPanel(server)\nserver_panel",
    "ClientPanel(es)",
    "Timeline(server)",
    "Timeline(es)",
    "ledger",
    "BackoffExplorer(es, attempts=6)",
    "page_es = BrowserEventSource(server, mode='direct')\npage_es",
    "page_ledger = Ledger(page_es, server=server)\npage_ledger",
    "%load_ext sse_nb\n%sse_conformance",
]

CLIENT = ".sse-nb-client-panel .sse-nb-status"
SERVER_TIMELINE = ".sse-nb-timeline[data-kind=server]"
CLIENT_TIMELINE = ".sse-nb-timeline[data-kind=client]"


@pytest.fixture(scope="module")
def nb(lab: Lab, browser: Any) -> Iterator[Any]:  # noqa: F811
    ctx = browser.new_context(viewport={"width": 1280, "height": 3200})
    page = ctx.new_page()
    try:
        lab.run_notebook(page, "bench.ipynb", CELLS)
        page.wait_for_selector(f"{CLIENT}[data-state=OPEN]", timeout=SHOW)
        yield page
    finally:
        try:
            lab.execute(page, "es.close(); raw.close(); page_es.close(); server.stop()")
        finally:
            ctx.close()


def wait_js(page: Any, body: str) -> None:
    page.wait_for_function(f"() => {{ {body} }}", timeout=SHOW)


def panel_says(page: Any, start: str) -> None:
    wait_js(
        page,
        "const m = document.querySelector('.sse-nb-server .sse-nb-message');"
        f"return m && m.textContent.startsWith('{start}');",
    )


def click_fault(page: Any, fault: str, n: int = 1) -> None:
    page.fill(".sse-nb-fault-n", str(n))
    page.click(f".sse-nb-fault[data-fault='{fault}']")


def client_state_is(page: Any, state: str) -> None:
    page.wait_for_selector(f"{CLIENT}[data-state={state}]", timeout=SHOW)


def test_wire_view_shows_escapes_and_the_standards_decisions(lab: Lab, nb: Any) -> None:  # noqa: F811
    wait_js(
        nb, "return !!document.querySelector('.sse-nb-wire tr[data-decision^=\"end of stream\"]');"
    )
    decisions = nb.eval_on_selector_all(
        ".sse-nb-wire tr.sse-nb-wire-line", "rows => rows.map(r => r.dataset.decision)"
    )
    for expected in (
        "BOM stripped",
        "retry not all digits: ignored",
        "comment",
        "id with NUL ignored",
        "dispatch",
        "end of stream: unfinished event discarded",
    ):
        assert expected in decisions
    chunks = " ".join(
        nb.eval_on_selector_all(
            ".sse-nb-wire tr.sse-nb-wire-chunk .sse-nb-wire-bytes", "c => c.map(e => e.textContent)"
        )
    )
    assert "\\uFEFF" in chunks and "\\r\\n" in chunks and "\\0" in chunks
    dispatch = nb.eval_on_selector_all(
        ".sse-nb-wire tr[data-decision=dispatch] .sse-nb-wire-decision",
        "c => c.map(e => e.textContent)",
    )
    assert any("café" in d for d in dispatch)


def test_a_reset_drops_the_client_which_comes_back_and_the_timeline_marks_it(
    lab: Lab,  # noqa: F811
    nb: Any,
) -> None:
    client_state_is(nb, "OPEN")
    click_fault(nb, "reset")
    wait_js(
        nb, f"return document.querySelector('{SERVER_TIMELINE}').dataset.marks.includes('fault');"
    )
    wait_js(
        nb, f"return document.querySelector('{CLIENT_TIMELINE}').dataset.marks.includes('drop');"
    )
    client_state_is(nb, "OPEN")


def test_the_pages_own_event_source_is_booked_too(lab: Lab, nb: Any) -> None:  # noqa: F811
    # The server drops the page's EventSource; the browser comes back by itself (after its own
    # reconnection delay), and its ledger books every connection.
    wait_js(nb, "return document.querySelector('.sse-nb-browser').dataset.state === 'OPEN';")
    client = nb.eval_on_selector(".sse-nb-browser", "e => e.dataset.client")
    before = int(nb.eval_on_selector_all(".sse-nb-ledger", "v => v[1].dataset.connections || '0'"))
    assert lab.execute(nb, f"print(server.disconnect({client!r}))").strip() == "1"
    wait_js(
        nb,
        "const v = document.querySelectorAll('.sse-nb-ledger')[1];"
        f"return v && Number(v.dataset.connections) > {before};",
    )
    last = lab.execute(nb, "for _ in range(3): server.publish('z')\nprint(server.last_id())")
    # Waited on in the page: a kernel blocked in a wait would not hear the page's reports.
    wait_js(
        nb,
        "const b = document.querySelector('.sse-nb-browser');"
        f"return b && b.dataset.lastId === '{last.strip()}';",
    )
    wait_js(
        nb,
        "const v = document.querySelectorAll('.sse-nb-ledger')[1];"
        "return v && Number(v.dataset.connections) >= 2 && v.dataset.lost === '0' "
        "&& v.dataset.duplicated === '0' && v.textContent.includes('3 received');",
    )
    # Done: closed, so that it takes none of the answers the next faults leave for one client.
    lab.execute(nb, "page_es.close()")
    wait_js(nb, "return document.querySelector('.sse-nb-browser').dataset.state === 'CLOSED';")


def test_answers_of_500_fail_the_client_until_it_reconnects(lab: Lab, nb: Any) -> None:  # noqa: F811
    click_fault(nb, "500", 3)
    click_fault(nb, "close")  # FIN: the client reconnects, and is answered 500
    client_state_is(nb, "CLOSED")
    error = nb.text_content(f"{CLIENT}")
    assert "500" in error
    lab.execute(
        nb, "while server.faults.pending_answers(): server.faults.take_answer('')\nes.reconnect()"
    )
    client_state_is(nb, "OPEN")


@pytest.mark.parametrize(
    ("fault", "state", "shown"),
    [("204", "CLOSED", ""), ("content-type", "CLOSED", "text/html"), ("redirect", "OPEN", "")],
)
def test_each_answer_fault_shows_on_the_client_panel(
    lab: Lab,  # noqa: F811
    nb: Any,
    fault: str,
    state: str,
    shown: str,
) -> None:
    client_state_is(nb, "OPEN")
    reconnects = int(lab.execute(nb, "print(es.reconnects)"))
    click_fault(nb, fault, 1)
    panel_says(nb, "the next 1")
    click_fault(nb, "close")  # the client reconnects, and gets the answer
    lab.execute(nb, f"es.wait_for(lambda es: es.reconnects > {reconnects}, 30)")
    client_state_is(nb, state)
    assert shown in nb.text_content(CLIENT)
    if state == "CLOSED":
        lab.execute(nb, "es.reconnect()")
        client_state_is(nb, "OPEN")


def test_a_throttle_lets_events_trickle_in(lab: Lab, nb: Any) -> None:  # noqa: F811
    client_state_is(nb, "OPEN")
    before = int(lab.execute(nb, "print(es.events_received)"))
    click_fault(nb, "throttle")  # 200 B/s from the panel
    panel_says(nb, "throttle")
    lab.execute(nb, "for _ in range(4): server.publish('t' * 190)")  # about 1 s per event
    lab.execute(nb, f"es.wait_for(lambda es: es.events_received >= {before + 1}, 30)")
    assert int(lab.execute(nb, "print(es.events_received)")) < before + 4
    click_fault(nb, "resume")
    lab.execute(nb, f"es.wait_for(lambda es: es.events_received >= {before + 4}, 30)")


def test_a_stall_holds_events_until_resume(lab: Lab, nb: Any) -> None:  # noqa: F811
    before = int(lab.execute(nb, "print(es.events_received)"))
    click_fault(nb, "stall")
    panel_says(nb, "stall")
    lab.execute(nb, "for i in range(3): server.publish(f'held {i}')")
    assert int(lab.execute(nb, "print(es.events_received)")) == before
    click_fault(nb, "resume")
    lab.execute(nb, f"es.wait_for(lambda es: es.events_received >= {before + 3}, 30)")


def test_ledger_shows_nothing_lost_through_ten_faults_then_a_real_loss_after_trim(
    lab: Lab,  # noqa: F811
    nb: Any,
) -> None:
    for i in range(10):
        lab.execute(nb, "for _ in range(5): server.publish('x')")
        opened = int(lab.execute(nb, "print(ledger.book.connection)"))
        click_fault(nb, "reset" if i % 2 == 0 else "close")
        lab.execute(
            nb,
            f"from sse_nb.lab import wait_until\n"
            f"wait_until(lambda: ledger.book.connection > {opened} and es.ready_state == 1, 30)",
        )
    lab.execute(nb, "for _ in range(5): server.publish('x')")
    lab.execute(nb, "es.wait_for(lambda es: es.last_event_id == server.last_id(), 30)")
    wait_js(
        nb,
        "const v = document.querySelectorAll('.sse-nb-ledger-verdict')[0];"
        "return v && v.textContent.startsWith('0 lost, 0 duplicated');",
    )
    assert int(lab.execute(nb, "print(ledger.verdict().connections)")) >= 11
    # Now a real loss: the client away while 20 events go out, history trimmed to 3.
    lab.execute(nb, "es.close()\nfor _ in range(20): server.publish('y')")
    click_fault(nb, "trim", 3)
    panel_says(nb, "trim")
    lab.execute(
        nb, "es.reconnect()\nes.wait_for(lambda es: es.last_event_id == server.last_id(), 30)"
    )
    wait_js(
        nb,
        "const v = document.querySelectorAll('.sse-nb-ledger-verdict')[0];"
        "return v && v.textContent.startsWith('17 lost');",
    )
    wait_js(
        nb, f"return document.querySelector('{CLIENT_TIMELINE}').dataset.marks.includes('gap');"
    )


def test_restart_keeps_the_port_and_the_client_comes_back(lab: Lab, nb: Any) -> None:  # noqa: F811
    port = lab.execute(nb, "print(server.port)")
    click_fault(nb, "restart")
    panel_says(nb, "restarted")
    client_state_is(nb, "OPEN")
    assert lab.execute(nb, "print(server.port)") == port


def test_backoff_explorer_draws_the_plan_and_measured_waits(lab: Lab, nb: Any) -> None:  # noqa: F811
    nb.wait_for_selector(".sse-nb-backoff[data-measured]", timeout=SHOW)
    before = int(nb.eval_on_selector(".sse-nb-backoff", "b => b.dataset.measured"))
    client_state_is(nb, "OPEN")
    click_fault(nb, "reset")  # the client drops, waits its backoff and comes back
    wait_js(
        nb,
        "const b = document.querySelector('.sse-nb-backoff');"
        f"return b && b.dataset.planned === '6' && Number(b.dataset.measured) > {before};",
    )


def test_conformance_grid_shows_sse_nb_passing_every_case(lab: Lab, nb: Any) -> None:  # noqa: F811
    wait_js(
        nb,
        "const g = document.querySelector('.sse-nb-conformance');"
        "return g && g.dataset.done === 'true';",
    )
    totals = dict(
        nb.eval_on_selector_all(
            ".sse-nb-conformance .sse-nb-total",
            "c => c.map(e => [e.dataset.client, e.textContent])",
        )
    )
    n = int(lab.execute(nb, "from sse_nb.protocol.cases import CASES; print(len(CASES))"))
    assert totals["sse_nb"] == f"{n}/{n}"
    assert set(totals) >= {"httpx-sse", "requests-sse"}
    print("conformance grid:", totals)


def test_screenshots_of_each_tool(lab: Lab, nb: Any, tmp_path: Path) -> None:  # noqa: F811
    img = IMG if os.environ.get("SSE_NB_SCREENSHOTS") == "1" else tmp_path
    img.mkdir(parents=True, exist_ok=True)
    shots = {
        "lab_wire_view.png": ".sse-nb-wire",
        "lab_faults.png": ".sse-nb-server",
        "lab_timeline_faults.png": SERVER_TIMELINE,
        "lab_ledger.png": ".sse-nb-ledger",
        "lab_backoff.png": ".sse-nb-backoff",
        "lab_conformance.png": ".sse-nb-conformance",
    }
    for name, selector in shots.items():
        loc = nb.locator(selector).first
        loc.scroll_into_view_if_needed()
        loc.screenshot(path=str(img / name))
        assert (img / name).stat().st_size > 1000
