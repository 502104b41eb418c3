"""``sse-nb doctor URL``: the checks that need no page, against a real server, with its token,
behind a real nginx with buffering forced on (the cause), which it reports with the fix, and
through jupyter-server-proxy on the oldest tornado a hub runs (all fine: the body is chunked)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from sse_nb import EventServer
from sse_nb.lab.checkup import Report, check_url
from tests._nginx import start_nginx, stop_nginx
from tests._routes import HUB_TORNADOS, hub_venv, start_hub, stop_hub
from tests._venvs import BUILD_TIMEOUT
from tests.lab import LAB_START_TIMEOUT

#: Seconds the doctor watches: several of the servers' 0.5 s heartbeats.
WATCH = 3.0
#: Seconds a doctor subprocess may take on a loaded machine (start, watch, report).
RUN = 60.0


#: A site that compresses event streams and ignores the server's ``X-Accel-Buffering: no``:
#: nginx then holds the stream (tests/test_route_nginx.py shows the burst it makes).
BUFFERING_FORCED = (
    "gzip on;",
    "gzip_types text/event-stream;",
    "proxy_ignore_headers X-Accel-Buffering;",
)


@pytest.fixture()
def server() -> Iterator[EventServer]:
    with EventServer(heartbeat=0.5).start() as s:
        yield s


def doctor(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sse_nb", "doctor", "--seconds", str(WATCH), *args],
        capture_output=True,
        text=True,
        timeout=RUN,
    )


def test_a_direct_stream_shows_its_heartbeats_and_headers(server: EventServer) -> None:
    result = doctor(server.url)
    assert "ok  connection: HTTP 200, text/event-stream" in result.stdout
    assert "ok  heartbeats:" in result.stdout
    assert "ok  X-Accel-Buffering: no" in result.stdout
    assert "ok  framing: chunked" in result.stdout


def test_a_server_with_a_token_is_a_finding_until_the_token_is_given(tmp_path: Path) -> None:
    with EventServer(heartbeat=0.5, token="auto").start() as srv:
        assert srv.token is not None
        refused = doctor(srv.url)
        assert refused.returncode == 1
        assert "FIX connection" in refused.stdout and "401" in refused.stdout
        assert "--token-file" in refused.stdout
        path = tmp_path / "token"
        path.write_text(srv.token)
        allowed = doctor(srv.url, "--token-file", str(path))
        assert "ok  heartbeats:" in allowed.stdout
        assert srv.token not in allowed.stdout + refused.stdout


def test_nginx_with_buffering_forced_on_holds_the_stream_and_the_fix_says_so(
    server: EventServer, tmp_path: Path
) -> None:
    nginx = start_nginx(tmp_path, server.port, directives=BUFFERING_FORCED)
    try:
        report = check_url(nginx.url + "events", seconds=WATCH)
    finally:
        stop_nginx(nginx)
    # Held whole: not even the response headers come through while the buffer fills.
    (held,) = report.findings
    assert not held.ok and "no response headers within" in held.text
    assert "proxy_buffering off" in held.fix and "proxy_ignore_headers" in held.fix


def test_the_report_escapes_what_it_shows() -> None:
    from sse_nb.lab.checkup import Finding

    hostile = "<script>alert(1)</script>"
    report = Report(hostile, [Finding(hostile, False, hostile, hostile)])
    assert "<script>" not in report.html() and "&lt;script&gt;" in report.html()
    assert hostile in str(report)


@pytest.mark.timeout(BUILD_TIMEOUT + LAB_START_TIMEOUT + 120)
def test_through_jupyter_server_proxy_on_the_oldest_hub_tornado_all_is_fine(
    server: EventServer, tmp_path: Path
) -> None:
    """The cause the framing fixed: tornado 6.4's relay held close-delimited bodies whole."""
    hub = start_hub(hub_venv(HUB_TORNADOS[0]), tmp_path)
    try:
        report = check_url(f"{hub.proxy_url(server.port)}?token={hub.token}", seconds=WATCH)
    finally:
        stop_hub(hub)
    found = {f.topic: f for f in report.findings}
    assert found["framing"].ok and found["framing"].text == "chunked", report
    assert found["heartbeats"].ok, report
    assert report.ok, report
