"""``sse-nb record`` and ``sse-nb play`` as real subprocesses: a stream recorded, then replayed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from sse_nb.protocol.recording import Recording
from tests.test_cli import Proc, _events, spawn  # noqa: F401  (the fixture)


def test_record_then_play_serves_the_same_bytes_and_events(
    spawn: type[Proc],  # noqa: F811
    tmp_path: Path,
) -> None:
    server = spawn("serve", "--port", "0", "--heartbeat", "60", stdin=subprocess.PIPE)
    url = server.wait_line(r"serving (\S+)")[1]
    out = tmp_path / "rec.jsonl"
    recorder = spawn("record", url, "-o", str(out), "--count", "3")
    recorder.wait_line("recording")
    server.wait_line("connected")
    server.write("one\ntwo\nthree\n")
    assert recorder.finish(sig=None) == 0
    recorder.wait_line(r"recorded 1 response\(s\)")
    recorded = Recording.load(out).responses[0]
    assert b"data: three\n\n" in recorded.body

    player = spawn("play", str(out), "--port", "0", "--speed", "0")
    play_url = player.wait_line(r"playing \S+ at (\S+)")[1]
    listener = spawn("listen", play_url, "--json", "--count", "3")
    listener.wait_line("three")
    assert listener.finish(sig=None) == 0
    assert [e["data"] for e in _events(listener)] == ["one", "two", "three"]
    assert player.finish() == 0
    assert server.finish() == 0


def test_play_of_a_file_that_is_not_a_recording_exits_1(tmp_path: Path) -> None:
    bad = tmp_path / "x.jsonl"
    bad.write_text("hello\n")
    done = subprocess.run(
        [sys.executable, "-m", "sse_nb", "play", str(bad), "--port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1 and "line 1" in done.stderr
