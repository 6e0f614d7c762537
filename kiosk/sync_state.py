"""What the kiosk reads of its sync state, straight from its own file: the status line, `kiosk doctor`, the queue's pulled directory.

Kept apart from kiosk/outbox.py (the sync client's side), so a kiosk whose sync
is off or not yet started reads these without importing requests, urllib3 and ssl.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from kiosk.store import DB_NAME, connect
from server_sync.client.outbox import parse_iso
from server_sync.client.status import SyncStatus


def read_services(conn: sqlite3.Connection) -> tuple[int, str | None]:
    """(revision, JSON text) of the service directory last pulled; (0, None) if none ever was."""
    row = conn.execute("SELECT revision, directory FROM service_directory WHERE id = 1").fetchone()
    return (row[0], row[1]) if row else (0, None)


def read_status(conn: sqlite3.Connection) -> SyncStatus:
    """The sync state of the store in ``conn`` (defaults when it never synced).

    One read transaction: the watermark, the success time and the pending count
    come from the same moment, never from either side of the sync thread's commit.
    """
    conn.execute("BEGIN")
    try:
        return _read_status(conn)
    finally:
        if conn.in_transaction:
            conn.execute("COMMIT")  # nothing was written: ends the read snapshot


def _read_status(conn: sqlite3.Connection) -> SyncStatus:
    row = conn.execute("SELECT value FROM meta WHERE key='store_id'").fetchone()
    status = SyncStatus(store_id=row[0] if row else None)
    has_table = conn.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='sync_state'").fetchone()
    if has_table and status.store_id:
        row = conn.execute(
            "SELECT acked_seq, pending_since, last_attempt_at, last_round_ok, last_success_at, last_error_at,"
            " last_error_zh, last_error_en, last_error_detail, clock_offset, clock_offset_at,"
            " settings_revision, settings_at, settings_error FROM sync_state WHERE store_id=?",
            [status.store_id],
        ).fetchone()
        if row:
            (
                status.acked_seq,
                since,
                attempt,
                round_ok,
                success,
                error_at,
                status.last_error_zh,
                status.last_error_en,
                status.last_error_detail,
                status.clock_offset,
                offset_at,
                status.settings_revision,
                settings_at,
                status.settings_error,
            ) = row
            status.pending_since, status.last_attempt_at = parse_iso(since), parse_iso(attempt)
            status.last_round_ok = None if round_ok is None else bool(round_ok)
            status.last_success_at, status.last_error_at = parse_iso(success), parse_iso(error_at)
            status.clock_offset_at, status.settings_at = parse_iso(offset_at), parse_iso(settings_at)
    status.pending = conn.execute("SELECT count(*) FROM events WHERE seq > ?", [status.acked_seq or 0]).fetchone()[0]
    return status


class StatusReader:
    """Reads SyncStatus over a connection of its own (for the UI thread); reopens after errors."""

    def __init__(self, data_dir: str | Path):
        self.path = Path(data_dir) / DB_NAME
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    def read(self) -> SyncStatus | None:
        """The current status, or None if the file cannot be read right now."""
        with self._lock:
            try:
                if self._conn is None:
                    if not self.path.exists():
                        return None
                    self._conn = connect(self.path)
                return read_status(self._conn)
            except sqlite3.Error:
                self._close_locked()
                return None

    def _close_locked(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except sqlite3.Error:
                pass
            self._conn = None

    def close(self) -> None:
        with self._lock:
            self._close_locked()
