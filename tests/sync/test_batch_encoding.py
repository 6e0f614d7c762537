"""Catch-up's cheap path: batches as JSON written by SQLite, the pending count as a subtraction.

The text must be what ``event_json`` gives for every event (so the wire is unchanged), the
count what counting gives, and a catch-up interrupted mid-way must still deliver each event once.
"""

from __future__ import annotations

import json
import random
import sqlite3

from stub import StubCollector, ack

from kiosk.clock import SimulatedClock
from kiosk.outbox import KioskOutbox, sync_client
from kiosk.store import Store
from server_sync.client.outbox import event_json

ODD = ['第"一\\組', "tab\there", "nl\nx", "\x01\x1f ctl", "\u2028 line sep", "😀 emoji", "/ slash", ""]


def _random_store(data_dir, n: int, seed: int) -> None:
    rnd = random.Random(seed)
    clock = SimulatedClock(boot_id="enc-boot")
    store = Store(data_dir, kiosk_id="k\u00e9-1", unit=rnd.choice(ODD), window="1", clock=clock)
    store.conn.execute("PRAGMA synchronous=OFF")  # test data only: no fsync per event
    try:
        last = None
        for _ in range(n):
            clock.advance(rnd.choice([0.001, 0.1, 7.3, 1 / 3, 12345.678901234567, 1e-7]))
            kind = rnd.random()
            if kind < 0.6:
                last = store.append("rating", level=rnd.randint(1, 5), misuse=rnd.random() < 0.1)
            elif kind < 0.75 and last is not None:
                store.append("reason", ref=last.id, level=last.level, detail={"reason": rnd.choice(ODD)})
            elif kind < 0.9:
                detail = {
                    "service": {"code": rnd.choice(ODD), "n": [1, 2.5, None, True]},
                    "wait_seconds": rnd.random() * 600,
                    "seq": -1,  # a detail key named like a field never overrides the field
                    "note": rnd.choice(ODD),
                }
                store.append("ticket_called", window=rnd.choice(ODD), detail=detail)
            else:
                store.append("store_recovered", window=rnd.choice(ODD))
    finally:
        store.close()


def test_encoded_batches_are_event_json_of_every_event(data_dir):
    _random_store(data_dir, 400, seed=15)
    with KioskOutbox(data_dir) as outbox:
        for after, limit in [(0, 1000), (0, 1), (17, 50), (399, 10), (400, 5), (1000, 5)]:
            events = outbox.batch(after, limit)
            encoded = outbox.encoded_batch(after, limit)
            assert encoded.items == [event_json(e) for e in events]
            assert (encoded.first_seq, encoded.last_seq) == ((events[0].seq, events[-1].seq) if events else (0, 0))
            assert [json.loads(t) for t in encoded.items] == [e.as_json() for e in events]


def test_pending_count_is_the_count_of_events_after_the_seq(data_dir):
    _random_store(data_dir, 60, seed=7)
    conn = sqlite3.connect(data_dir / "kiosk.db")
    with KioskOutbox(data_dir) as outbox:
        for after in (0, 1, 30, 59, 60, 61, 500):
            counted = conn.execute("SELECT count(*) FROM events WHERE seq > ?", [after]).fetchone()[0]
            assert outbox.pending_count(after) == counted
    conn.close()


def test_an_interrupted_catch_up_delivers_every_event_once_in_order(data_dir):
    _random_store(data_dir, 350, seed=3)
    received: dict[int, dict] = {}
    calls = []

    def answer(batch):
        calls.append(batch["events"][0]["seq"] if batch["events"] else None)
        if len(calls) == 3:  # the third batch fails: the round stops, its events stay pending
            return 500, {"Content-Type": "application/json"}, b'{"detail": "disk trouble"}'
        for e in batch["events"]:
            assert e["seq"] not in received, f"seq {e['seq']} sent again after it was acknowledged"
            received[e["seq"]] = e
        return ack(batch["events"][-1]["seq"] if batch["events"] else max(received, default=0))

    stub = StubCollector(answer)
    try:
        first = sync_client(stub.url, "t", data_dir, batch_size=64).run_round()
        assert not first.ok and first.sent == 128 and first.pending == 350 - 128
        second = sync_client(stub.url, "t", data_dir, batch_size=64).run_round()
    finally:
        stub.close()
    assert second.ok and second.pending == 0 and second.sent == 350 - 128
    assert calls[2] == calls[3] == 129, "the failed batch is sent again from the watermark"
    with KioskOutbox(data_dir) as outbox:
        assert [received[s] for s in sorted(received)] == [e.as_json() for e in outbox.batch(0, 1000)]
        assert outbox.state()["acked_seq"] == 350 and outbox.pending_count(350) == 0
