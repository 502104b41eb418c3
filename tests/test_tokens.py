"""Tokens at every front door: the server, Python clients and the browser widget made from it,
the magics and the CLI; without the token 401 on every route (direct, jupyter-server-proxy,
nginx), with it events flow; the token is only ever shown masked."""

from __future__ import annotations

import logging
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from IPython.core.interactiveshell import InteractiveShell

from sse_nb import AsyncEventSource, EventServer, EventSource, ReadyState
from sse_nb.errors import SSEError
from sse_nb.server import mask_token
from sse_nb.widgets import BrowserEventSource
from tests.conftest import wait_until
from tests.lab import Lab, lab  # noqa: F401  (the fixture)
from tests.nginx_balancer import NginxBalancer
from tests.test_widgets_table import page_message, record_messages

#: Seconds a test waits for a stream's first event or a subprocess's line (a loaded machine).
WAIT = 30.0


@pytest.fixture()
def server() -> Iterator[EventServer]:
    """A server with a token and one event (id "1") before the one each test publishes."""
    with EventServer(token="auto", heartbeat=None).start() as s:
        s.publish("before", id="1")
        yield s


def first_event(url: str, headers: dict[str, str] | None = None) -> str:
    """The status of a GET on ``url`` and its first ``data:`` line (``""`` if none)."""
    sent = {"Accept": "text/event-stream", **(headers or {})}
    with (
        httpx.Client(timeout=WAIT) as client,
        client.stream("GET", url, headers=sent) as resp,
    ):
        if resp.status_code != 200:
            return str(resp.status_code)
        for line in resp.iter_lines():
            if line.startswith("data:"):
                return f"200 {line}"
    return "200"


def test_auto_makes_a_long_random_token_per_server() -> None:
    a, b = EventServer(token="auto"), EventServer(token="auto")
    assert a.token and b.token and a.token != b.token
    assert len(a.token) >= 40  # 32 random bytes, url-safe base64


def test_repr_and_mask_show_four_characters_only(server: EventServer) -> None:
    assert server.token is not None
    assert server.token not in repr(server)
    assert f"token={server.token[:4]}…" in repr(server)
    assert mask_token("abcdefgh") == "abcd…" and mask_token(None) == ""


def test_direct_route_answers_401_without_the_token_and_streams_with_it(
    server: EventServer,
) -> None:
    server.publish("hello", id="2")
    assert first_event(server.url) == "401"
    assert first_event(server.url + "?token=wrong") == "401"
    bearer = {"Authorization": f"Bearer {server.token}"}
    assert first_event(server.url + "?lastEventId=1", headers=bearer) == "200 data: hello"


def test_a_python_client_made_from_the_server_sends_its_token(server: EventServer) -> None:
    server.publish("one", id="2")
    with EventSource(server, last_event_id="1") as es:
        es.wait_for(lambda s: s.events_received == 1, timeout=WAIT)
        assert es.ready_state == ReadyState.OPEN
    with EventSource(server.url) as bare:  # a 401 fails the connection: no reconnect
        wait_until(lambda: bare.ready_state == ReadyState.CLOSED, what="refused without token")
        assert isinstance(bare.error, SSEError) and "401" in str(bare.error)


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_the_async_client_made_from_the_server_sends_its_token(
    anyio_backend: str,
    server: EventServer,
) -> None:
    server.publish("one", id="2")
    async with AsyncEventSource(server, last_event_id="1") as es:
        async for event in es:
            assert event.data == "one"
            break


def test_a_header_the_caller_set_is_kept(server: EventServer) -> None:
    with EventSource(server, headers={"authorization": "Bearer nope"}) as es:
        wait_until(lambda: es.ready_state == ReadyState.CLOSED, what="the caller's header used")


def test_the_browser_widget_puts_the_token_in_the_page_url(
    server: EventServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    b = BrowserEventSource(server)
    sent = record_messages(b.view, monkeypatch)
    page_message(
        b.view,
        {"kind": "hello", "origin": "https://hub.example.org", "hostname": "hub.example.org"},
    )
    url = sent[-1]["url"]
    assert f"token={server.token}" in url and url.startswith(f"/proxy/{server.port}/events?")
    assert server.token not in repr(b)


def test_a_bind_beyond_loopback_with_a_token_warns_with_the_token_masked(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="sse_nb.server"):
        srv = EventServer(host="0.0.0.0", token="auto", heartbeat=None).start()
    try:
        assert srv.token is not None
        warning = next(r.getMessage() for r in caplog.records if "reachable" in r.getMessage())
        assert f"token {srv.token[:4]}… required" in warning and srv.token not in warning
    finally:
        srv.close()


# -- magics -------------------------------------------------------------------------------------


def test_sse_serve_token_auto_reaches_clients_made_by_name_and_status_masks_it(
    shell: InteractiveShell,
) -> None:
    shell.run_line_magic("sse_serve", "--token auto --name locked")
    srv = shell.magics_manager.registry["SSEMagics"].lookup("locked")
    assert srv.token
    shell.run_line_magic("sse_connect", "locked --as es")
    es = shell.user_ns["es"]
    wait_until(lambda: es.ready_state == ReadyState.OPEN, what="client open with the token")
    shell.run_line_magic("sse_publish", "--to locked hi")
    wait_until(lambda: es.events_received == 1, what="the event")
    status = shell.run_line_magic("sse_status", "")
    text = repr(status) + status._repr_html_()
    assert srv.token not in text and f"token {srv.token[:4]}…" in text
    assert first_event(srv.url) == "401"


def test_sse_serve_with_a_given_token(shell: InteractiveShell) -> None:
    shell.run_line_magic("sse_serve", "--token s3cret-value --name given")
    srv = shell.magics_manager.registry["SSEMagics"].lookup("given")
    assert srv.token == "s3cret-value"


# -- CLI ----------------------------------------------------------------------------------------


def read_line(proc: subprocess.Popen[str], contains: str) -> str:
    """The first line of ``proc``'s stdout containing ``contains`` (bounded by the pipe's end)."""
    assert proc.stdout is not None
    for line in proc.stdout:  # ends at EOF if the process dies
        if contains in line:
            return line
    raise AssertionError(f"no line with {contains!r}; exit code {proc.poll()}")


def test_cli_serve_token_auto_writes_a_private_file_and_prints_it_masked(
    tmp_path: Path,
) -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("SSE_NB_TOKEN", None)
    serve = subprocess.Popen(
        [sys.executable, "-m", "sse_nb", "serve", "--port", "0", "--token", "auto"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    try:
        line = read_line(serve, "serving ")
        url = line.split()[1].rstrip(",")
        path = Path(line.split("the whole token is in ")[1].split(",")[0].split(" ")[0])
        token = path.read_text().strip()
        assert len(token) >= 40 and token not in line and f"token {token[:4]}…" in line
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert first_event(url) == "401"
        listen = [sys.executable, "-m", "sse_nb", "listen", url, "--count", "1"]
        with_file = subprocess.Popen(
            [*listen, "--token-file", str(path)], stdout=subprocess.PIPE, text=True, env=env
        )
        # Published only once it is in: an event before its connection would never reach it.
        read_line(serve, "connected: ")
        refused = subprocess.run(
            [*listen, "--max-attempts", "1"], capture_output=True, text=True, env=env, timeout=WAIT
        )
        assert refused.returncode == 1 and "401" in refused.stderr
        assert serve.stdin is not None
        serve.stdin.write("over the token\n")
        serve.stdin.flush()
        out, _ = with_file.communicate(timeout=WAIT)
        assert "over the token" in out
    finally:
        serve.terminate()
        serve.wait(WAIT)
    assert not path.exists()  # a file made for one run goes with it


# -- jupyter-server-proxy and nginx -------------------------------------------------------------


def test_the_proxy_route_answers_401_without_the_token_and_streams_with_it(
    server: EventServer,
    lab: Lab,  # noqa: F811
) -> None:
    server.publish("through the proxy", id="2")
    # Jupyter's own token in the query, ours in the header: each side reads its own.
    url = f"{lab.url}proxy/{server.port}/events?token={lab.token}&lastEventId=1"
    assert first_event(url) == "401"
    bearer = {"Authorization": f"Bearer {server.token}"}
    assert first_event(url, headers=bearer) == "200 data: through the proxy"


def test_nginx_answers_401_without_the_token_and_streams_with_it(
    server: EventServer, tmp_path: Path
) -> None:
    server.publish("through nginx", id="2")
    nginx = NginxBalancer(tmp_path / "nginx", [server.port]).start()
    try:
        url = nginx.url + "?lastEventId=1"
        assert first_event(url) == "401"
        with_token = f"{url}&token={server.token}"
        assert first_event(with_token) == "200 data: through nginx"
        assert server.token not in nginx.log()
    finally:
        nginx.stop()
