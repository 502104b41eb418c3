"""The SQLite log's file stops growing (a full disk) while a client streams: nothing lost live.

The failure is real: SQLite's ``max_page_count`` caps the file at its current size, so the
batch's write fails with SQLITE_FULL ("database or disk is full"), as on a full disk.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from sse_nb.errors import EventLogError
from sse_nb.server import EventServer, SQLiteLog
from sse_nb.widgets import ServerPanel
from tests.conftest import wait_until

from ._net import StreamReader, open_stream

#: Events published while the file cannot grow, and their size: far more than the file holds.
EVENTS = 100
EVENT_BYTES = 4_000


@pytest.fixture()
def server(serve: Callable[..., EventServer], tmp_path: Path) -> EventServer:
    return serve(log=tmp_path / "events.sqlite")


def test_a_full_disk_loses_nothing_live_and_is_reported(server: EventServer) -> None:
    reader = StreamReader(open_stream(server.port, "/events?client=live"))
    try:
        assert reader.read_head() == 200
        wait_until(lambda: server.clients, what="client registered")
        server.publish("before")
        reader.read_until(lambda: len(reader.events) == 1)
        log = server._log
        assert isinstance(log, SQLiteLog) and log._db is not None
        pages = server._loop.call(lambda: log._db.execute("PRAGMA page_count").fetchone()[0])
        server._loop.call(lambda: log._db.execute(f"PRAGMA max_page_count = {pages}"))
        panel = ServerPanel(server)

        # One batch (published on the loop thread, so one drain): its write fails.
        ids = server._loop.call(lambda: [server.publish("x" * EVENT_BYTES) for _ in range(EVENTS)])
        reader.read_until(lambda: len(reader.events) == 1 + EVENTS)
        assert reader.ids() == ["1", *ids]
        error = wait_until(lambda: server.log_error, what="the failure reported")
        assert "database or disk is full" in str(error)
        assert str(log.path) in str(error)
        wait_until(lambda: "database or disk is full" in panel.log_error, what="panel shows it")

        # The next publish() raises, so a publishing program hears of it; nothing is sent.
        with pytest.raises(EventLogError, match="this event was not published"):
            server.publish("refused")

        # Space again: the rows held back are written with the next batch.
        server._loop.call(lambda: log._db.execute("PRAGMA max_page_count = 1000000"))
        last = server.publish("space again")
        reader.read_until(lambda: reader.ids()[-1:] == [last])
        assert reader.ids() == ["1", *ids, last]
        wait_until(lambda: server.log_error is None, what="the log writable again")
        wait_until(lambda: panel.log_error == "", what="panel clears it")
        count = server._loop.call(lambda: log._db.execute("SELECT COUNT(*) FROM events").fetchone())
        assert count[0] == 2 + EVENTS
        panel.close()
    finally:
        reader.sock.close()
