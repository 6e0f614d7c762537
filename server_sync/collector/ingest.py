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

Who a kiosk is: the unit and window every stored event names are the kiosk's own (auth.py), read
in the write transaction; an event's ``unit``/``window`` are ignored. A kiosk without a place yet
adopts its first batch's once (audited). Numbers are checked in ``prepare`` (422); volume in
volume.py (429, and the per-hour cap).
"""

from __future__ import annotations

import json
import logging
import math
import sqlite3
import threading
import time
from collections.abc import Mapping
from concurrent.futures import Future, InvalidStateError
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from server_sync.collector import labels, rollup
from server_sync.collector.auth import MAX_LABEL, Kiosk
from server_sync.collector.event_row import INSERT_EVENT, EventRow
from server_sync.collector.models import STANDARD_FIELDS, Batch
from server_sync.collector.timestamps import MAX_EPOCH, MIN_EPOCH, iso_utc, local_hour
from server_sync.collector.volume import Limits, TooMuch
from server_sync.wire.events import (
    CASE_LOOKUP,
    CASE_LOOKUP_FIELDS,
    COUNT_FIELDS,
    ESTIMATE_BAND,
    MAX_SECONDS,
    SECONDS_FIELDS,
    band_valid,
)

__all__ = ["BatchInvalid", "IngestResult", "Ingestor", "TooMuch", "prepare"]

log = logging.getLogger(__name__)

EPOCH_2020 = datetime(2020, 1, 1, tzinfo=UTC).timestamp()
# What an event past the per-hour cap becomes: a stub no figure reads (volume.py).
OVER_CAP = "over_cap"
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
        return {
            "protocol": 1,
            "stored": self.stored,
            "duplicates": self.duplicates,
            "acked_seq": self.acked_seq,
            "server_time": self.server_time,
        }


def _non_finite(value, path: list, out: list) -> None:
    """Paths inside ``value`` (a JSON value) holding NaN or an infinity; bounded by the body's size."""
    stack = [(value, path)]
    while stack:
        v, p = stack.pop()
        if isinstance(v, float):
            if not math.isfinite(v):
                out.append(p)
        elif isinstance(v, dict):
            stack.extend((x, [*p, k]) for k, x in v.items())
        elif isinstance(v, list):
            stack.extend((x, [*p, j]) for j, x in enumerate(v))


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def number_errors(i: int, e: Mapping[str, Any]) -> list[dict]:
    """What is wrong with the numbers event ``i`` carries beside the common fields (wire/events.py)."""
    errors = []

    def bad(field, msg, type_="value_error"):
        errors.append(
            {
                "loc": ["events", i, *field],
                "type": type_,
                "msg": f"event {str(e.get('id'))[:128]!r} ({str(e.get('type'))[:64]}): "
                f"{'.'.join(map(str, field))} {msg}",
            }
        )

    for k in SECONDS_FIELDS:
        v = e.get(k)
        if v is not None and not (_is_number(v) and math.isfinite(v) and 0 <= v <= MAX_SECONDS):
            bad([k], f"must be a number of seconds from 0 to {MAX_SECONDS:.0f} or null, not {str(v)[:40]}")
    for k, most in COUNT_FIELDS.items():
        v = e.get(k)
        if v is not None and not (isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= most):
            bad([k], f"must be a whole number from 0 to {most} or null, not {str(v)[:40]}")
    if not band_valid(e.get(ESTIMATE_BAND)):
        bad(
            [ESTIMATE_BAND],
            'must be a band of whole minutes ("lt5", "5-10", "30+") or "closed", '
            f"not {str(e.get(ESTIMATE_BAND))[:40]!r}",
        )
    paths: list = []
    for k, v in e.items():
        if k not in STANDARD_FIELDS and k not in SECONDS_FIELDS:
            _non_finite(v, [k], paths)
    for path in paths[:10]:
        bad(path, "must be a finite number (no NaN or infinity)", "finite_number")
    return errors


def prepare(batch: Batch) -> list[float]:
    """Check what the schema cannot say; return each event's recorded_at as unix seconds.

    Raises BatchInvalid naming every bad field (loc as in a 422 body)."""
    epochs, errors = [], []
    parse = datetime.fromisoformat
    standard = STANDARD_FIELDS
    for i, e in enumerate(batch.events):
        if not e.keys() <= standard:  # the common fields' numbers are bounded by the schema
            errors.extend(number_errors(i, e))
        try:
            dt = parse(e["recorded_at"].upper())
            if dt.tzinfo is None:
                raise ValueError("no UTC offset")
            epochs.append(dt.timestamp())
        except (ValueError, OverflowError) as exc:
            errors.append(
                {
                    "loc": ["events", i, "recorded_at"],
                    "type": "datetime_from_date_parsing",
                    "msg": f"Input should be a valid ISO 8601 date-time with offset ({exc})",
                }
            )
        if e.get("level") is None and e["type"] == "rating":
            errors.append({"loc": ["events", i, "level"], "type": "missing", "msg": "a rating event needs a level"})
    if errors:
        raise BatchInvalid(errors)
    return epochs


def _hour(corrected: float) -> int:
    """The hour of event time the cap counts in (unix hours; a suspect time still has one)."""
    return int(corrected // 3600) if math.isfinite(corrected) else 0


def advance_watermark(conn: sqlite3.Connection, kiosk: int, store_id: str, acked: int) -> int:
    """Walk the (kiosk, store_id, seq) index upwards from ``acked`` while seqs are contiguous."""
    chunk = 2000
    while True:
        rows = conn.execute(
            "SELECT DISTINCT seq FROM events WHERE kiosk = ? AND store_id = ? AND seq > ? ORDER BY seq LIMIT ?",
            [kiosk, store_id, acked, chunk],
        ).fetchall()
        for (seq,) in rows:
            if seq != acked + 1:
                return acked
            acked = seq
        if len(rows) < chunk:
            return acked


class _Pending:
    __slots__ = ("batch", "done", "error", "future", "kiosk", "received", "recorded", "result")

    def __init__(self, kiosk, batch, recorded, received, future: Future[IngestResult] | None = None):
        self.kiosk, self.batch, self.recorded, self.received = kiosk, batch, recorded, received
        self.result: IngestResult | None = None
        self.error: BaseException | None = None
        self.done = False
        self.future = future  # set by submit(): settled once the batch is committed or has failed


class Ingestor:
    """The single writer. ``clock`` returns unix seconds (replaceable in tests).

    Group commit: batches arriving while a transaction is being written wait in a
    queue; whoever takes the writer lock next writes every waiting batch in ONE
    transaction, each inside its own SAVEPOINT (a batch that fails is rolled back
    alone: all or nothing per batch), then commits once and the fsync is shared.
    No batch is acknowledged before the COMMIT that holds it has returned.

    Two ways in: ``ingest`` writes in the caller's thread (the CLI's tools, tests);
    ``submit`` hands the batch to this writer's own thread and returns a future, so
    the HTTP side never parks a worker thread on the writer lock: under a reconnect
    storm the thread pool stays free for the reads (dashboard, fleet) and the event
    loop for health checks.
    """

    def __init__(self, conn: sqlite3.Connection, *, clock=time.time, max_group: int = 64, limits: Limits | None = None):
        self.conn = conn
        self.clock = clock
        self.limits = limits or Limits(clock)
        self._known: tuple[tuple, labels.Known] | None = None  # (labels.revision, what it read)
        self.lock = threading.Lock()  # the writer: one transaction at a time
        self._queue_lock = threading.Lock()  # guards _queue, _closed and _thread
        self._queued = threading.Condition(self._queue_lock)  # the writer thread waits on it
        self._queue: list[_Pending] = []
        self._closed = False
        self._thread: threading.Thread | None = None  # started by the first submit()
        self.max_group = max_group

    def ingest(
        self, kiosk: Kiosk, batch: Batch, recorded: list[float] | None = None, received: float | None = None
    ) -> IngestResult:
        """Store a validated batch and return the ack's figures.

        recorded: prepare(batch), computed here if not given.
        received: when the request arrived (unix seconds, this collector's clock): the
            instant paired with the batch's clock block. Defaults to now.
        """
        item = self._queued_item(kiosk, batch, recorded, received, None)
        while not item.done:  # written by this thread, or by the one that held the lock before
            with self.lock:
                if not item.done:
                    self._write(self._take_group())
        if item.error is not None:
            raise item.error
        assert item.result is not None  # _write sets a result or an error on every item it marks done
        return item.result

    def submit(
        self, kiosk: Kiosk, batch: Batch, recorded: list[float] | None = None, received: float | None = None
    ) -> Future[IngestResult]:
        """Queue a validated batch for the writer thread; the future holds its IngestResult once the
        COMMIT that stored it has returned (or the error that stopped it). TooMuch is raised here,
        at once, with nothing queued."""
        future: Future[IngestResult] = Future()
        self._queued_item(kiosk, batch, recorded, received, future)
        return future

    def waiting(self) -> int:
        """How many batches are queued for the writer, not yet being written."""
        with self._queue_lock:
            return len(self._queue)

    def close(self) -> None:
        """Write what is queued, stop the writer thread and close the connection."""
        with self._queue_lock:
            self._closed = True
            self._queued.notify()
            thread = self._thread
        if thread is not None:
            thread.join()
        with self.lock:
            self.conn.close()

    def _queued_item(self, kiosk, batch, recorded, received, future) -> _Pending:
        if received is None:
            received = self.clock()
        if recorded is None:
            recorded = prepare(batch)
        self.limits.take(kiosk.id, kiosk.name, len(batch.events))  # raises TooMuch: nothing stored
        item = _Pending(kiosk, batch, recorded, received, future)
        with self._queue_lock:
            if self._closed:
                self.limits.give_back(kiosk.id, len(batch.events))
                raise RuntimeError("收集伺服器正在關閉 / the collector is shutting down")
            self._queue.append(item)
            if future is not None:
                if self._thread is None:
                    self._thread = threading.Thread(target=self._run, name="ingest-writer", daemon=True)
                    self._thread.start()
                self._queued.notify()
        return item

    def _take_group(self) -> list[_Pending]:
        with self._queue_lock:
            group = self._queue[: self.max_group]
            del self._queue[: self.max_group]
        return group

    def _run(self) -> None:
        """The writer thread: write whatever is queued, a group at a time, until closed and drained."""
        while True:
            with self._queue_lock:
                while not self._queue and not self._closed:
                    self._queued.wait()
                if not self._queue:
                    return
            with self.lock:
                group = self._take_group()
                if group:
                    self._write(group)

    def _settle(self, item: _Pending) -> None:
        """Mark an item done: give back the allowance it did not store, and settle its future."""
        n = len(item.batch.events)
        self.limits.give_back(item.kiosk.id, n if item.result is None else n - item.result.stored)
        item.done = True
        fut = item.future
        if fut is None:
            return
        try:
            if item.result is not None:
                fut.set_result(item.result)
            else:
                fut.set_exception(item.error or RuntimeError("batch not written"))
        except InvalidStateError:  # the request gave up waiting (cancelled): the kiosk sends it again
            pass

    def _write(self, group: list[_Pending]) -> None:
        """Write a group in one transaction; never raises: each item gets its result or error."""
        conn = self.conn
        flushed: dict = {}
        # The dashboard's rollups of every batch stored, written once for the group: batches from
        # one unit add to the same per-unit rows, and a storm's group is 64 batches.
        figures = rollup.Increments()
        try:
            conn.execute("BEGIN IMMEDIATE")
            flushed = self.limits.flush(conn, iso_utc)
            for item in group:
                conn.execute("SAVEPOINT batch")
                try:
                    item.result, increments = self._ingest(item.kiosk, item.batch, item.recorded, item.received)
                    conn.execute("RELEASE batch")
                    figures.merge(increments)  # only once its batch is in
                except Exception as exc:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK TO batch")
                        conn.execute("RELEASE batch")
                    item.error = exc
                    if not conn.in_transaction:  # SQLite gave up the whole transaction
                        raise
            figures.write(conn)
            conn.execute("COMMIT")
        except Exception as exc:
            log.error("write of %d batches failed: %s", len(group), exc)
            self.limits.restore(flushed)
            try:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass
            for item in group:
                item.result = None
                item.error = item.error or exc
                self._settle(item)
            return
        for item in group:
            self._settle(item)

    def _ingest(
        self, kiosk: Kiosk, batch: Batch, recorded: list[float], received: float
    ) -> tuple[IngestResult, rollup.Increments]:
        """Store one batch (inside the group's transaction); its ack's figures and the dashboard
        rollups' increments for its new rows, for the caller to write with the group's."""
        conn = self.conn
        increments = rollup.Increments()
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
            [kiosk.id, clock.boot_id, now - clock.monotonic, now_iso],
        )

        events = batch.events
        stored = 0
        dropped = 0
        if events:
            kid = kiosk.id
            place = self._place(kiosk, events, now)
            anchors = dict(
                conn.execute(
                    "SELECT boot_id, boot_epoch FROM boots WHERE kiosk = ? AND boot_id IN"
                    " (SELECT value FROM json_each(?))",
                    [kid, json.dumps(list({e["boot_id"] for e in events}))],
                )
            )
            rows, hourly = self._rows(kiosk, batch, recorded, anchors, now, now_iso, set(), place)
            # 2. Exactly once. Optimistically insert everything: with no duplicate
            #    (the usual case) every row goes in and the rollups are right as built.
            #    Otherwise undo, find the ids already stored and insert only the rest.
            conn.execute("SAVEPOINT rows")
            before = conn.total_changes
            conn.executemany(INSERT_EVENT, rows)
            stored = conn.total_changes - before
            if stored != len(rows):
                conn.execute("ROLLBACK TO rows")
                seen = {
                    r[0]
                    for r in conn.execute(
                        "SELECT id FROM events WHERE kiosk = ? AND id IN (SELECT value FROM json_each(?))",
                        [kid, json.dumps([e["id"] for e in events])],
                    )
                }
                rows, hourly = self._rows(kiosk, batch, recorded, anchors, now, now_iso, seen, place)
                before = conn.total_changes
                conn.executemany(INSERT_EVENT, rows)
                stored = conn.total_changes - before
                if stored != len(rows):  # cannot happen under the write lock; refuse rather than miscount
                    raise RuntimeError(f"expected to insert {len(rows)} events, inserted {stored}")
            conn.execute("RELEASE rows")
            # 3. The per-hour cap (volume.py): new rows past it are acknowledged but emptied to a
            #    stub (id and seq stay, for exactly-once and the watermark) and counted nowhere.
            keep = self.limits.cap_hours(conn, kid, [_hour(r.corrected_at) for r in rows])
            if not all(keep):
                over = [r for r, ok in zip(rows, keep) if not ok]
                conn.executemany(
                    f"UPDATE events SET type = '{OVER_CAP}', level = NULL, ref = NULL, detail = NULL"
                    " WHERE kiosk = ? AND id = ?",
                    [(kid, r.id) for r in over],
                )
                rows = [r for r, ok in zip(rows, keep) if ok]
                hourly = self._hourly(rows)
                dropped = len(over)
                self.limits.dropped(kiosk.name, dropped)
                log.warning(
                    "kiosk %s: %d events over %d an hour of event time dropped",
                    kiosk.name,
                    dropped,
                    self.limits.hour_cap,
                )
            # 4. Rollups (hour, day, month), for the new rows only.
            rollup.add_rollups(conn, kid, hourly)
            increments = rollup.collect(rows, kiosk.levels, self._stored_event, self._labels())
        duplicates = len(events) - stored

        # 4. The contiguous watermark for (kiosk, store_id), moved on from where it was.
        row = conn.execute(
            "SELECT acked_seq FROM streams WHERE kiosk = ? AND store_id = ?", [kiosk.id, batch.store_id]
        ).fetchone()
        acked = row[0] if row else 0
        new_acked = advance_watermark(conn, kiosk.id, batch.store_id, acked) if stored or not row else acked
        max_seq = max((e["seq"] for e in events), default=0)
        conn.execute(
            "INSERT INTO streams (kiosk, store_id, acked_seq, max_seq) VALUES (?,?,?,?)"
            " ON CONFLICT (kiosk, store_id) DO UPDATE SET acked_seq = excluded.acked_seq,"
            " max_seq = max(max_seq, excluded.max_seq)",
            [kiosk.id, batch.store_id, new_acked, max_seq],
        )

        # 5. The fleet view: last seen, backlog, version, clock offset.
        try:
            offset = round(now - clock.wall.timestamp(), 3)
        except (OverflowError, ValueError):  # a wall clock at the edge of year 9999
            offset = None
        conn.execute(
            "UPDATE kiosks SET last_seen = ?, last_store_id = ?, software_version = ?, backlog = ?,"
            " clock_offset = ? WHERE id = ?",
            [now_iso, batch.store_id, batch.software_version, batch.backlog, offset, kiosk.id],
        )
        return IngestResult(stored, duplicates, new_acked, now_iso), increments

    def _stored_event(self, kiosk: int, event_id: str) -> tuple[str, dict] | None:
        """(type, detail) of a stored event: rollup.collect's lookup of the rating a reason names."""
        row = self.conn.execute(
            "SELECT type, detail FROM events WHERE kiosk = ? AND id = ?", [kiosk, event_id]
        ).fetchone()
        if row is None:
            return None
        detail = json.loads(row[1]) if row[1] else {}
        return row[0], detail if isinstance(detail, dict) else {}

    def _labels(self) -> labels.Known:
        """The codes the figures name, read again only when the directory or the settings changed."""
        rev = labels.revision(self.conn)
        if self._known is None or self._known[0] != rev:
            self._known = (rev, labels.load(self.conn))
        return self._known[1]

    def _place(self, kiosk: Kiosk, events: list, now: float) -> tuple[str, str]:
        """(unit, window) the kiosk serves, as stored now; a kiosk with neither adopts the first
        event's, once, in this transaction (docs/collector.md "Who a kiosk is")."""
        conn = self.conn
        unit, window = conn.execute("SELECT unit, window FROM kiosks WHERE id = ?", [kiosk.id]).fetchone()
        if unit or window:
            return unit, window
        first = events[0]
        unit, window = (" ".join(str(first.get(k, "")).split())[:MAX_LABEL] for k in ("unit", "window"))
        if not (unit or window) or not (unit + window).isprintable():
            return "", ""
        conn.execute("UPDATE kiosks SET unit = ?, window = ? WHERE id = ?", [unit, window, kiosk.id])
        conn.execute(
            "INSERT INTO admin_audit (at, username, action, target, detail) VALUES (?,?,?,?,?)",
            [
                datetime.fromtimestamp(now, UTC).isoformat(timespec="seconds"),
                f"kiosk:{kiosk.name}",
                "adopt_place",
                kiosk.name,
                json.dumps({"unit": unit, "window": window}, ensure_ascii=False),
            ],
        )
        log.info("kiosk %s adopts unit %r window %r from its first batch", kiosk.name, unit, window)
        return unit, window

    @staticmethod
    def _hourly(rows: list[EventRow]) -> dict[tuple, int]:
        hourly: dict[tuple, int] = {}
        for r in rows:
            if r.type == "rating" and MIN_EPOCH <= r.corrected_at <= MAX_EPOCH:
                key = (local_hour(r.corrected_at), r.unit, r.window, r.level, r.misuse)
                hourly[key] = hourly.get(key, 0) + 1
        return hourly

    @staticmethod
    def _rows(
        kiosk: Kiosk,
        batch: Batch,
        recorded: list[float],
        anchors: dict,
        now: float,
        now_iso: str,
        seen: set,
        place: tuple[str, str],
    ) -> tuple[list[EventRow], dict[tuple, int]]:
        """Event rows to insert (skipping ids in ``seen``) and their rollup increments. Every row
        names the kiosk's own ``place`` (unit, window), whatever the event said."""
        kid, store_id = kiosk.id, batch.store_id
        unit, window = place
        rows: list[EventRow] = []
        hourly: dict[tuple, int] = {}
        lo, hi = EPOCH_2020, now + FUTURE_SLACK
        for e, rec in zip(batch.events, recorded):
            eid = e["id"]
            if eid in seen:
                continue
            seen.add(eid)  # the same id twice in one batch counts once
            anchor = anchors.get(e["boot_id"])
            corrected = rec if anchor is None else anchor + e["monotonic"]
            suspect = corrected < lo or corrected > hi
            level, misuse = e.get("level"), e.get("misuse", False)
            if e["type"] == "rating" and MIN_EPOCH <= corrected <= MAX_EPOCH:
                key = (local_hour(corrected), unit, window, level, misuse)
                hourly[key] = hourly.get(key, 0) + 1
            detail = None
            if not e.keys() <= STANDARD_FIELDS:
                extra = {k: v for k, v in e.items() if k not in STANDARD_FIELDS}
                if e["type"] == CASE_LOOKUP:  # older kiosks sent the case number: it links to a name
                    extra = {k: v for k, v in extra.items() if k in CASE_LOOKUP_FIELDS}
                detail = json.dumps(extra, ensure_ascii=False) if extra else None
            rows.append(
                EventRow(
                    kid,
                    store_id,
                    eid,
                    e["seq"],
                    e["type"],
                    e.get("kiosk_id", ""),
                    unit,
                    window,
                    level,
                    misuse,
                    e.get("ref"),
                    e["recorded_at"],
                    e["boot_id"],
                    e["monotonic"],
                    detail,
                    corrected,
                    suspect,
                    now_iso,
                )
            )
        return rows, hourly
