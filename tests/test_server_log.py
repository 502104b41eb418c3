"""The event logs on their own: ring eviction, replay start by id, gaps, SQLite durability."""

from __future__ import annotations

import inspect
import re
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from sse_nb import EventServer, EventSource
from sse_nb.errors import EventLogError
from sse_nb.protocol import encode_event
from sse_nb.server import DEFAULT_HISTORY, MemoryLog, SQLiteLog, StoredEvent
from tests.conftest import wait_until


def ev(seq: int, id: str | None = None) -> StoredEvent:
    eid = id or str(seq)
    return StoredEvent(seq, eid, encode_event(f"d{seq}", id=eid))


def fill(log: MemoryLog, n: int, channel: str = "c") -> None:
    for seq in range(1, n + 1):
        log.append(channel, ev(seq))


def test_replay_after_a_held_id_returns_the_rest_in_order() -> None:
    log = MemoryLog(history=100)
    fill(log, 10)
    r = log.replay("c", "7")
    assert (r.count, r.last_id, r.gap, r.oldest) == (3, "10", False, "1")
    assert r.frames == [ev(8).frame, ev(9).frame, ev(10).frame]
    assert log.replay("c", "10").count == 0


def test_ring_keeps_only_history_and_forgets_evicted_ids() -> None:
    log = MemoryLog(history=5)
    fill(log, 12)
    assert log.replay("c", None).count == 5
    assert log.replay("c", "3").gap is True
    r = log.replay("c", "7")  # just evicted: nothing missing
    assert (r.gap, r.count, r.oldest) == (False, 5, "8")
    assert len(log._rings["c"].index) == 5
    last = log.last("c")
    assert last is not None and last.id == "12"


def test_unknown_id_or_channel_is_a_gap() -> None:
    log = MemoryLog(history=5)
    fill(log, 3)
    assert log.replay("c", "nope").gap is True
    assert log.replay("c", "nope").count == 3
    empty = log.replay("other", "1")
    assert (empty.gap, empty.count, empty.oldest) == (True, 0, None)
    assert log.replay("other", None).gap is False


def test_caller_given_ids_are_found_and_a_repeated_id_means_its_newest_use() -> None:
    log = MemoryLog(history=10)
    log.append("c", ev(1, "a"))
    log.append("c", ev(2, "b"))
    log.append("c", ev(3, "a"))
    log.append("c", ev(4))
    assert log.replay("c", "b").count == 2
    assert log.replay("c", "a").count == 1


@pytest.mark.parametrize("history", [0, -1, True, 2.5])
def test_history_must_be_a_positive_int(history: object) -> None:
    with pytest.raises(ValueError, match="history"):
        MemoryLog(history=history)  # type: ignore[arg-type]


def test_sqlite_log_reloads_the_newest_history_and_trims_the_file(tmp_path: Path) -> None:
    path = tmp_path / "log.sqlite"
    log = SQLiteLog(path, history=50)
    fill(log, 3_000)
    log.commit()
    log.close()
    again = SQLiteLog(path, history=50)
    try:
        last = again.last("c")
        assert last is not None and (last.seq, last.id) == (3_000, "3000")
        r = again.replay("c", "2950")  # just before the oldest held: no gap
        assert (r.gap, r.count, r.oldest) == (False, 50, "2951")
        assert again.replay("c", "100").gap is True
        rows = again._db.execute("SELECT COUNT(*) FROM events").fetchone()[0]
        assert rows <= 50 + 1 + 1_000
    finally:
        again.close()


def test_closing_a_server_with_an_sqlite_log_twice_is_harmless(tmp_path: Path) -> None:
    from sse_nb import EventServer

    server = EventServer(log=str(tmp_path / "events.sqlite")).start()
    server.publish("kept")
    server.close()
    server.close()
    with EventServer(log=str(tmp_path / "events.sqlite")) as again:
        assert again.last_id() == "1"


def test_sqlite_log_trims_every_channel_when_channels_take_turns(tmp_path: Path) -> None:
    log = SQLiteLog(tmp_path / "log.sqlite", history=20)
    try:
        for seq in range(1, 3_001):
            for channel in ("a", "b", "c"):
                log.append(channel, ev(seq))
            if seq % 100 == 0:
                log.commit()
        assert log._db is not None
        rows = dict(log._db.execute("SELECT channel, COUNT(*) FROM events GROUP BY channel"))
        assert set(rows) == {"a", "b", "c"}
        assert all(n <= 20 + 1 + 1_000 for n in rows.values()), rows
    finally:
        log.close()


def test_sqlite_log_file_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "log.sqlite"
    log = SQLiteLog(path, history=10)
    try:
        fill(log, 3)
        log.commit()
        for file in (path, Path(f"{path}-wal")):
            assert file.stat().st_mode & 0o777 == 0o600, file
    finally:
        log.close()


def test_a_second_log_on_the_same_file_is_refused_at_once_as_in_use(tmp_path: Path) -> None:
    path = tmp_path / "log.sqlite"
    first = SQLiteLog(path, history=10)
    try:
        fill(first, 3)
        first.commit()
        started = time.monotonic()
        with pytest.raises(EventLogError, match=f"log file in use: {re.escape(str(path))}"):
            SQLiteLog(path, history=10)
        assert time.monotonic() - started < 2.0  # not SQLite's 5 s default busy wait
        fill(first, 5)  # the first log still writes: the refused one touched nothing
        first.commit()
    finally:
        first.close()
    again = SQLiteLog(path, history=10)  # released by close()
    try:
        last = again.last("c")
        assert last is not None and last.id == "5"
    finally:
        again.close()


def test_errors_at_open_name_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-folder" / "log.sqlite"
    with pytest.raises(EventLogError, match=re.escape(str(missing))) as caught:
        SQLiteLog(missing)
    assert isinstance(caught.value, OSError)
    corrupt = tmp_path / "corrupt.sqlite"
    corrupt.write_bytes(b"not a database, " * 512)
    with pytest.raises(EventLogError, match=re.escape(str(corrupt))):
        SQLiteLog(corrupt)


def test_a_failed_write_keeps_the_events_in_memory_and_writes_them_later(tmp_path: Path) -> None:
    path = tmp_path / "log.sqlite"
    log = SQLiteLog(path, history=1_000)
    try:
        fill(log, 2)
        log.commit()
        assert log._db is not None
        pages = log._db.execute("PRAGMA page_count").fetchone()[0]
        log._db.execute(f"PRAGMA max_page_count = {pages}")  # the file cannot grow: "disk full"
        big = [StoredEvent(s, str(s), encode_event("x" * 4_000, id=str(s))) for s in range(3, 53)]
        for e in big:
            log.append("c", e)
        with pytest.raises(
            EventLogError, match=f"cannot write to the event log {re.escape(str(path))}"
        ):
            log.commit()
        assert log.replay("c", "2").count == 50  # still replayed from memory
        log._db.execute("PRAGMA max_page_count = 1000000")  # space again
        log.commit()
    finally:
        log.close()
    again = SQLiteLog(path, history=1_000)
    try:
        assert again.replay("c", None).count == 52
    finally:
        again.close()


@pytest.mark.parametrize(
    ("make", "advice"),
    [
        pytest.param(lambda path: MemoryLog(history=10), r"MemoryLog\(history=N\)", id="memory"),
        pytest.param(
            lambda path: SQLiteLog(path, history=10), r"SQLiteLog\(path, history=N\)", id="sqlite"
        ),
    ],
)
@pytest.mark.parametrize("history", [5, DEFAULT_HISTORY])
def test_history_with_a_log_object_is_refused_naming_where_its_size_goes(
    tmp_path: Path, make: Callable[[Path], MemoryLog], advice: str, history: int
) -> None:
    log = make(tmp_path / "log.sqlite")
    try:
        with pytest.raises(ValueError, match=rf"history={history} sizes .*; give {advice}"):
            EventServer(history=history, log=log)
        EventServer(log=log).close()  # the log's own size, no complaint
    finally:
        log.close()


def test_a_log_file_path_is_sized_by_history(tmp_path: Path) -> None:
    with EventServer(log=tmp_path / "log.sqlite", history=3) as server:
        for i in range(5):
            server.publish(str(i))
        wait_until(lambda: server.last_id() == "5", what="the five events")
        with EventSource(server, last_event_id="1") as es:
            wait_until(lambda: es.gap is not None, what="the gap signal")
            assert es.gap == {"requested": "1", "oldest": "3"}


def test_the_history_default_reads_as_its_name_in_the_signature() -> None:
    assert str(inspect.signature(EventServer).parameters["history"]).endswith("= DEFAULT_HISTORY")
