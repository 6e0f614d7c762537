"""The append-only event log: durability settings, migrations, recovery."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

import pytest

from kiosk.clock import SimulatedClock, SystemClock, read_boot_id
from kiosk.migrations import migrations
from kiosk.store import DB_NAME, Store, StoreUnavailable


@pytest.fixture
def store(tmp_path, clock):
    s = Store(tmp_path, kiosk_id="test-w1", unit="第一組", window="3", clock=clock)
    yield s
    s.close()


def raw(path):
    """A plain sqlite3 connection to the file, independent of the Store."""
    return sqlite3.connect(path / DB_NAME)


def test_connection_is_wal_with_synchronous_full(store):
    assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    # WAL is a property of the file: another connection sees it too.
    conn = raw(store.data_dir)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        conn.close()


def test_connection_after_a_reopen_keeps_durable_settings(store):
    store.close()
    store.append("rating", level=1)  # reopens
    assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.conn.execute("PRAGMA synchronous").fetchone()[0] == 2


def test_migrations_applied_at_start_up(store):
    tables = {r[0] for r in store.conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"events", "meta", "_sqlite_migrations"} <= tables
    applied = {r[0] for r in store.conn.execute("SELECT name FROM _sqlite_migrations")}
    assert applied == {m.name for m in migrations._migrations}
    assert store.store_id


def test_reopening_is_idempotent_and_keeps_everything(tmp_path, clock):
    first = Store(tmp_path, kiosk_id="k", clock=clock)
    ids = [first.append("rating", level=n).id for n in (1, 2, 3)]
    store_id = first.store_id
    schema = first.conn.execute("SELECT type, name, sql FROM sqlite_master ORDER BY name").fetchall()
    applied = first.conn.execute("SELECT name, applied_at FROM _sqlite_migrations ORDER BY name").fetchall()
    first.close()
    for _ in range(3):
        again = Store(tmp_path, kiosk_id="k", clock=clock)
        try:
            assert again.recovered_from is None
            assert again.store_id == store_id
            assert [e.id for e in again.events()] == ids
            assert again.conn.execute("SELECT type, name, sql FROM sqlite_master ORDER BY name").fetchall() == schema
            assert (
                again.conn.execute("SELECT name, applied_at FROM _sqlite_migrations ORDER BY name").fetchall()
                == applied
            )
        finally:
            again.close()


def test_events_are_append_only(store):
    store.append("rating", level=1)
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        store.conn.execute("UPDATE events SET level = 5")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        store.conn.execute("DELETE FROM events")
    conn = raw(store.data_dir)  # any connection, not just ours
    try:
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            conn.execute("UPDATE events SET misuse = 1")
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            conn.execute("DELETE FROM events WHERE seq = 1")
    finally:
        conn.close()
    assert [(e.level, e.misuse) for e in store.events()] == [(1, False)]


def test_seq_is_gapless_across_reopens(tmp_path, clock):
    seqs = []
    for _ in range(3):
        s = Store(tmp_path, kiosk_id="k", clock=clock)
        seqs += [s.append("rating", level=1 + i % 5).seq for i in range(20)]
        s.close()
    assert seqs == list(range(1, 61))
    s = Store(tmp_path, kiosk_id="k", clock=clock)
    try:
        assert [e.seq for e in s.events()] == seqs
        assert [e.seq for e in s.events(after_seq=57)] == [58, 59, 60]
        assert [e.seq for e in s.events(after_seq=10, limit=2)] == [11, 12]
    finally:
        s.close()


def test_ids_are_unique(store):
    ids = {store.append("rating", level=1).id for _ in range(50)}
    assert len(ids) == 50


def test_recorded_at_boot_id_and_monotonic_come_from_the_clock(tmp_path):
    clock = SimulatedClock(datetime(2025, 3, 4, 1, 2, 3, 456000, tzinfo=UTC), boot_id="boot-A")
    s = Store(tmp_path, kiosk_id="k-w3", unit="第二組", window="3", clock=clock)
    try:
        clock.advance(12.5)
        event = s.append("rating", level=2)
        stored = next(s.events())
    finally:
        s.close()
    assert event == stored
    assert stored.recorded_at == "2025-03-04T01:02:15.956+00:00"
    assert datetime.fromisoformat(stored.recorded_at).utcoffset() is not None
    assert stored.boot_id == "boot-A"
    assert stored.monotonic == 1012.5
    assert (stored.kiosk_id, stored.unit, stored.window) == ("k-w3", "第二組", "3")


def test_wall_clock_jump_keeps_monotonic_order(tmp_path):
    # No RTC: the wall clock may read 1970 until NTP answers, then jump.
    clock = SimulatedClock(datetime(1970, 1, 1, tzinfo=UTC), boot_id="b")
    s = Store(tmp_path, kiosk_id="k", clock=clock)
    try:
        s.append("rating", level=1)
        clock.advance(30)
        clock.set_wall(datetime(2025, 6, 1, 9, 0, tzinfo=UTC))
        s.append("rating", level=2)
        a, b = s.events()
    finally:
        s.close()
    assert a.recorded_at.startswith("1970-01-01") and b.recorded_at.startswith("2025-06-01")
    assert b.monotonic - a.monotonic == 30
    assert a.boot_id == b.boot_id == "b"


def test_system_clock_fields(tmp_path):
    s = Store(tmp_path, kiosk_id="k", clock=SystemClock())
    try:
        e = s.append("rating", level=1)
    finally:
        s.close()
    assert e.boot_id == read_boot_id()
    assert e.monotonic > 0
    assert datetime.fromisoformat(e.recorded_at).tzinfo is not None


def test_detail_round_trips_and_misuse_is_a_bool(store):
    store.append("rating", level=5, misuse=True)
    store.append("note", detail={"text": "窗口暫停", "n": 2})
    rating, note = store.events()
    assert rating.misuse is True
    assert note.detail == {"text": "窗口暫停", "n": 2}
    assert note.as_json()["text"] == "窗口暫停"
    assert store.count() == 2 and store.count("rating") == 1
    assert [e.type for e in store.events(type="note")] == ["note"]


# -- corrupt files ---------------------------------------------------------------


def _corrupt_copies(tmp_path):
    return sorted(p for p in tmp_path.iterdir() if p.name.startswith(DB_NAME + ".corrupt-"))


def _assert_recovered(store, tmp_path, original: bytes):
    moved = _corrupt_copies(tmp_path)
    main_files = [p for p in moved if not p.name.endswith(("-wal", "-shm"))]
    assert len(main_files) == 1
    assert main_files[0].read_bytes() == original  # kept, byte for byte
    assert store.recovered_from == main_files[0]
    events = list(store.events())
    assert [e.type for e in events] == ["store_recovered"]
    assert events[0].detail["moved_to"] == main_files[0].name
    assert events[0].seq == 1
    # The fresh file is a working store.
    assert store.append("rating", level=1).seq == 2
    assert store.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_garbage_file_is_moved_aside_and_a_fresh_store_started(tmp_path, clock):
    garbage = bytes(range(256)) * 64
    (tmp_path / DB_NAME).write_bytes(garbage)
    s = Store(tmp_path, kiosk_id="k", clock=clock)
    try:
        _assert_recovered(s, tmp_path, garbage)
    finally:
        s.close()


@pytest.mark.parametrize("keep", [0.5, 0.1])
def test_truncated_database_is_moved_aside(tmp_path, clock, keep):
    s = Store(tmp_path, kiosk_id="k", clock=clock)
    for i in range(300):
        s.append("rating", level=1 + i % 5, detail={"pad": "x" * 100})
    s.close()
    path = tmp_path / DB_NAME
    assert not (tmp_path / (DB_NAME + "-wal")).exists()  # checkpointed on close
    size = path.stat().st_size
    with open(path, "r+b") as f:
        f.truncate(int(size * keep) // 4096 * 4096)
    truncated = path.read_bytes()
    s = Store(tmp_path, kiosk_id="k", clock=clock)
    try:
        _assert_recovered(s, tmp_path, truncated)
    finally:
        s.close()


def test_two_recoveries_keep_both_corrupt_files(tmp_path, clock):
    (tmp_path / DB_NAME).write_bytes(b"first garbage" * 100)
    Store(tmp_path, kiosk_id="k", clock=clock).close()
    (tmp_path / DB_NAME).write_bytes(b"second garbage" * 100)
    Store(tmp_path, kiosk_id="k", clock=clock).close()
    contents = sorted(p.read_bytes() for p in _corrupt_copies(tmp_path))
    assert contents == sorted([b"first garbage" * 100, b"second garbage" * 100])


def test_corrupt_wal_companions_are_moved_with_it(tmp_path, clock):
    (tmp_path / DB_NAME).write_bytes(b"\x13" * 8192)
    (tmp_path / (DB_NAME + "-wal")).write_bytes(b"wal bytes")
    s = Store(tmp_path, kiosk_id="k", clock=clock)
    try:
        moved = {
            p.name.rsplit("-", 1)[-1] if p.name.endswith(("-wal", "-shm")) else "db": p
            for p in _corrupt_copies(tmp_path)
        }
        assert moved["wal"].read_bytes() == b"wal bytes"
        assert moved["db"].read_bytes() == b"\x13" * 8192
    finally:
        s.close()


# -- unusable locations ----------------------------------------------------------


def test_must_open_raises_when_location_unusable(tmp_path, clock):
    (tmp_path / "file").write_text("in the way")
    with pytest.raises(StoreUnavailable) as info:
        Store(tmp_path / "file" / "data", kiosk_id="k", clock=clock)
    assert info.value.zh and info.value.en


def test_store_started_closed_retries_on_each_write(tmp_path, clock):
    blocker = tmp_path / "file"
    blocker.write_text("in the way")
    data = blocker / "data"
    s = Store(data, kiosk_id="k", clock=clock, must_open=False)
    try:
        assert s.conn is None
        assert isinstance(s.open_error, StoreUnavailable)
        with pytest.raises(StoreUnavailable):
            s.append("rating", level=1)
        with pytest.raises(StoreUnavailable):
            list(s.events())
        with pytest.raises(StoreUnavailable):
            s.append("rating", level=2)
        blocker.unlink()  # the location becomes usable
        event = s.append("rating", level=3)
        assert event.seq == 1
        assert s.open_error is None
        assert [(e.seq, e.level) for e in s.events()] == [(1, 3)]
    finally:
        s.close()
    conn = sqlite3.connect(data / DB_NAME)
    try:
        assert conn.execute("SELECT level FROM events").fetchall() == [(3,)]
    finally:
        conn.close()
