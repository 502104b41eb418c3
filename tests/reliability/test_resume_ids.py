"""Ids beyond ASCII resume through the ``Last-Event-ID`` header: no gap, 0 duplicates.

Browsers send the header as UTF-8; Tornado decodes header bytes as latin-1. Without re-decoding,
``é`` arrives as ``Ã©``, the id is unknown, and the client gets a gap signal and the whole
history again (duplicates). Shown with raw UTF-8 bytes and with Chromium's own EventSource.
"""

from __future__ import annotations

import socket
from typing import Any

import pytest

from sse_nb.server import EventServer
from tests.conftest import wait_until

from ._net import STEP_TIMEOUT, StreamReader

IDS = ["prix-é-1", "価格-2", "✓-3"]
LATER = ["prix-é-4", "価格-5", "✓-6"]


def test_a_utf8_header_resumes_after_its_id() -> None:
    with EventServer(heartbeat=None) as srv:
        for i in IDS + LATER:
            srv.publish(f"data of {i}", id=i)
        raw = (
            b"GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\nLast-Event-ID: "
            + IDS[-1].encode("utf-8")
            + b"\r\n\r\n"
        )
        sock = socket.create_connection(("127.0.0.1", srv.port), timeout=STEP_TIMEOUT)
        sock.sendall(raw)
        reader = StreamReader(sock)
        assert reader.read_head() == 200
        assert b"X-SSE-NB-Gap" not in reader.head
        reader.read_until(lambda: len(reader.events) == len(LATER))
        assert reader.ids() == LATER
        reader.sock.close()


@pytest.mark.browser
def test_chromium_resumes_a_non_ascii_id_with_no_duplicates(page: Any, page_origin: str) -> None:
    with EventServer(heartbeat=None, retry=100, cors=[page_origin]) as server:
        page.goto(page_origin + "/")
        page.evaluate("url => window.connect(url)", server.url)
        wait_until(lambda: page.evaluate("window.opened") == 1, what="EventSource open")
        for i in IDS:
            server.publish(f"data of {i}", id=i)
        wait_until(lambda: len(page.evaluate("window.ids")) == len(IDS), what="first events")
        assert server.disconnect() == 1
        for i in LATER:
            server.publish(f"data of {i}", id=i)
        wait_until(lambda: page.evaluate("window.opened") == 2, what="reconnected")
        wait_until(lambda: len(page.evaluate("window.ids")) >= len(IDS + LATER), what="all events")
        ids = page.evaluate("window.ids")
        gaps = page.evaluate("window.gaps")
        page.evaluate("window.source.close()")
    assert ids == IDS + LATER  # each once, in order: 0 duplicates
    assert gaps == 0
    second = server.clients[1]
    assert second.resumed_from == IDS[-1] and second.gap is None
