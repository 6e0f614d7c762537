"""Upgrades: a collector database left at any earlier schema step opens with every event and kiosk kept."""

from __future__ import annotations

import uuid

import pytest
import sqlite_utils

from server_sync.collector import db as dbmod

STEPS = [m.name for m in dbmod.migrations.pending(sqlite_utils.Database(memory=True))]


def _old_database(path, stop_before):
    db = sqlite_utils.Database(dbmod.connect(path))
    dbmod.migrations.apply(db, stop_before=stop_before)
    ids = []
    # The columns of the first schema: every later step must keep these rows readable.
    db.execute("INSERT INTO kiosks (id, name, token_hash, levels, created_at) VALUES (1, 'w1', 'h', 5, '2026-01-01')")
    for seq in range(1, 31):
        event_id = str(uuid.uuid4())
        db.execute(
            "INSERT INTO events (kiosk, store_id, id, seq, type, kiosk_id, unit, window, level, misuse, ref,"
            " recorded_at, boot_id, monotonic, detail, corrected_at, time_suspect, received_at)"
            " VALUES (1, 's', ?, ?, 'rating', 'w1', '第一組', '1', ?, 0, NULL, '2026-01-02T09:00:00+08:00',"
            " 'b', ?, NULL, 1767315600.0, 0, '2026-01-02T01:00:00+00:00')",
            [event_id, seq, seq % 5 + 1, float(seq)],
        )
        ids.append(event_id)
    db.conn.close()
    return ids


@pytest.mark.parametrize(
    "stop_before", [*STEPS[1:], None], ids=[f"from-before-{s}" for s in STEPS[1:]] + ["from-newest"]
)
def test_upgrade_keeps_every_event(tmp_path, stop_before):
    path = tmp_path / "collector.db"
    ids = _old_database(path, stop_before)
    conn = dbmod.open_db(path)
    try:
        assert dbmod.migrations.pending(sqlite_utils.Database(conn)) == []
        assert [r[0] for r in conn.execute("SELECT id FROM events ORDER BY seq")] == ids
        assert conn.execute("SELECT name FROM kiosks").fetchall() == [("w1",)]
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        conn.close()
