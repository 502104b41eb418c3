"""The Redis Streams event log: many server processes, one log, resume on any of them.

Every test runs against a real ``redis-server`` (a free loopback port, a temp dir, nothing
persisted) started here and stopped by PID; servers run in this process or as ``sse-nb serve``
subprocesses; the client is sse_nb's own ``EventSource`` over 127.0.0.1.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from sse_nb import EventServer, EventSource, ReadyState, ReconnectPolicy
from sse_nb.errors import LogUnavailable
from sse_nb.server.publisher import LOG_TIMEOUT, RedisPublisher, redact_url
from sse_nb.server.redis_log import RedisEventLog
from tests.cli_process import Proc
from tests.conftest import wait_until
from tests.nginx_balancer import NginxBalancer
from tests.redis_server import RedisServer

if TYPE_CHECKING:
    from IPython.core.interactiveshell import InteractiveShell

#: Longest a subprocess may take to start, print or end, even on a loaded 2-core machine.
PROC_TIMEOUT = 60.0
#: Events the third process publishes while a client moves from one server to another.
EVENTS = 1_000
#: Events a client must have before its server is cut (mid-stream, well before the end).
CUT_AFTER = 150
#: Seconds between the third process's publishes: the 1,000 events take a few seconds, so the
#: cut and the resume happen while it publishes.
PUBLISH_PERIOD = 0.003
#: Events published with ``--history 5``: enough that approximate trimming (whole nodes of 100
#: entries) drops the first ones, far fewer than the default MAXLEN.
TRIMMED_BY_MAXLEN = 500
#: A quick, constant reconnection delay for clients that must move to the other process.
FAST = ReconnectPolicy(delay=0.1, backoff=1.0, jitter=0.0)


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture()
def prefix() -> str:
    """Streams of one test, apart from every other test's on the shared redis-server."""
    return f"t{uuid.uuid4().hex[:12]}"


class Serve(Proc):
    """``sse-nb serve ...`` as a subprocess, its output lines collected as they come."""

    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        super().__init__("serve", *args, env=env, timeout=PROC_TIMEOUT)

    @property
    def url(self) -> str:
        return self.wait_line(r"serving (http://\S+/events)").group(1)


def serve_redis(url: str, prefix: str) -> Serve:
    """One server process on the shared log."""
    return Serve(
        "--port",
        "0",
        "--heartbeat",
        "1",
        "--retry",
        "100",
        "--redis",
        url,
        "--redis-prefix",
        prefix,
    )


PUBLISHER = """
import sys, time
from sse_nb.server.publisher import RedisPublisher
url, prefix, n, period = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
with RedisPublisher(url, prefix=prefix) as pub:
    for i in range(n):
        pub.publish(str(i))
        time.sleep(period)
print("published", n, flush=True)
"""


def start_publisher(url: str, prefix: str) -> subprocess.Popen[str]:
    """The third process: ``EVENTS`` events, data "0" .. "999", paced."""
    return subprocess.Popen(
        [sys.executable, "-c", PUBLISHER, url, prefix, str(EVENTS), str(PUBLISH_PERIOD)],
        stdout=subprocess.PIPE,
        text=True,
    )


def data_of(*sources: EventSource) -> list[str]:
    return [r.event.data for s in sources for r in s.history if r.event.type == "message"]


def received(*sources: EventSource) -> int:
    return len(data_of(*sources))


def assert_exactly_once(got: list[str], n: int) -> None:
    expected = [str(i) for i in range(n)]
    lost = sorted(set(expected) - set(got), key=int)
    duplicated = len(got) - len(set(got))
    assert (lost[:10], duplicated) == ([], 0), f"{len(lost)} lost, {duplicated} duplicated"
    assert got == expected  # and in publish order


# -- in one process ------------------------------------------------------------------------


def test_publish_returns_the_stream_id_and_every_server_delivers_it_once(
    redis_server: RedisServer, prefix: str
) -> None:
    with (
        EventServer(log=RedisEventLog(redis_server.url, prefix=prefix)) as a,
        EventServer(log=RedisEventLog(redis_server.url, prefix=prefix)) as b,
    ):
        on_a, on_b = EventSource(a.url), EventSource(b.url)
        try:
            wait_until(lambda: on_a.ready_state == on_b.ready_state == ReadyState.OPEN)
            ids = [a.publish("0"), b.publish("1"), a.publish({"n": 2})]
            assert all(re.fullmatch(r"\d+-\d+", i) for i in ids)
            wait_until(lambda: received(on_a) == received(on_b) == 3, what="3 events on each")
            for source in (on_a, on_b):
                assert [r.event.id for r in source.history] == ids
                assert data_of(source) == ["0", "1", '{"n": 2}']
            assert a.last_id() == b.last_id() == ids[-1]
            assert a.published == 2 and b.published == 1
        finally:
            on_a.close()
            on_b.close()


def test_resume_on_another_server_replays_what_others_published_meanwhile(
    redis_server: RedisServer, prefix: str
) -> None:
    with (
        EventServer(log=RedisEventLog(redis_server.url, prefix=prefix)) as a,
        EventServer(log=RedisEventLog(redis_server.url, prefix=prefix)) as b,
        RedisPublisher(redis_server.url, prefix=prefix) as third,
    ):
        first = EventSource(a.url)
        wait_until(lambda: first.ready_state == ReadyState.OPEN)
        for i in range(5):
            third.publish(str(i))
        wait_until(lambda: received(first) == 5)
        first.close()
        for i in range(5, 10):
            third.publish(str(i))
        second = EventSource(b.url, last_event_id=first.last_event_id)
        try:
            wait_until(lambda: received(first, second) == 10, what="the replay on b")
            assert_exactly_once(data_of(first, second), 10)
            assert second.gap is None
            info = [c for c in b.clients if c.resumed_from == first.last_event_id]
            assert info and info[0].gap is None
        finally:
            second.close()


def test_an_id_older_than_the_trimmed_stream_gets_the_gap_signal_then_what_is_held(
    redis_server: RedisServer, prefix: str
) -> None:
    log = RedisEventLog(redis_server.url, prefix=prefix, maxlen=5, approximate=False)
    with EventServer(log=log) as server:
        first = EventSource(server.url)
        wait_until(lambda: first.ready_state == ReadyState.OPEN)
        ids = [server.publish(str(i)) for i in range(3)]
        wait_until(lambda: received(first) == 3)
        first.close()
        ids += [server.publish(str(i)) for i in range(3, 13)]  # MAXLEN 5 trims 0..7
        resumed = EventSource(server.url, last_event_id=ids[2])
        try:
            wait_until(lambda: received(resumed) == 5, what="the held events after the gap")
            events = [r.event for r in resumed.history]
            assert events[0].type == "sse_nb.gap"
            assert json.loads(events[0].data) == {"requested": ids[2], "oldest": ids[8]}
            assert [e.data for e in events[1:]] == [str(i) for i in range(8, 13)]
            assert resumed.gap == {"requested": ids[2], "oldest": ids[8]}
        finally:
            resumed.close()


@pytest.mark.parametrize("bad", ["42", "1-0", "99999999999999-0", "not an id"])
def test_an_id_that_is_not_one_of_the_stream_gets_the_gap_signal(
    redis_server: RedisServer, prefix: str, bad: str
) -> None:
    with EventServer(log=RedisEventLog(redis_server.url, prefix=prefix)) as server:
        ids = [server.publish(str(i)) for i in range(3)]
        source = EventSource(server.url, last_event_id=bad)
        try:
            wait_until(lambda: received(source) == 3)
            assert source.gap == {"requested": bad, "oldest": ids[0]}
            assert data_of(source) == ["0", "1", "2"]
        finally:
            source.close()


def test_the_log_answers_replay_like_the_other_logs(redis_server: RedisServer, prefix: str) -> None:
    log = RedisEventLog(redis_server.url, prefix=prefix, maxlen=3, approximate=False)
    try:
        ids = [log.publish("default", str(i), None, None) for i in range(5)]
        after = log.replay("default", ids[2])
        assert (after.count, after.last_id, after.gap, after.oldest) == (2, ids[4], False, ids[2])
        assert after.frames[0] == f"id: {ids[3]}\ndata: 3\n\n".encode()
        trimmed = log.replay("default", ids[0])
        assert (trimmed.count, trimmed.gap, trimmed.oldest) == (3, True, ids[2])
        assert log.replay("default", None).count == 3
        with pytest.raises(TypeError, match="assigns ids itself"):
            log.append("default", None)  # type: ignore[arg-type]
    finally:
        log.close()


def test_entries_trimmed_before_the_tail_read_them_end_live_streams_with_a_gap(
    redis_server: RedisServer, prefix: str
) -> None:
    import redis

    log = RedisEventLog(redis_server.url, prefix=prefix, maxlen=5, approximate=False)
    with EventServer(log=log, retry=100) as server:
        source = EventSource(server.url, reconnect=FAST)
        wait_until(lambda: source.ready_state == ReadyState.OPEN)
        server.publish("0")
        wait_until(lambda: received(source) == 1)
        # 20 entries in one transaction, trimmed to 5: the tail cannot have read the others.
        client = redis.Redis.from_url(redis_server.url, decode_responses=True)
        with client.pipeline(transaction=True) as pipe:
            for i in range(1, 21):
                pipe.xadd(f"{prefix}:default", {"data": str(i)}, maxlen=5, approximate=False)
            ids = pipe.execute()
        client.close()
        try:
            wait_until(lambda: source.gap is not None, what="the gap signal after the resume")
            assert source.gap["oldest"] == ids[15]
            wait_until(lambda: data_of(source)[-1:] == ["20"])
            assert data_of(source) == ["0"] + [str(i) for i in range(16, 21)]
            reasons = [c.close_reason for c in server.clients if c.state == "closed"]
            assert reasons == ["dropped by server"]
        finally:
            source.close()


def test_redis_stopped_and_restarted_mid_stream_keeps_clients_and_loses_nothing(
    tmp_path: Path, prefix: str
) -> None:
    redis_server = RedisServer(tmp_path / "redis").start()
    try:
        log = RedisEventLog(redis_server.url, prefix=prefix)
        with EventServer(log=log, heartbeat=0.3) as server:
            from sse_nb.widgets import ServerPanel

            panel = ServerPanel(server)
            sources = [EventSource(server.url) for _ in range(3)]
            wait_until(lambda: all(s.ready_state == ReadyState.OPEN for s in sources))
            for i in range(50):
                server.publish(str(i))
            wait_until(lambda: all(received(s) == 50 for s in sources), what="events before")

            redis_server.stop()
            started = time.monotonic()
            with pytest.raises(LogUnavailable):
                server.publish("never")
            assert time.monotonic() - started < LOG_TIMEOUT
            status = wait_until(lambda: server.log_error, what="the log to be reported down")
            assert isinstance(status, LogUnavailable)
            assert str(status).startswith("log unavailable since ")
            assert log.unavailable_since is not None
            wait_until(lambda: panel.log_error.startswith("log unavailable since "), what="panel")
            # Heartbeats go on: bytes keep reaching every client while the log is away.
            sent = {c.id: c.bytes_sent for c in server.clients}
            wait_until(
                lambda: all(c.bytes_sent > sent[c.id] + 2 for c in server.clients),
                what="heartbeats during the outage",
            )
            # A client that resumes now waits, connected, until its replay can be read.
            last_before = sources[0].last_event_id
            late = EventSource(server.url, last_event_id=last_before)
            wait_until(lambda: any(c.resumed_from == last_before for c in server.clients))
            assert late.ready_state == ReadyState.CONNECTING

            redis_server.start()  # same port, empty: nothing was persisted
            wait_until(lambda: server.log_error is None, 30, what="the tail to reconnect")
            wait_until(lambda: panel.log_error == "", what="the panel to clear it")
            panel.close()
            for i in range(50, 100):
                server.publish(str(i))
            wait_until(lambda: all(received(s) == 100 for s in sources), what="events after")
            # The restarted Redis kept nothing: the late client hears of the gap, then goes on.
            wait_until(lambda: received(late) == 50, what="the late client's events")
            assert late.gap == {"requested": last_before, "oldest": None}
            assert data_of(late) == [str(i) for i in range(50, 100)]
            for s in sources:
                assert_exactly_once(data_of(s), 100)
                assert s.ready_state == ReadyState.OPEN and s.reconnects == 0
            assert all(c.state == "open" for c in server.clients)
            for s in [*sources, late]:
                s.close()
    finally:
        redis_server.stop()


def test_sse_serve_magic_takes_a_redis_log(
    redis_server: RedisServer, shell: InteractiveShell
) -> None:
    from IPython.core.error import UsageError

    shell.run_line_magic("sse_serve", f"--name a --redis {redis_server.url} --history 50")
    shell.run_line_magic("sse_serve", f"--name b --redis {redis_server.url}")
    registry = shell.magics_manager.registry["SSEMagics"]
    a = registry.lookup("a")
    shell.run_line_magic("sse_connect", "b --as es")
    es = shell.user_ns["es"]
    wait_until(lambda: es.ready_state == ReadyState.OPEN)
    shell.run_line_magic("sse_publish", "--to a hello")
    wait_until(lambda: data_of(es) == ["hello"], what="a's event on b's client")
    assert es.last_event_id == a.last_id()
    with pytest.raises(UsageError, match="two different logs"):
        shell.run_line_magic("sse_serve", f"--name c --redis {redis_server.url} --log x.db")


def test_history_with_a_redis_log_is_refused_naming_maxlen() -> None:
    log = RedisEventLog("redis://127.0.0.1:1/0")
    with pytest.raises(ValueError, match=r"history=50 .*give RedisEventLog\(\.\.\., maxlen=N\)"):
        EventServer(history=50, log=log)


def test_sse_serve_magic_gives_history_to_the_redis_log_as_its_maxlen(
    redis_server: RedisServer, shell: InteractiveShell
) -> None:
    shell.run_line_magic("sse_serve", f"--name short --redis {redis_server.url} --history 5")
    server = shell.magics_manager.registry["SSEMagics"].lookup("short")
    first = server.publish("0")
    for i in range(1, TRIMMED_BY_MAXLEN):
        server.publish(str(i))
    with EventSource(server, last_event_id=first) as es:
        wait_until(lambda: es.gap is not None, what="the gap signal: the first id was trimmed")
        assert es.gap["requested"] == first


def test_sse_status_says_when_the_redis_log_is_unavailable(shell: InteractiveShell) -> None:
    shell.run_line_magic("sse_serve", "--name away --redis redis://127.0.0.1:1/0")
    server = shell.magics_manager.registry["SSEMagics"].lookup("away")
    with pytest.raises(LogUnavailable):
        server.publish("x")
    rows = shell.run_line_magic("sse_status", "").rows
    assert "log unavailable since " in rows[0][-1]


def test_passwords_in_redis_urls_are_never_shown() -> None:
    url = "redis://user:s3cret@127.0.0.1:6379/0"
    assert redact_url(url) == "redis://user:***@127.0.0.1:6379/0"
    assert "s3cret" not in repr(RedisEventLog(url))
    assert "s3cret" not in repr(RedisPublisher(url))
    with pytest.raises(LogUnavailable) as caught:
        RedisPublisher("redis://:s3cret@127.0.0.1:1/0").publish("x")
    assert "s3cret" not in str(caught.value)


def test_the_scale_out_guide_runs_as_written(redis_server: RedisServer) -> None:
    text = (Path(__file__).resolve().parent.parent / "docs" / "scale-out.md").read_text()
    code = re.search(r"```python\n(.*?)```", text, re.S)
    assert code is not None
    namespace: dict[str, object] = {}
    exec(code.group(1).replace("redis://127.0.0.1:6379/0", redis_server.url), namespace)
    server = namespace["server"]
    assert isinstance(server, EventServer)
    try:
        assert re.fullmatch(r"\d+-\d+", server.last_id() or "")
    finally:
        server.close()
    # The nginx configuration shown is the one the balancer tests run.
    nginx = re.search(r"```nginx\n(.*?)```", text, re.S)
    assert nginx is not None
    directives = [line.split("#")[0].strip() for line in nginx.group(1).splitlines()]
    for directive in directives:
        if directive.startswith(("proxy_", "location")):
            assert directive in NginxBalancer(Path("."), [1]).config(), directive


# -- many processes ------------------------------------------------------------------------


def test_a_client_cut_from_one_process_resumes_on_another_while_a_third_publishes(
    redis_server: RedisServer, prefix: str
) -> None:
    a, b = serve_redis(redis_server.url, prefix), serve_redis(redis_server.url, prefix)
    publisher: subprocess.Popen[str] | None = None
    on_a = on_b = None
    try:
        on_a = EventSource(a.url)
        wait_until(lambda: on_a.ready_state == ReadyState.OPEN)
        publisher = start_publisher(redis_server.url, prefix)
        wait_until(lambda: received(on_a) >= CUT_AFTER, PROC_TIMEOUT, what="events on a")
        a.stop(signal.SIGKILL)
        wait_until(lambda: on_a.ready_state != ReadyState.OPEN, what="the client to see the cut")
        on_a.close()
        assert received(on_a) < EVENTS, "the cut came after the last event"
        on_b = EventSource(b.url, last_event_id=on_a.last_event_id)
        assert publisher.wait(PROC_TIMEOUT) == 0
        wait_until(lambda: received(on_a, on_b) >= EVENTS, PROC_TIMEOUT, what="every event")
        assert_exactly_once(data_of(on_a, on_b), EVENTS)
        b.wait_line(rf"resuming after id '{re.escape(on_a.last_event_id or '')}'")
    finally:
        for s in (on_a, on_b):
            if s is not None:
                s.close()
        if publisher is not None and publisher.poll() is None:
            publisher.kill()
            publisher.wait(PROC_TIMEOUT)
        a.stop()
        b.stop()


def test_through_nginx_a_client_moves_to_the_surviving_process_with_nothing_lost(
    redis_server: RedisServer, prefix: str, tmp_path: Path
) -> None:
    a, b = serve_redis(redis_server.url, prefix), serve_redis(redis_server.url, prefix)
    ports = [int(re.search(r":(\d+)/", s.url).group(1)) for s in (a, b)]  # type: ignore[union-attr]
    nginx = NginxBalancer(tmp_path / "nginx", ports).start()
    publisher: subprocess.Popen[str] | None = None
    source = EventSource(nginx.url, reconnect=FAST)
    try:
        wait_until(lambda: source.ready_state == ReadyState.OPEN, PROC_TIMEOUT)
        serving = wait_until(
            lambda: [s for s in (a, b) if any("connected:" in x for x in s.out)],
            what="the process serving the client",
        )
        assert len(serving) == 1
        cut, survivor = (a, b) if serving[0] is a else (b, a)
        publisher = start_publisher(redis_server.url, prefix)
        wait_until(lambda: received(source) >= CUT_AFTER, PROC_TIMEOUT, what="events via nginx")
        cut.stop(signal.SIGKILL)
        assert publisher.wait(PROC_TIMEOUT) == 0
        wait_until(lambda: received(source) >= EVENTS, PROC_TIMEOUT, what="every event")
        assert_exactly_once(data_of(source), EVENTS)
        assert source.reconnects >= 1
        survivor.wait_line(r"connected: .*resuming after id '\d+-\d+'")
    finally:
        source.close()
        if publisher is not None and publisher.poll() is None:
            publisher.kill()
            publisher.wait(PROC_TIMEOUT)
        nginx.stop()
        a.stop()
        b.stop()


def test_workers_share_one_port_and_the_password_is_never_printed(tmp_path: Path) -> None:
    redis_server = RedisServer(tmp_path / "redis", password="s3cret-pw").start()
    serve = Serve("--port", "0", "--workers", "2", "--redis", redis_server.url)
    sources: list[EventSource] = []
    try:
        url = serve.wait_line(r"serving (http://\S+/events) with 2 workers").group(1)
        sources = [EventSource(url) for _ in range(16)]
        wait_until(lambda: all(s.ready_state == ReadyState.OPEN for s in sources), PROC_TIMEOUT)
        wait_until(
            lambda: (
                {m.group(1) for x in serve.out if (m := re.match(r"\[worker (\d)\] conn", x))}
                == {"0", "1"}
            ),
            what="connections on both workers",
        )
        with RedisPublisher(redis_server.url) as pub:
            pub.publish("hello")
        wait_until(lambda: all(data_of(s) == ["hello"] for s in sources), what="the event")
    finally:
        for s in sources:
            s.close()
        serve.stop()
        redis_server.stop()
    assert serve.popen.returncode == 0
    assert any("stopped 2 workers" in x for x in serve.out)
    assert "s3cret-pw" not in "\n".join(serve.out + serve.err)
    assert any("redis://:***@127.0.0.1" in x for x in serve.out)


def test_workers_need_a_shared_log() -> None:
    serve = Serve("--port", "0", "--workers", "2")
    assert serve.popen.wait(PROC_TIMEOUT) == 2
    wait_until(lambda: serve.err, what="the error line")
    assert "--workers needs --redis" in serve.err[0]


def test_serve_gives_history_to_the_redis_log_as_its_maxlen(
    redis_server: RedisServer, prefix: str
) -> None:
    import redis

    serve = Proc(
        "serve",
        *("--port", "0", "--redis", redis_server.url, "--redis-prefix", prefix),
        *("--history", "5"),
        stdin=subprocess.PIPE,
        timeout=PROC_TIMEOUT,
    )
    try:
        serve.wait_line(r"serving http://")
        serve.write("".join(f"{i}\n" for i in range(TRIMMED_BY_MAXLEN)))
        serve.close_stdin()
        serve.wait_line(rf"stdin ended after {TRIMMED_BY_MAXLEN} lines")
    finally:
        serve.stop()
    client = redis.Redis.from_url(redis_server.url)
    try:
        kept = client.xlen(f"{prefix}:default")
    finally:
        client.close()
    # Trimming with ``~`` drops whole nodes of up to 100 entries and keeps at least MAXLEN.
    assert 5 <= kept < TRIMMED_BY_MAXLEN


def test_trim_on_a_redis_log_gives_the_next_resume_from_a_trimmed_id_the_gap_signal(
    redis_server: RedisServer, prefix: str
) -> None:
    with EventServer(log=RedisEventLog(redis_server.url, prefix=prefix)) as server:
        ids = [server.publish(str(i)) for i in range(10)]
        assert server.faults.trim(3) == 7
        resumed = EventSource(server.url, last_event_id=ids[2])
        try:
            wait_until(lambda: received(resumed) == 3, what="the 3 held, after the gap")
            assert resumed.gap == {"requested": ids[2], "oldest": ids[7]}
            assert [r.event.data for r in resumed.history][1:] == ["7", "8", "9"]
        finally:
            resumed.close()
        assert [f.kind for f in server.faults.history] == ["trim"]


def test_restart_with_a_redis_log_and_the_resume_still_replays(
    redis_server: RedisServer, prefix: str
) -> None:
    with EventServer(heartbeat=None, log=RedisEventLog(redis_server.url, prefix=prefix)) as server:
        port = server.port
        # A second's delay: "meanwhile" is published while the client is away, so it can only
        # come back by the resume's replay (a connection without Last-Event-ID starts live).
        es = EventSource(server.url, reconnect=ReconnectPolicy(delay=1.0, jitter=0.0))
        try:
            wait_until(lambda: es.ready_state == ReadyState.OPEN)
            server.publish("before")
            wait_until(lambda: received(es) == 1)
            server.faults.restart()
            assert server.port == port
            server.publish("meanwhile")
            wait_until(lambda: es.reconnects >= 1 and es.ready_state == ReadyState.OPEN)
            server.publish("after")
            wait_until(lambda: received(es) == 3)
            assert [r.event.data for r in es.history] == ["before", "meanwhile", "after"]
            assert es.gap is None
        finally:
            es.close()
        assert [f.kind for f in server.faults.history] == ["restart"]
