"""The ``sse-nb`` command line, run as real subprocesses over 127.0.0.1."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli_process import PROC_TIMEOUT, Proc
from tests.conftest import wait_until
from tests.processes import free_port


@pytest.fixture()
def spawn() -> Iterator[type[Proc]]:
    started: list[Proc] = []

    class Tracked(Proc):
        def __init__(self, *args: str, stdin: int | None = subprocess.DEVNULL) -> None:
            super().__init__(*args, stdin=stdin)
            started.append(self)

    try:
        yield Tracked
    finally:
        for p in started:
            p.kill()


def _events(proc: Proc) -> list[dict[str, str]]:
    return [json.loads(line) for line in proc.out if line.startswith("{")]


@pytest.mark.parametrize("command", [[], ["serve"], ["listen"], ["demo"]])
def test_help_describes_each_command(command: list[str]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "sse_nb", *command, "--help"],
        capture_output=True,
        text=True,
        timeout=PROC_TIMEOUT,
        check=False,
    )
    assert done.returncode == 0
    assert done.stdout.startswith("usage: sse-nb")


def test_version_prints_the_installed_version() -> None:
    import importlib.metadata

    done = subprocess.run(
        [sys.executable, "-m", "sse_nb", "--version"],
        capture_output=True,
        text=True,
        timeout=PROC_TIMEOUT,
        check=False,
    )
    assert done.returncode == 0
    assert done.stdout == f"sse-nb {importlib.metadata.version('sse_nb')}\n"


def test_bad_arguments_exit_2_with_a_one_line_reason() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "sse_nb", "serve", "--port", "seventy"],
        capture_output=True,
        text=True,
        timeout=PROC_TIMEOUT,
        check=False,
    )
    assert done.returncode == 2
    assert "not a port number: 'seventy'" in done.stderr
    assert "Traceback" not in done.stderr


def test_serve_with_a_log_it_cannot_open_exits_1_with_one_line_naming_the_file(
    tmp_path: Path,
) -> None:
    missing = tmp_path / "no-such-folder" / "events.sqlite"
    done = subprocess.run(
        [sys.executable, "-m", "sse_nb", "serve", "--port", "0", "--log", str(missing)],
        capture_output=True,
        text=True,
        timeout=PROC_TIMEOUT,
        check=False,
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert f"cannot open the event log {missing}" in done.stderr


def test_serve_on_every_interface_prints_the_real_address_and_a_warning(
    spawn: type[Proc],
) -> None:
    server = spawn("serve", "--host", "0.0.0.0", "--port", "0")
    m = server.wait_line(r"serving http://127\.0\.0\.1:(\d+)/events +\(listening on (\S+);")
    assert m.group(2) == f"0.0.0.0:{m.group(1)}"
    server.wait_line(r"listens on 0\.0\.0\.0:\d+, reachable from other machines", stream="err")
    assert server.finish() == 0


def test_serve_publishes_each_stdin_line_to_listeners(spawn: type[Proc]) -> None:
    server = spawn("serve", "--port", "0", stdin=subprocess.PIPE)
    url = server.wait_line(r"serving (http://\S+)").group(1)
    listener = spawn("listen", url, "--json", "--count", "3")
    listener.wait_line(r"^sse-nb: OPEN", stream="err")
    server.write("first line\nsecond, with ünïcode\n\n")
    assert listener.finish(sig=None) == 0
    assert [e["data"] for e in _events(listener)] == ["first line", "second, with ünïcode", ""]
    assert [e["id"] for e in _events(listener)] == ["1", "2", "3"]
    assert server.finish() == 0


def test_listen_resumes_across_a_server_restart_without_loss(
    spawn: type[Proc], tmp_path: Path
) -> None:
    port = str(free_port())
    log = str(tmp_path / "events.sqlite")
    serve_args = ("serve", "--port", port, "--log", log, "--retry", "100", "--heartbeat", "1")
    first = spawn(*serve_args, stdin=subprocess.PIPE)
    url = first.wait_line(r"serving (http://\S+)").group(1)
    listener = spawn("listen", url, "--json", "--reconnect-delay", "0.1", "--max-delay", "0.5")
    listener.wait_line(r"^sse-nb: OPEN", stream="err")
    first.write("".join(f"before {i}\n" for i in range(1, 6)))
    wait_until(lambda: len(_events(listener)) == 5, timeout=PROC_TIMEOUT, what="5 events")

    assert first.finish(signal.SIGTERM) == 0
    listener.wait_line(r"^sse-nb: CONNECTING", stream="err")
    # The restarted server reads these before the listener is back (or just after): either
    # way the listener must see each exactly once, the early ones replayed from the log.
    second = spawn(*serve_args, stdin=subprocess.PIPE)
    second.write("".join(f"after {i}\n" for i in range(1, 6)))
    second.wait_line(r"connected: client .* resuming after id '5'")
    wait_until(lambda: len(_events(listener)) >= 10, timeout=PROC_TIMEOUT, what="10 events")

    assert listener.finish() == 0
    got = _events(listener)
    assert [e["id"] for e in got] == [str(i) for i in range(1, 11)]
    assert [e["data"] for e in got] == [f"before {i}" for i in range(1, 6)] + [
        f"after {i}" for i in range(1, 6)
    ]
    assert second.finish() == 0


def test_listen_exits_0_on_ctrl_c(spawn: type[Proc]) -> None:
    server = spawn("serve", "--port", "0", "--ticker", "0.05")
    url = server.wait_line(r"serving (http://\S+)").group(1)
    listener = spawn("listen", url)
    listener.wait_line(r"^\[\d+\] tick: \{\"tick\": \d+\}")
    assert listener.finish(signal.SIGINT) == 0
    server.wait_line(r"closed: client \S+ \(client closed\)")
    assert server.finish(signal.SIGINT) == 0


def test_listen_gives_up_with_exit_1_when_nothing_answers(spawn: type[Proc]) -> None:
    url = f"http://127.0.0.1:{free_port()}/events"
    listener = spawn("listen", url, "--max-attempts", "2", "--reconnect-delay", "0.05")
    assert listener.finish(sig=None) == 1
    assert any(line.startswith("sse-nb: stopped:") for line in listener.err), listener.err


def test_demo_closes_detects_resumes_and_loses_nothing(spawn: type[Proc]) -> None:
    demo = spawn("demo")
    assert demo.finish(sig=None) == 0, demo.err
    text = "\n".join(demo.out)
    assert "readyState CLOSED" in text
    assert "client closed" in text
    assert "Last-Event-ID" in text
    assert re.search(r"\b0 lost, 0 duplicated\b", demo.out[-1])


@pytest.mark.parametrize("log", [None, "log.sqlite"], ids=["memory", "sqlite"])
def test_listen_reports_a_gap_on_stderr_when_history_is_too_short(
    spawn: type[Proc], tmp_path: Path, log: str | None
) -> None:
    where = ["--log", str(tmp_path / log)] if log else []
    server = spawn("serve", "--port", "0", "--history", "2", *where, stdin=subprocess.PIPE)
    url = server.wait_line(r"serving (http://\S+)").group(1)
    server.write("a\nb\nc\nd\ne\n")
    server.close_stdin()
    server.wait_line(r"stdin ended after 5 lines")
    listener = spawn("listen", url, "--last-event-id", "1", "--json", "--count", "2")
    assert listener.finish(sig=None) == 0
    assert [e["data"] for e in _events(listener)] == ["d", "e"]
    assert any("could not replay everything" in line for line in listener.err), listener.err
