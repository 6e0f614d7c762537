"""The sync state in the kiosk's file: migration m002, watermark per store_id, the ack rules."""

import sqlite3
from datetime import UTC, datetime

import pytest
import sqlite_utils
from stub import StubCollector, ack
from synchelp import KIOSK_ID, fill

from kiosk.migrations import migrations
from kiosk.outbox import KioskOutbox, StatusReader, read_status, sync_client
from kiosk.store import Store, connect
from server_sync.client.outbox import iso


def test_m002_upgrades_a_file_made_before_sync_and_keeps_every_event(data_dir):
    conn = connect(data_dir / "kiosk.db")
    migrations.apply(sqlite_utils.Database(conn), stop_before="m002_sync_state")
    conn.execute("INSERT INTO meta VALUES ('store_id', 'old-store')")
    for i in range(1, 4):
        conn.execute(
            "INSERT INTO events (id, type, kiosk_id, level, recorded_at, boot_id, monotonic)"
            " VALUES (?, 'rating', 'w1', 1, '2026-01-01T00:00:00+00:00', 'b', ?)",
            [f"e{i}", i],
        )
    assert not conn.execute("SELECT 1 FROM sqlite_master WHERE name='sync_state'").fetchone()
    conn.close()

    store = Store(data_dir, kiosk_id="w1")
    assert [e.id for e in store.events()] == ["e1", "e2", "e3"]
    assert store.store_id == "old-store"
    store.close()
    with KioskOutbox(data_dir) as outbox:
        state = outbox.state()
        assert state["store_id"] == "old-store" and state["acked_seq"] == 0
        assert outbox.pending_count(0) == 3


def test_outbox_never_creates_the_kiosk_file(tmp_path):
    client = sync_client("http://127.0.0.1:9", "t", tmp_path / "nothing")
    result = client.run_round()
    assert result.error is not None and "local data file" in result.error.en
    assert not (tmp_path / "nothing" / "kiosk.db").exists()


def test_watermark_never_passes_the_batch_or_the_ack(data_dir):
    n = fill(data_dir, 250)  # 300 events
    stub = StubCollector(lambda batch: ack(10**6))  # claims far more than it was sent
    try:
        result = sync_client(stub.url, "t", data_dir, batch_size=100).run_round()
    finally:
        stub.close()
    assert result.ok and result.batches == 3 and result.sent == n
    assert [b["events"][0]["seq"] for b in stub.batches] == [1, 101, 201]
    with KioskOutbox(data_dir) as outbox:
        assert outbox.state()["acked_seq"] == n


def test_only_events_up_to_acked_seq_are_marked_and_a_stuck_collector_ends_the_round(data_dir):
    fill(data_dir, 100)  # 120 events
    stub = StubCollector(lambda batch: ack(3))
    try:
        result = sync_client(stub.url, "t", data_dir, batch_size=50).run_round()
    finally:
        stub.close()
    assert result.error is not None and result.error.en == "the collector did not confirm the events"
    assert result.pending == 117
    assert [b["events"][0]["seq"] for b in stub.batches] == [1, 4]  # sent again from after acked_seq
    with KioskOutbox(data_dir) as outbox:
        assert outbox.state()["acked_seq"] == 3


def test_a_collector_that_lost_events_gets_them_again(data_dir):
    fill(data_dir, 100)  # 120 events
    stub = StubCollector(lambda batch: ack(batch["events"][-1]["seq"]))
    try:
        assert sync_client(stub.url, "t", data_dir).run_round().ok
        with KioskOutbox(data_dir) as outbox:
            outbox.mark_acked(outbox.store_id, 120, 0, iso(datetime.now(UTC)))
        fill(data_dir, 10)  # 12 more
        # The collector was restored from an old backup: it holds only 1..50.
        held = {"upto": 50}

        def answer(batch):
            first, last = batch["events"][0]["seq"], batch["events"][-1]["seq"]
            if first <= held["upto"] + 1:
                held["upto"] = max(held["upto"], last)
            return ack(held["upto"])

        stub.answer = answer
        result = sync_client(stub.url, "t", data_dir).run_round()
    finally:
        stub.close()
    assert result.ok
    assert [b["events"][0]["seq"] for b in stub.batches[-2:]] == [121, 51]


def test_an_oversized_batch_is_split(data_dir):
    fill(data_dir, 250)

    def answer(batch):
        if len(batch["events"]) > 80:
            return 413, {"Content-Type": "application/json"}, b'{"detail": "request body too large"}'
        return ack(batch["events"][-1]["seq"])

    stub = StubCollector(answer)
    try:
        result = sync_client(stub.url, "t", data_dir, batch_size=300).run_round()
    finally:
        stub.close()
    assert result.ok and result.sent == 300
    assert max(len(b["events"]) for b in stub.batches if len(b["events"]) <= 80) <= 80


def test_batch_body_follows_the_protocol(data_dir):
    fill(data_dir, 5)
    stub = StubCollector(lambda batch: ack(batch["events"][-1]["seq"]))
    try:
        assert sync_client(stub.url, "t", data_dir, batch_size=4).run_round().ok
    finally:
        stub.close()
    first = stub.batches[0]
    assert set(first) == {"store_id", "software_version", "backlog", "clock", "events"}
    assert first["backlog"] == 2 and len(first["events"]) == 4
    assert set(first["clock"]) == {"wall", "boot_id", "monotonic"}
    reason = stub.batches[1]["events"][-1]
    assert reason["type"] == "reason" and reason["reason"] == "wait" and reason["ref"]
    assert reason["kiosk_id"] == KIOSK_ID and reason["unit"] == "第一組"


def test_sync_state_is_per_store_id(data_dir):
    fill(data_dir, 5)
    with KioskOutbox(data_dir) as outbox:
        outbox.state("another-store")
        outbox.mark_acked("another-store", 99, 0, iso(datetime.now(UTC)))
        assert outbox.state()["acked_seq"] == 0
    reader = StatusReader(data_dir)
    status = reader.read()
    reader.close()
    assert status.acked_seq == 0 and status.pending == 6


def test_status_reader_handles_a_missing_file(tmp_path):
    assert StatusReader(tmp_path).read() is None


def test_read_status_on_a_file_without_sync_state(data_dir):
    conn = connect(data_dir / "kiosk.db")
    migrations.apply(sqlite_utils.Database(conn), stop_before="m002_sync_state")
    conn.execute("INSERT INTO meta VALUES ('store_id', 's')")
    status = read_status(conn)
    conn.close()
    assert status.pending == 0 and status.last_success_at is None


def test_local_write_failure_is_reported_not_raised(data_dir):
    fill(data_dir, 3)
    (data_dir / "kiosk.db").write_bytes(b"this is not a database" * 100)
    result = sync_client("http://127.0.0.1:9", "t", data_dir).run_round()
    assert result.error is not None and result.error.en == "cannot read or write the local data file"
    with pytest.raises(sqlite3.DatabaseError):
        sqlite3.connect(data_dir / "kiosk.db").execute("SELECT 1 FROM events")
