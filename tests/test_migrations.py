"""Upgrades: a kiosk database left at any earlier schema step opens with every event kept."""

import sqlite3
import uuid

import pytest
import sqlite_utils

from kiosk.migrations import migrations
from kiosk.store import Store

STEPS = [m.name for m in migrations.pending(sqlite_utils.Database(memory=True))]


def _make_old_database(path, stop_before):
    db = sqlite_utils.Database(path)
    migrations.apply(db, stop_before=stop_before)
    ids = []
    if "events" in db.table_names():
        # The columns of the first schema: every later step must keep them readable.
        for i in range(25):
            event_id = str(uuid.uuid4())
            db.execute(
                "INSERT INTO events (id, type, kiosk_id, unit, window, level, misuse, ref, recorded_at,"
                " boot_id, monotonic, detail) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                [
                    event_id,
                    "rating",
                    "old-kiosk",
                    "第一組",
                    "1",
                    i % 5 + 1,
                    int(i % 7 == 0),
                    None,
                    f"2026-01-0{i % 9 + 1}T09:00:00.000+08:00",
                    "boot-a",
                    100.0 + i,
                    None,
                ],
            )
            ids.append(event_id)
        db.conn.commit()
    db.conn.close()
    return ids


def test_there_is_at_least_one_migration():
    assert STEPS[0] == "m001_events"


@pytest.mark.parametrize(
    "stop_before", [*STEPS[1:], None], ids=[f"from-before-{s}" for s in STEPS[1:]] + ["from-newest"]
)
def test_upgrade_keeps_every_event(tmp_path, stop_before):
    path = tmp_path / "kiosk.db"
    ids = _make_old_database(path, stop_before)
    store = Store(tmp_path, kiosk_id="old-kiosk")
    try:
        assert store.recovered_from is None
        assert [e.id for e in store.events()] == ids
        assert migrations.pending(store.db) == []
        new = store.append("rating", level=2)
        assert new.seq == len(ids) + 1
        assert store.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        store.close()


def test_upgrade_from_an_empty_file(tmp_path):
    sqlite3.connect(tmp_path / "kiosk.db").close()
    store = Store(tmp_path, kiosk_id="k")
    try:
        assert store.recovered_from is None and store.count() == 0
        assert migrations.pending(store.db) == []
    finally:
        store.close()
