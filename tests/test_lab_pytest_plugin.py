"""The ``sse_replay`` fixture, reached through the installed ``pytest11`` entry point."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from sse_nb.protocol.recording import chunk_line, header_line, response_line

#: Seconds the inner pytest run may take on a loaded machine.
RUN_TIMEOUT = 120


def test_a_users_test_gets_a_recording_served_by_the_fixture(tmp_path: Path) -> None:
    feed = tmp_path / "feed.jsonl"
    feed.write_text(
        "\n".join(
            [
                header_line("http://example.invalid/feed", 0.0),
                response_line(0.0, 200, [("Content-Type", "text/event-stream")]),
                chunk_line(0.0, b"id: 1\ndata: first\n\n"),
                chunk_line(0.05, b"id: 2\ndata: second\n\n"),
            ]
        )
        + "\n"
    )
    (tmp_path / "test_consumer.py").write_text(
        textwrap.dedent(
            f"""
            from sse_nb import EventSource

            def test_consumer_sees_the_recorded_events(sse_replay):
                url = sse_replay({str(feed)!r})
                with EventSource(url) as es:
                    es.wait_for(lambda es: es.events_received >= 2, timeout=30)
                    assert [r.event.data for r in es.history] == ["first", "second"]
            """
        )
    )
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout
