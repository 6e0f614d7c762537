"""Pending events and the acked watermark, kept in the kiosk's own SQLite file.

The sync client opens its own connection (``kiosk.store.connect``: WAL,
synchronous=FULL), so reading a batch never blocks the UI's durable writes
and the UI's writes block the watermark update only for SQLite's own lock.
State lives in ``sync_state`` (migration m002), one row per ``store_id``: a
store replaced after corruption starts again at seq 1 under a new id.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import sqlite_utils

from kiosk.migrations import migrations
from kiosk.store import _COLUMNS, DB_NAME, Event, _row_to_event, connect
from server_sync.client import errors

STATE_COLUMNS = (
    "store_id", "acked_seq", "pending", "pending_since", "last_attempt_at", "last_round_ok", "last_success_at",
    "last_error_at", "last_error_zh", "last_error_en", "last_error_detail", "clock_offset",
    "clock_offset_at", "settings_etag", "settings_revision", "settings_json", "settings_at",
    "settings_error",
)


def iso(when: datetime) -> str:
    return when.astimezone(timezone.utc).isoformat(timespec="milliseconds")


def parse_iso(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


class Outbox:
    """The sync client's view of ``data_dir/kiosk.db``; use as a context manager per round.

    path: the SQLite file (``kiosk.db``) or the folder holding it.
    """

    def __init__(self, path: str | Path):
        path = Path(path)
        self.path = path / DB_NAME if path.is_dir() or path.suffix != ".db" else path
        self.conn: sqlite3.Connection | None = None

    # -- connection ----------------------------------------------------------
    def open(self) -> "Outbox":
        if self.conn is not None:
            return self
        if not self.path.exists():
            # Never create the kiosk's file from here: the Store owns its creation.
            raise errors.local_data(f"{self.path} does not exist yet")
        try:
            conn = connect(self.path)
            try:
                has_state = conn.execute(
                    "SELECT 1 FROM sqlite_master WHERE type='table' AND name='sync_state'").fetchone()
                if not has_state:
                    migrations.apply(sqlite_utils.Database(conn))
            except BaseException:
                conn.close()
                raise
        except sqlite3.Error as exc:
            raise errors.local_data(str(exc)) from exc
        self.conn = conn
        return self

    def close(self) -> None:
        if self.conn is not None:
            try:
                self.conn.close()
            finally:
                self.conn = None

    def __enter__(self) -> "Outbox":
        return self.open()

    def __exit__(self, *exc) -> None:
        self.close()

    def _run(self, fn):
        """Run fn(conn), turning SQLite errors into a plain-words SyncError."""
        if self.conn is None:
            self.open()
        try:
            return fn(self.conn)
        except sqlite3.Error as exc:
            if self.conn is not None and self.conn.in_transaction:
                try:
                    self.conn.execute("ROLLBACK")
                except sqlite3.Error:
                    pass
            raise errors.local_data(str(exc)) from exc

    def _write(self, sql: str, params) -> None:
        def go(conn):
            conn.execute("BEGIN IMMEDIATE")
            conn.execute(sql, params)
            conn.execute("COMMIT")  # synchronous=FULL: durable when this returns
        self._run(go)

    # -- reading ---------------------------------------------------------------
    @property
    def store_id(self) -> str:
        row = self._run(lambda c: c.execute("SELECT value FROM meta WHERE key='store_id'").fetchone())
        if row is None:
            raise errors.local_data("the data file has no store_id yet")
        return row[0]

    def state(self, store_id: str | None = None) -> dict[str, Any]:
        """This store's sync_state row (created with acked_seq 0 if missing)."""
        store_id = store_id or self.store_id

        def go(conn):
            conn.execute("INSERT OR IGNORE INTO sync_state(store_id) VALUES (?)", [store_id])
            return conn.execute(f"SELECT {', '.join(STATE_COLUMNS)} FROM sync_state WHERE store_id=?",
                                [store_id]).fetchone()
        return dict(zip(STATE_COLUMNS, self._run(go)))

    def pending_count(self, acked_seq: int) -> int:
        return self._run(lambda c: c.execute("SELECT count(*) FROM events WHERE seq > ?",
                                             [acked_seq]).fetchone()[0])

    def batch(self, acked_seq: int, limit: int) -> list[Event]:
        """Up to ``limit`` events after the watermark, oldest first."""
        rows = self._run(lambda c: c.execute(
            f"SELECT {_COLUMNS} FROM events WHERE seq > ? ORDER BY seq LIMIT ?",
            [acked_seq, limit]).fetchall())
        return [_row_to_event(row) for row in rows]

    # -- writing (each one durable when it returns) ------------------------------
    def mark_acked(self, store_id: str, acked_seq: int, pending: int) -> None:
        """Move the watermark; only ever called after the ack was validated."""
        self._write("UPDATE sync_state SET acked_seq=?, pending=? WHERE store_id=?",
                    [acked_seq, pending, store_id])

    def update_state(self, store_id: str, values: dict[str, Any]) -> None:
        """Write the given sync_state columns in one durable transaction."""
        unknown = set(values) - set(STATE_COLUMNS[1:])
        if unknown:
            raise ValueError(f"not sync_state columns: {sorted(unknown)}")
        if values:
            names = list(values)
            self._write(f"UPDATE sync_state SET {', '.join(f'{n}=?' for n in names)} WHERE store_id=?",
                        [values[n] for n in names] + [store_id])
