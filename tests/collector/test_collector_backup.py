"""Collector backups: taken while kiosks keep pushing, restored, and every acknowledged event is there."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import threading

from collector_helpers import collector_command, make_batch, make_event, start_server, stop_server


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*collector_command(), *args], capture_output=True, text=True, timeout=120, check=True)


def _stored_ids(db) -> set[str]:
    out = _cli("events", "--db", str(db)).stdout
    return {json.loads(line)["id"] for line in out.splitlines() if line.strip()}


def test_backup_while_taking_writes_then_restore(tmp_path):
    db = tmp_path / "collector.db"
    server = start_server(db)
    token = server.new_kiosk("w1")
    acked: list[tuple[int, list[str]]] = []  # (batch number, ids) in the order acknowledged
    stop = threading.Event()
    errors = []

    def push():
        seq = 0
        batch_no = 0
        while not stop.is_set():
            events = [make_event(seq + i + 1) for i in range(50)]
            response = server.post(token, make_batch(events))
            if response.status_code != 200:
                errors.append(response.text)
                return
            assert response.json()["acked_seq"] == seq + 50
            seq += 50
            batch_no += 1
            acked.append((batch_no, [e["id"] for e in events]))

    writer = threading.Thread(target=push)
    writer.start()
    try:
        while len(acked) < 20:  # some history before the backup
            threading.Event().wait(0.05)
        before_backup = {i for _, ids in list(acked) for i in ids}
        result = _cli("backup", "--db", str(db), "--to", str(tmp_path / "backups"), "--keep", "3")
        while len(acked) < len(before_backup) // 50 + 20:  # and writes go on after it
            threading.Event().wait(0.05)
    finally:
        stop.set()
        writer.join(60)
        stop_server(server)
    assert not errors, errors
    backups = sorted((tmp_path / "backups").glob("collector-*.db"))
    assert len(backups) == 1 and str(backups[0]) in result.stdout
    check = sqlite3.connect(backups[0])
    assert check.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    check.close()

    # Restore into place of the live file (collector stopped); the previous file is kept.
    restored = _cli("restore", "--db", str(db), str(backups[0]), "--yes")
    assert "before-restore" in restored.stdout
    kept = list(tmp_path.glob("collector.db.before-restore-*"))
    assert len(kept) == 1
    ids = _stored_ids(db)
    assert before_backup <= ids, f"{len(before_backup - ids)} events acknowledged before the backup are missing"
    all_acked = {i for _, batch in acked for i in batch}
    assert ids <= all_acked and len(all_acked) > len(ids), "the backup is a snapshot, not the later writes"

    # The restored collector serves again, and the kiosk's resend fills the gap once.
    server = start_server(db)
    try:
        events = [make_event(i + 1, id=eid) for i, eid in enumerate(eid for _, batch in acked for eid in batch)]
        for start in range(0, len(events), 1000):
            response = server.post(token, make_batch(events[start : start + 1000]))
            assert response.status_code == 200, response.text
    finally:
        stop_server(server)
    assert _stored_ids(db) == all_acked


def test_backups_rotate_and_a_bad_file_is_refused(tmp_path):
    db = tmp_path / "collector.db"
    server = start_server(db)
    stop_server(server)
    for _ in range(4):
        _cli("backup", "--db", str(db), "--to", str(tmp_path / "b"), "--keep", "2")
    assert len(list((tmp_path / "b").glob("collector-*.db"))) == 2
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database at all" * 100)
    result = subprocess.run(
        [*collector_command(), "restore", "--db", str(db), str(junk), "--yes"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0 and "restore failed" in result.stderr
    assert sqlite3.connect(db).execute("PRAGMA integrity_check").fetchone()[0] == "ok", "the live file is untouched"
    missing = subprocess.run(
        [*collector_command(), "backup", "--db", str(tmp_path / "nope.db"), "--to", str(tmp_path / "b")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert missing.returncode != 0 and "no database" in missing.stderr
