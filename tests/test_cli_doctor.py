"""``sse-nb doctor URL``: the checks that need no page, against a real server, with its token,
behind a real nginx with buffering forced on (the cause), which it reports with the fix, behind
nginx that drops or replaces the request's ``Accept`` (each reported with the line to remove),
and through jupyter-server-proxy on the oldest tornado a hub runs (all fine: the body is
chunked)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from sse_nb import EventServer
from sse_nb.lab.checkup import Report, accept_finding, check_url
from tests._nginx import start_nginx, stop_nginx
from tests._routes import HUB_TORNADOS, hub_venv, start_hub, stop_hub
from tests._venvs import BUILD_TIMEOUT
from tests.lab import LAB_START_TIMEOUT

if TYPE_CHECKING:
    from tests.odd_server import OddServer

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
    assert "ok  Accept: text/event-stream, as a browser's EventSource sends it" in result.stdout
    assert result.returncode == 0, result.stdout


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


def accept_rows(stdout: str) -> list[str]:
    """The Accept finding's line and its fix line, from a doctor's output."""
    lines = stdout.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith(("ok  Accept", "FIX Accept")))
    return lines[at : at + 2]


def accept_behind_nginx(
    server: EventServer, tmp_path: Path, accept: str
) -> tuple[subprocess.CompletedProcess[str], str, str]:
    """``sse-nb doctor`` through nginx that sets ``Accept`` to ``accept``: the run, and its
    Accept finding and fix lines. The stream itself works (sse_nb's server does not negotiate)."""
    nginx = start_nginx(tmp_path, server.port, directives=(f'proxy_set_header Accept "{accept}";',))
    try:
        result = doctor(nginx.url + "events")
    finally:
        stop_nginx(nginx)
    assert "ok  connection: HTTP 200, text/event-stream" in result.stdout
    finding, fix = accept_rows(result.stdout)
    return result, finding, fix


def test_nginx_that_drops_accept_is_reported_with_the_line_to_remove(
    server: EventServer, tmp_path: Path
) -> None:
    # An empty value makes nginx leave the header out of the request it passes on.
    result, finding, fix = accept_behind_nginx(server, tmp_path, "")
    assert finding.startswith("FIX Accept: the request reached the server with no Accept header")
    assert "jupyter-server-proxy streams a response only when Accept is exactly" in finding
    assert fix.startswith("    fix: the probe sent `Accept: text/event-stream`")
    assert 'remove `proxy_set_header Accept "";`' in fix
    assert result.returncode == 1


def test_nginx_that_replaces_accept_is_reported_as_a_wrong_accept(
    server: EventServer, tmp_path: Path
) -> None:
    result, finding, fix = accept_behind_nginx(server, tmp_path, "application/json")
    assert finding.startswith(
        "FIX Accept: the request reached the server with Accept 'application/json', which "
        "excludes text/event-stream: a server that negotiates answers 406 Not Acceptable"
    )
    assert fix.startswith("    fix: send `Accept: text/event-stream`: the probe did")
    assert "remove `proxy_set_header Accept ...`" in fix
    assert result.returncode == 1


def test_nginx_that_sets_a_wildcard_accept_is_reported_with_the_proxy_route_warning(
    server: EventServer, tmp_path: Path
) -> None:
    result, finding, fix = accept_behind_nginx(server, tmp_path, "*/*")
    assert finding.startswith("FIX Accept: the request reached the server with Accept '*/*'")
    assert "only through a wildcard" in finding
    assert "remove `proxy_set_header Accept ...`" in fix
    assert result.returncode == 1


def test_a_server_that_does_not_say_what_accept_reached_it_is_no_finding(odd: OddServer) -> None:
    report = check_url(odd.url("/heartbeats"), seconds=1.0)
    found = {f.topic: f for f in report.findings}
    assert found["Accept"].ok, report
    assert "sent text/event-stream; the server does not say" in found["Accept"].text


def test_an_accept_finding_names_the_route_and_tells_a_wildcard_from_a_list() -> None:
    wildcard = accept_finding("proxy route: Accept", "*/*", "the proxy route")
    assert not wildcard.ok and "only through a wildcard" in wildcard.text
    assert "a proxy on the proxy route replaces it" in wildcard.fix
    listed = accept_finding("Accept", "application/json, text/event-stream", "the route")
    assert listed.ok and not listed.fix
    assert "only when Accept is exactly text/event-stream" in listed.text


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
    # jupyter-server-proxy passes the request's Accept on as it came.
    assert found["Accept"].ok and found["Accept"].text.startswith("text/event-stream,"), report
    assert report.ok, report
