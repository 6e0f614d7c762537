"""Storing a batch: exactly once, clock-corrected, rolled up, all in one transaction.

One ``Ingestor`` owns the process's single writer connection. SQLite serialises
writers anyway; holding a lock around ``BEGIN IMMEDIATE … COMMIT`` keeps
concurrent requests from ever meeting "database is locked" inside this process,
and ``busy_timeout`` covers other processes (the CLI) writing at the same time.

Exactly once: events are keyed UNIQUE (kiosk, id) and inserted with INSERT OR
IGNORE inside the write transaction. If every row went in, the rollups built
beside them are added; if some were already stored (a retry, or a racing twin
of this very request), the insert is undone to a savepoint, the stored ids are
looked up and only the new rows are inserted and rolled up. A repeated batch
therefore changes nothing, however many copies arrive at once.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone

from server_sync.collector import rollup
from server_sync.collector.auth import Kiosk
from server_sync.collector.event_row import INSERT_EVENT, EventRow
from server_sync.collector.models import STANDARD_FIELDS, Batch
from server_sync.collector.timestamps import MAX_EPOCH, MIN_EPOCH, iso_utc, local_hour
from server_sync.wire.events import CASE_LOOKUP, CASE_LOOKUP_FIELDS

log = logging.getLogger(__name__)

EPOCH_2020 = datetime(2020, 1, 1, tzinfo=timezone.utc).timestamp()
FUTURE_SLACK = 86400.0  # corrected times more than a day ahead of the collector are suspect


class BatchInvalid(ValueError):
    """The batch is well-formed JSON of the right shape but says something impossible."""

    def __init__(self, errors: list[dict]):
        self.errors = errors
        super().__init__("; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors))


@dataclass(frozen=True)
class IngestResult:
    stored: int
    duplicates: int
    acked_seq: int
    server_time: str

    def ack(self) -> dict:
        return {"protocol": 1, "stored": self.stored, "duplicates": self.duplicates,
                "acked_seq": self.acked_seq, "server_time": self.server_time}


def prepare(batch: Batch) -> list[float]:
    """Check what the schema cannot say; return each event's recorded_at as unix seconds.

    Raises BatchInvalid naming every bad field (loc as in a 422 body)."""
    epochs, errors = [], []
    parse = datetime.fromisoformat
    for i, e in enumerate(batch.events):
        try:
            dt = parse(e["recorded_at"].upper())
            if dt.tzinfo is None:
                raise ValueError("no UTC offset")
            epochs.append(dt.timestamp())
        except (ValueError, OverflowError) as exc:
            errors.append({"loc": ["events", i, "recorded_at"], "type": "datetime_from_date_parsing",
                           "msg": f"Input should be a valid ISO 8601 date-time with offset ({exc})"})
        if e.get("level") is None and e["type"] == "rating":
            errors.append({"loc": ["events", i, "level"], "type": "missing",
                           "msg": "a rating event needs a level"})
    if errors:
        raise BatchInvalid(errors)
    return epochs


def advance_watermark(conn: sqlite3.Connection, kiosk: int, store_id: str, acked: int) -> int:
    """Walk the (kiosk, store_id, seq) index upwards from ``acked`` while seqs are contiguous."""
    chunk = 2000
    while True:
        rows = conn.execute(
            "SELECT DISTINCT seq FROM events WHERE kiosk = ? AND store_id = ? AND seq > ?"
            " ORDER BY seq LIMIT ?", [kiosk, store_id, acked, chunk]).fetchall()
        for (seq,) in rows:
            if seq != acked + 1:
                return acked
            acked = seq
        if len(rows) < chunk:
            return acked


class _Pending:
    __slots__ = ("kiosk", "batch", "recorded", "received", "result", "error", "done")

    def __init__(self, kiosk, batch, recorded, received):
        self.kiosk, self.batch, self.recorded, self.received = kiosk, batch, recorded, received
        self.result: IngestResult | None = None
        self.error: BaseException | None = None
        self.done = False


class Ingestor:
    """The single writer. ``clock`` returns unix seconds (replaceable in tests).

    Group commit: batches arriving while a transaction is being written wait for
    the writer lock; whoever takes it next writes every waiting batch in ONE
    transaction, each inside its own SAVEPOINT (a batch that fails is rolled back
    alone: all or nothing per batch), then commits once and the fsync is shared.
    No batch is acknowledged before the COMMIT that holds it has returned.
    """

    def __init__(self, conn: sqlite3.Connection, *, clock=time.time, max_group: int = 64):
        self.conn = conn
        self.clock = clock
        self.lock = threading.Lock()          # the writer: one transaction at a time
        self._queue_lock = threading.Lock()   # guards _queue only
        self._queue: list[_Pending] = []
        self.max_group = max_group

    def ingest(self, kiosk: Kiosk, batch: Batch, recorded: list[float] | None = None,
               received: float | None = None) -> IngestResult:
        """Store a validated batch and return the ack's figures.

        recorded: prepare(batch), computed here if not given.
        received: when the request arrived (unix seconds, this collector's clock): the
            instant paired with the batch's clock block. Defaults to now.
        """
        if received is None:
            received = self.clock()
        if recorded is None:
            recorded = prepare(batch)
        item = _Pending(kiosk, batch, recorded, received)
        with self._queue_lock:
            self._queue.append(item)
        while not item.done:  # written by this thread, or by the one that held the lock before
            with self.lock:
                if not item.done:
                    with self._queue_lock:
                        group = self._queue[:self.max_group]
                        del self._queue[:self.max_group]
                    self._write(group)
        if item.error is not None:
            raise item.error
        return item.result

    def _write(self, group: list[_Pending]) -> None:
        """Write a group in one transaction; never raises: each item gets its result or error."""
        conn = self.conn
        try:
            conn.execute("BEGIN IMMEDIATE")
            for item in group:
                conn.execute("SAVEPOINT batch")
                try:
                    item.result = self._ingest(item.kiosk, item.batch, item.recorded, item.received)
                    conn.execute("RELEASE batch")
                except Exception as exc:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK TO batch")
                        conn.execute("RELEASE batch")
                    item.error = exc
                    if not conn.in_transaction:  # SQLite gave up the whole transaction
                        raise
            conn.execute("COMMIT")
        except Exception as exc:
            log.error("write of %d batches failed: %s", len(group), exc)
            try:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass
            for item in group:
                item.result = None
                item.error = item.error or exc
                item.done = True
            return
        for item in group:
            item.done = True

    def _ingest(self, kiosk: Kiosk, batch: Batch, recorded: list[float], received: float) -> IngestResult:
        conn = self.conn
        now = received  # the batch's clock block was read just before it was sent
        now_iso = iso_utc(now)
        clock = batch.clock

        # 1. Anchor this boot. Network delay only ever makes the estimate later,
        #    so the earliest estimate seen is the best one: keep the minimum.
        conn.execute(
            "INSERT INTO boots (kiosk, boot_id, boot_epoch, anchored_at) VALUES (?,?,?,?)"
            " ON CONFLICT (kiosk, boot_id) DO UPDATE SET"
            " boot_epoch = min(boot_epoch, excluded.boot_epoch),"
            " anchored_at = CASE WHEN excluded.boot_epoch < boot_epoch THEN excluded.anchored_at"
            " ELSE anchored_at END",
            [kiosk.id, clock.boot_id, now - clock.monotonic, now_iso])

        events = batch.events
        stored = 0
        if events:
            kid = kiosk.id
            anchors = dict(conn.execute(
                "SELECT boot_id, boot_epoch FROM boots WHERE kiosk = ? AND boot_id IN"
                " (SELECT value FROM json_each(?))", [kid, json.dumps(list({e["boot_id"] for e in events}))]))
            rows, hourly = self._rows(kiosk, batch, recorded, anchors, now, now_iso, set())
            # 2. Exactly once. Optimistically insert everything: with no duplicate
            #    (the usual case) every row goes in and the rollups are right as built.
            #    Otherwise undo, find the ids already stored and insert only the rest.
            conn.execute("SAVEPOINT rows")
            before = conn.total_changes
            conn.executemany(INSERT_EVENT, rows)
            stored = conn.total_changes - before
            if stored != len(rows):
                conn.execute("ROLLBACK TO rows")
                seen = {r[0] for r in conn.execute(
                    "SELECT id FROM events WHERE kiosk = ? AND id IN (SELECT value FROM json_each(?))",
                    [kid, json.dumps([e["id"] for e in events])])}
                rows, hourly = self._rows(kiosk, batch, recorded, anchors, now, now_iso, seen)
                before = conn.total_changes
                conn.executemany(INSERT_EVENT, rows)
                stored = conn.total_changes - before
                if stored != len(rows):  # cannot happen under the write lock; refuse rather than miscount
                    raise RuntimeError(f"expected to insert {len(rows)} events, inserted {stored}")
            conn.execute("RELEASE rows")
            # 3. Rollups (hour, day, month), for the new rows only.
            rollup.add_rollups(conn, kid, hourly)
            rollup.apply(conn, kiosk.levels, rows)
        duplicates = len(events) - stored

        # 4. The contiguous watermark for (kiosk, store_id), moved on from where it was.
        row = conn.execute("SELECT acked_seq FROM streams WHERE kiosk = ? AND store_id = ?",
                           [kiosk.id, batch.store_id]).fetchone()
        acked = row[0] if row else 0
        new_acked = advance_watermark(conn, kiosk.id, batch.store_id, acked) if stored or not row else acked
        max_seq = max((e["seq"] for e in events), default=0)
        conn.execute(
            "INSERT INTO streams (kiosk, store_id, acked_seq, max_seq) VALUES (?,?,?,?)"
            " ON CONFLICT (kiosk, store_id) DO UPDATE SET acked_seq = excluded.acked_seq,"
            " max_seq = max(max_seq, excluded.max_seq)",
            [kiosk.id, batch.store_id, new_acked, max_seq])

        # 5. The fleet view: last seen, backlog, version, clock offset.
        try:
            offset = round(now - clock.wall.timestamp(), 3)
        except (OverflowError, ValueError):  # a wall clock at the edge of year 9999
            offset = None
        conn.execute(
            "UPDATE kiosks SET last_seen = ?, last_store_id = ?, software_version = ?, backlog = ?,"
            " clock_offset = ? WHERE id = ?",
            [now_iso, batch.store_id, batch.software_version, batch.backlog, offset, kiosk.id])
        return IngestResult(stored, duplicates, new_acked, now_iso)

    @staticmethod
    def _rows(kiosk: Kiosk, batch: Batch, recorded: list[float], anchors: dict, now: float,
              now_iso: str, seen: set) -> tuple[list[EventRow], dict]:
        """Event rows to insert (skipping ids in ``seen``) and their rollup increments."""
        kid, store_id = kiosk.id, batch.store_id
        rows, hourly = [], {}
        lo, hi = EPOCH_2020, now + FUTURE_SLACK
        get = dict.get
        for e, rec in zip(batch.events, recorded):
            eid = e["id"]
            if eid in seen:
                continue
            seen.add(eid)  # the same id twice in one batch counts once
            anchor = anchors.get(e["boot_id"])
            corrected = rec if anchor is None else anchor + e["monotonic"]
            suspect = corrected < lo or corrected > hi
            unit, window, level, misuse = get(e, "unit", ""), get(e, "window", ""), get(e, "level"), \
                get(e, "misuse", False)
            if e["type"] == "rating" and MIN_EPOCH <= corrected <= MAX_EPOCH:
                key = (local_hour(corrected), unit, window, level, misuse)
                hourly[key] = hourly.get(key, 0) + 1
            detail = None
            if not e.keys() <= STANDARD_FIELDS:
                extra = {k: v for k, v in e.items() if k not in STANDARD_FIELDS}
                if e["type"] == CASE_LOOKUP:  # older kiosks sent the case number: it links to a name
                    extra = {k: v for k, v in extra.items() if k in CASE_LOOKUP_FIELDS}
                detail = json.dumps(extra, ensure_ascii=False) if extra else None
            rows.append(EventRow(kid, store_id, eid, e["seq"], e["type"], get(e, "kiosk_id", ""), unit, window,
                                 level, misuse, get(e, "ref"), e["recorded_at"], e["boot_id"], e["monotonic"],
                                 detail, corrected, suspect, now_iso))
        return rows, hourly
