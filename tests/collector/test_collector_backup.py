"""Collector backups: taken while kiosks keep pushing, restored, and every acknowledged event is there."""

from __future__ import annotations

import gzip
import json
import sqlite3
import subprocess
import threading
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from collector_helpers import collector_command, make_batch, make_event, start_server, stop_server

from server_sync.collector import backup as backup_mod
from server_sync.collector import db as dbmod
from server_sync.collector.auth import add_kiosk, kiosk_by_name
from server_sync.collector.cli import main as collector_cli
from server_sync.collector.ingest import Ingestor, prepare
from server_sync.collector.models import Batch


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
    backups = sorted((tmp_path / "backups").glob("collector-*.db.gz"))
    assert len(backups) == 1 and str(backups[0]) in result.stdout

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


def _fleet_db(path, n: int = 300):
    """A collector database with a kiosk and ``n`` events, made in-process (no server)."""
    conn = dbmod.open_db(path)
    add_kiosk(conn, "w1")
    kiosk = kiosk_by_name(conn, "w1")
    events = [make_event(i + 1) for i in range(n)]
    body = make_batch(events)
    batch = Batch.model_validate_json(json.dumps(body))
    Ingestor(conn).ingest(kiosk, batch, prepare(batch))
    return conn


def _rows(path) -> list[tuple]:
    conn = sqlite3.connect(path)
    try:
        return [
            conn.execute(f"SELECT * FROM {t} ORDER BY 1, 2, 3").fetchall()
            for t in ("events", "kiosks", "streams", "rollups", "admin_sat_hour")
        ]
    finally:
        conn.close()


def _clock(start: datetime):
    """Backup times a day apart, so names sort the way they were made."""
    return (start + timedelta(days=i) for i in range(1000))


def test_compressed_backup_restores_identical_rows(tmp_path):
    db = tmp_path / "collector.db"
    _fleet_db(db).close()
    result = backup_mod.backup(db, tmp_path / "b")
    assert result.path.name.endswith(".db.gz") and result.path.read_bytes()[:2] == b"\x1f\x8b"
    assert result.path.stat().st_size < db.stat().st_size
    assert not [p for p in (tmp_path / "b").iterdir() if p != result.path], "no temporary file is left behind"
    before = _rows(db)
    # Rows change after the backup; the restore brings back the snapshot exactly.
    conn = dbmod.connect(db)
    conn.execute("DELETE FROM events WHERE seq > 100")
    conn.close()
    kept = backup_mod.restore(result.path, db)
    assert kept is not None and kept.exists()
    assert _rows(db) == before


def test_an_old_uncompressed_backup_still_restores(tmp_path):
    db = tmp_path / "collector.db"
    _fleet_db(db).close()
    before = _rows(db)
    old = tmp_path / "b" / "collector-20200101T023000000000Z.db"
    old.parent.mkdir()
    src, dst = sqlite3.connect(db), sqlite3.connect(old)
    src.backup(dst)
    src.close()
    dst.close()
    target = tmp_path / "restored.db"
    assert backup_mod.restore(old, target) is None
    assert _rows(target) == before
    # Listed beside the compressed ones, oldest first, and rotated with them.
    made = backup_mod.backup(db, tmp_path / "b", keep=1)
    assert made.deleted == [old] and backup_mod.list_backups(tmp_path / "b") == [made.path]


def test_size_retention_deletes_oldest_first_and_never_the_newest(tmp_path):
    db = tmp_path / "collector.db"
    _fleet_db(db).close()
    times = _clock(datetime.now(UTC))
    made = [backup_mod.backup(db, tmp_path / "b", keep=100, now=next(times)).path for _ in range(4)]
    size = made[0].stat().st_size
    assert all(p.stat().st_size == size for p in made), "the same snapshot compresses to the same size"
    result = backup_mod.backup(db, tmp_path / "b", keep=100, max_total=3 * size + size // 2, now=next(times))
    assert result.deleted == made[:2]
    assert backup_mod.list_backups(tmp_path / "b") == [*made[2:], result.path]
    # A limit smaller than one backup keeps the newest alone, and says so.
    tiny = backup_mod.backup(db, tmp_path / "b", keep=100, max_total=1, now=next(times))
    assert backup_mod.list_backups(tmp_path / "b") == [tiny.path]
    assert any("--max-total-size" in w for w in tiny.warnings)


def test_count_retention_and_a_bad_file_is_refused(tmp_path):
    db = tmp_path / "collector.db"
    _fleet_db(db, n=10).close()
    times = _clock(datetime.now(UTC))
    for _ in range(4):
        last = backup_mod.backup(db, tmp_path / "b", keep=2, now=next(times))
    assert (
        len(backup_mod.list_backups(tmp_path / "b")) == 2 and backup_mod.list_backups(tmp_path / "b")[-1] == last.path
    )
    runner = CliRunner()
    for junk_bytes in (
        b"not a database at all" * 100,
        gzip.compress(b"not a database either" * 100),
        b"\x1f\x8b\x08cut",
    ):
        junk = tmp_path / "junk.db"
        junk.write_bytes(junk_bytes)
        result = runner.invoke(collector_cli, ["restore", "--db", str(db), str(junk), "--yes"])
        assert result.exit_code != 0 and "restore failed" in result.output
        assert not (tmp_path / "collector.db.restoring").exists()
    assert sqlite3.connect(db).execute("PRAGMA integrity_check").fetchone()[0] == "ok", "the live file is untouched"
    missing = runner.invoke(collector_cli, ["backup", "--db", str(tmp_path / "nope.db"), "--to", str(tmp_path / "b")])
    assert missing.exit_code != 0 and "no database" in missing.output
    bad = runner.invoke(
        collector_cli, ["backup", "--db", str(db), "--to", str(tmp_path / "b"), "--max-total-size", "lots"]
    )
    assert bad.exit_code == 2 and "--max-total-size" in bad.output


def test_a_backup_on_the_databases_own_file_system_warns(tmp_path):
    db = tmp_path / "collector.db"
    _fleet_db(db, n=10).close()
    assert backup_mod.same_filesystem(db, tmp_path)  # tmp_path holds both: the case to warn about
    result = CliRunner().invoke(
        collector_cli, ["backup", "--db", str(db), "--to", str(tmp_path / "b"), "--max-total-size", "1G"]
    )
    assert result.exit_code == 0, result.output
    assert "同一個檔案系統" in result.stderr and "on the database's own file system" in result.stderr
    assert "backed up to" in result.stdout


def test_sizes_are_read_in_powers_of_1024():
    assert backup_mod.parse_size("2048") == 2048
    assert backup_mod.parse_size("500M") == 500 * 2**20
    assert backup_mod.parse_size("20G") == backup_mod.parse_size("20GiB") == 20 * 2**30
    assert backup_mod.parse_size("1.5k") == 1536
    for bad in ("", "lots", "-1G", "5X"):
        with pytest.raises(ValueError):
            backup_mod.parse_size(bad)
