"""The ``%sse_*`` magics, driven through a real IPython ``InteractiveShell``."""

from __future__ import annotations

import json
from typing import Any

import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell

import sse_nb
from sse_nb.protocol import ReadyState
from tests.conftest import wait_until


def magic(ip: InteractiveShell, name: str, line: str = "") -> Any:
    return ip.run_line_magic(name, line)


def registry(ip: InteractiveShell) -> Any:
    return ip.magics_manager.registry["SSEMagics"]


def server(ip: InteractiveShell, name: str = "server") -> Any:
    return registry(ip).lookup(name)


def ids(es: Any) -> list[str | None]:
    return [r.event.id for r in es.history]


def test_serve_connect_publish_delivers_to_the_named_client(shell: InteractiveShell) -> None:
    magic(shell, "sse_serve")
    magic(shell, "sse_connect", "server --as es")
    es = shell.user_ns["es"]
    wait_until(lambda: es.ready_state == ReadyState.OPEN, what="client open")
    magic(shell, "sse_publish", '--event greeting {"hello": "world"}')
    wait_until(lambda: es.events_received == 1, what="one event")
    event = es.history[-1].event
    assert (event.type, json.loads(event.data)) == ("greeting", {"hello": "world"})


def test_serve_with_ticker_publishes_a_counter(shell: InteractiveShell) -> None:
    magic(shell, "sse_serve", "--ticker 0.02 --history 50 --heartbeat 5 --name clock")
    srv = server(shell, "clock")
    wait_until(lambda: srv.published >= 3, what="three ticks")
    assert srv.url.startswith("http://127.0.0.1:")


def test_line_publish_takes_data_verbatim_and_honours_id(
    shell: InteractiveShell, capsys: pytest.CaptureFixture[str]
) -> None:
    magic(shell, "sse_serve")
    magic(shell, "sse_connect", "server --as es")
    es = shell.user_ns["es"]
    wait_until(lambda: es.ready_state == ReadyState.OPEN, what="client open")
    magic(shell, "sse_publish", "--id=42 --to server -- --not an option, 'quoted'")
    wait_until(lambda: es.events_received == 1, what="the event")
    assert es.history[-1].event.data == "--not an option, 'quoted'"
    assert es.history[-1].event.id == "42"
    assert "published 1 event (id 42) to server" in capsys.readouterr().out


def test_cell_publish_sends_one_event_per_block_or_list_item(shell: InteractiveShell) -> None:
    magic(shell, "sse_serve")
    magic(shell, "sse_connect", "server --as es")
    es = shell.user_ns["es"]
    wait_until(lambda: es.ready_state == ReadyState.OPEN, what="client open")
    shell.run_cell_magic("sse_publish", "--event note", "first\nstill first\n\n  \nsecond\n")
    shell.run_cell_magic("sse_publish", "", '["a", {"b": 1}, 2]')
    wait_until(lambda: es.events_received == 5, what="five events")
    got = [(r.event.type, r.event.data) for r in es.history]
    assert got == [
        ("note", "first\nstill first"),
        ("note", "second"),
        ("message", "a"),
        ("message", '{"b": 1}'),
        ("message", "2"),
    ]


def test_close_then_resume_replays_the_missed_events_once(shell: InteractiveShell) -> None:
    magic(shell, "sse_serve")
    magic(shell, "sse_connect", "server --as es")
    es = shell.user_ns["es"]
    wait_until(lambda: es.ready_state == ReadyState.OPEN, what="client open")
    for i in range(3):
        magic(shell, "sse_publish", f"before {i}")
    wait_until(lambda: es.events_received == 3, what="three events")

    magic(shell, "sse_close", "es")
    assert es.ready_state == ReadyState.CLOSED
    srv = server(shell)
    wait_until(lambda: srv.clients and srv.clients[-1].state == "closed", what="server sees it")
    for i in range(3):
        magic(shell, "sse_publish", f"missed {i}")

    magic(shell, "sse_resume", "es")
    wait_until(lambda: ids(es)[-1:] == ["6"], what="the replay")
    assert ids(es) == ["1", "2", "3", "4", "5", "6"]


def test_close_a_server_by_name_stops_it(shell: InteractiveShell) -> None:
    magic(shell, "sse_serve", "--name a")
    srv = server(shell, "a")
    magic(shell, "sse_close", "a")
    assert not srv.running


def test_close_all_closes_clients_and_stops_servers(shell: InteractiveShell) -> None:
    magic(shell, "sse_serve")
    magic(shell, "sse_connect", "server --as es")
    srv, es = server(shell), shell.user_ns["es"]
    magic(shell, "sse_close", "--all")
    assert es.ready_state == ReadyState.CLOSED
    assert not srv.running


def test_status_lists_servers_and_clients_and_escapes_html(shell: InteractiveShell) -> None:
    assert "no servers or clients" in repr(magic(shell, "sse_status"))
    magic(shell, "sse_serve", "--name srv")
    magic(shell, "sse_connect", "srv --as es")
    es = shell.user_ns["es"]
    wait_until(lambda: es.ready_state == ReadyState.OPEN, what="client open")
    magic(shell, "sse_publish", "<b>x</b>")
    wait_until(lambda: es.events_received == 1, what="the event")
    table = magic(shell, "sse_status")
    rows = {r[1]: r for r in table.rows}
    assert rows["srv"][0:2] == ("server", "srv") and rows["srv"][3] == "running"
    assert rows["es"][3] == "OPEN" and rows["es"][4] == "1"
    assert "<b>" not in table._repr_html_()


def test_connect_browser_makes_a_browser_event_source(shell: InteractiveShell) -> None:
    from sse_nb.widgets import BrowserEventSource

    magic(shell, "sse_serve")
    magic(shell, "sse_connect", "server --browser --last-event-id 7 --as page")
    assert isinstance(shell.user_ns["page"], BrowserEventSource)


@pytest.mark.parametrize(
    ("name", "line", "message"),
    [
        ("sse_serve", "--port seventy", "invalid int value: 'seventy'"),
        ("sse_serve", "--port 70000", "between 0 and 65535"),
        ("sse_serve", "--ticker 0", "--ticker 0.0: must be at least"),
        ("sse_serve", "--name 'not a name'", "must be a Python identifier"),
        ("sse_serve", "--bogus", "unrecognized arguments: --bogus"),
        ("sse_connect", "", "required: URL|NAME"),
        ("sse_connect", "nowhere", "known servers: none yet"),
        ("sse_connect", "'unbalanced", "No closing quotation"),
        ("sse_connect", "http://127.0.0.1:9/events --idle-timeout -1", "more than 0"),
        ("sse_publish", "hello", "no running server; start one with %sse_serve"),
        ("sse_publish", "--to nope hello", "no server named 'nope'"),
        ("sse_publish", "--colour red hello", "unknown option '--colour'"),
        ("sse_close", "nope", "no server or client named 'nope'"),
        ("sse_close", "", "needs NAME or --all"),
        ("sse_resume", "nope", "no client named 'nope'; known clients: none yet"),
        ("sse_status", "extra", "takes no arguments"),
    ],
)
def test_bad_input_is_a_usage_error(
    shell: InteractiveShell, name: str, line: str, message: str
) -> None:
    with pytest.raises(UsageError, match=None) as caught:
        magic(shell, name, line)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_unknown_names_list_the_known_ones(shell: InteractiveShell) -> None:
    magic(shell, "sse_serve", "--name alpha")
    magic(shell, "sse_serve", "--name beta")
    with pytest.raises(UsageError, match="known servers: alpha, beta"):
        magic(shell, "sse_connect", "gamma")
    with pytest.raises(UsageError, match=r"several servers are running \(alpha, beta\)"):
        magic(shell, "sse_publish", "hello")
    with pytest.raises(UsageError, match="already used; known names: alpha, beta"):
        magic(shell, "sse_serve", "--name alpha")
    with pytest.raises(UsageError, match="--id given but the cell holds 2 events"):
        shell.run_cell_magic("sse_publish", "--to alpha --id 1", "a\n\nb")


def test_usage_error_prints_one_line_not_a_traceback(
    shell: InteractiveShell, capsys: pytest.CaptureFixture[str]
) -> None:
    result = shell.run_cell("%sse_close nope")
    assert isinstance(result.error_in_exec, UsageError)
    captured = capsys.readouterr()
    text = captured.out + captured.err
    assert "UsageError: no server or client named 'nope'" in text
    assert "Traceback" not in text


def test_help_shows_the_usage_of_each_magic(shell: InteractiveShell) -> None:
    for name in ("sse_serve", "sse_connect", "sse_publish", "sse_close", "sse_resume"):
        doc = shell.find_line_magic(name).__doc__
        assert doc.lstrip(": \n").startswith(f"%{name} ")
    assert "--ticker" in shell.find_line_magic("sse_serve").__doc__
    assert shell.find_cell_magic("sse_publish") is not None


def test_unload_stops_everything_and_removes_the_magics() -> None:
    ip = InteractiveShell.instance()
    ip.run_line_magic("load_ext", "sse_nb")
    magic(ip, "sse_serve", "--ticker 0.05")
    magic(ip, "sse_connect", "server --as es")
    srv, es = server(ip), ip.user_ns["es"]
    wait_until(lambda: es.ready_state == ReadyState.OPEN, what="client open")

    ip.run_line_magic("unload_ext", "sse_nb")
    assert not srv.running
    assert es.ready_state == ReadyState.CLOSED
    for name in ("sse_serve", "sse_connect", "sse_publish", "sse_close", "sse_status"):
        assert ip.find_line_magic(name) is None
    assert ip.find_cell_magic("sse_publish") is None
    assert "SSEMagics" not in ip.magics_manager.registry


def test_loading_twice_keeps_one_registry(shell: InteractiveShell) -> None:
    magic(shell, "sse_serve", "--name kept")
    first = registry(shell)
    shell.run_line_magic("load_ext", "sse_nb")
    sse_nb.load_ipython_extension(shell)
    assert registry(shell) is first
    assert server(shell, "kept").running


def test_stopped_servers_and_busy_ports_are_usage_errors(shell: InteractiveShell) -> None:
    magic(shell, "sse_serve", "--name a")
    port = server(shell, "a").port
    with pytest.raises(UsageError, match="cannot start the server"):
        magic(shell, "sse_serve", f"--port {port} --name b")
    magic(shell, "sse_close", "a")
    with pytest.raises(UsageError, match="server 'a' is stopped"):
        magic(shell, "sse_publish", "--to a hello")
    with pytest.raises(UsageError, match="server 'a' is stopped"):
        magic(shell, "sse_connect", "a")


def test_serve_with_a_log_replays_after_a_restart(shell: InteractiveShell, tmp_path: Any) -> None:
    log = tmp_path / "events.sqlite"
    magic(shell, "sse_serve", f"--name first --log {log}")
    for word in ("one", "two", "three"):
        magic(shell, "sse_publish", word)
    magic(shell, "sse_close", "first")
    magic(shell, "sse_serve", f"--name second --log {log}")
    magic(shell, "sse_connect", "second --last-event-id 1 --as es")
    es = shell.user_ns["es"]
    wait_until(lambda: ids(es)[-1:] == ["3"], what="the replay from the log")
    assert [r.event.data for r in es.history] == ["two", "three"]


def test_a_log_that_cannot_be_opened_or_is_in_use_is_a_usage_error_naming_it(
    shell: InteractiveShell, tmp_path: Any
) -> None:
    missing = tmp_path / "no-such-folder" / "events.sqlite"
    with pytest.raises(UsageError, match=f"cannot open the event log {missing}"):
        magic(shell, "sse_serve", f"--name a --log {missing}")
    log = tmp_path / "events.sqlite"
    magic(shell, "sse_serve", f"--name a --log {log}")
    with pytest.raises(UsageError, match=f"log file in use: {log}"):
        magic(shell, "sse_serve", f"--name b --log {log}")
