"""What the sync client tells people: the discreet status line and the `kiosk doctor` check.

Both read ``sync_state`` and count pending events straight from the kiosk's
file, so they are right even when the sync thread is busy, stuck or not running.
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from kiosk.i18n import text
from kiosk.store import DB_NAME, connect
from server_sync.client.outbox import parse_iso

STUCK_AFTER = timedelta(hours=1)  # doctor fails when events wait this long and the last round failed


@dataclass
class SyncStatus:
    store_id: str | None = None
    acked_seq: int = 0
    pending: int = 0
    pending_since: datetime | None = None
    last_attempt_at: datetime | None = None
    last_round_ok: bool | None = None
    last_success_at: datetime | None = None
    last_error_at: datetime | None = None
    last_error_zh: str | None = None
    last_error_en: str | None = None
    last_error_detail: str | None = None
    clock_offset: float | None = None
    clock_offset_at: datetime | None = None
    settings_revision: int | None = None
    settings_at: datetime | None = None
    settings_error: str | None = None

    @property
    def failing(self) -> bool:
        """True when the most recent round ended in an error (whatever the wall clock said then)."""
        return self.last_round_ok is False

    def error_words(self, lang: str) -> str:
        return (self.last_error_en if lang == "en" else self.last_error_zh) or ""


def read_status(conn: sqlite3.Connection) -> SyncStatus:
    """The sync state of the store in ``conn`` (defaults when it never synced)."""
    row = conn.execute("SELECT value FROM meta WHERE key='store_id'").fetchone()
    status = SyncStatus(store_id=row[0] if row else None)
    has_table = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type='table' AND name='sync_state'").fetchone()
    if has_table and status.store_id:
        row = conn.execute(
            "SELECT acked_seq, pending_since, last_attempt_at, last_round_ok, last_success_at, last_error_at,"
            " last_error_zh, last_error_en, last_error_detail, clock_offset, clock_offset_at,"
            " settings_revision, settings_at, settings_error FROM sync_state WHERE store_id=?",
            [status.store_id]).fetchone()
        if row:
            (status.acked_seq, since, attempt, round_ok, success, error_at, status.last_error_zh,
             status.last_error_en, status.last_error_detail, status.clock_offset, offset_at,
             status.settings_revision, settings_at, status.settings_error) = row
            status.pending_since, status.last_attempt_at = parse_iso(since), parse_iso(attempt)
            status.last_round_ok = None if round_ok is None else bool(round_ok)
            status.last_success_at, status.last_error_at = parse_iso(success), parse_iso(error_at)
            status.clock_offset_at, status.settings_at = parse_iso(offset_at), parse_iso(settings_at)
    status.pending = conn.execute("SELECT count(*) FROM events WHERE seq > ?",
                                  [status.acked_seq or 0]).fetchone()[0]
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
                self.close_locked()
                return None

    def close_locked(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except sqlite3.Error:
                pass
            self._conn = None

    def close(self) -> None:
        with self._lock:
            self.close_locked()


def _local(when: datetime) -> datetime:
    return when.astimezone()  # the kiosk's own time zone (Asia/Taipei on an office Pi)


def _when(when: datetime, now: datetime) -> str:
    local, today = _local(when), _local(now)
    return local.strftime("%H:%M") if local.date() == today.date() else local.strftime("%m/%d %H:%M")


def status_line(status: SyncStatus | None, lang: str, *, now: datetime | None = None) -> str:
    """e.g. "已同步 16:02 · 待同步 0 筆" or "未能同步：無法連線到收集伺服器 · 待同步 312 筆"."""
    now = now or datetime.now(timezone.utc)
    if status is None:
        return text("sync_failed", lang, reason=text("sync_unreadable", lang))
    pending = text("sync_pending", lang, n=status.pending)
    if status.failing:
        head = text("sync_failed", lang, reason=status.error_words(lang))
    elif status.last_success_at is not None:
        head = text("sync_ok", lang, when=_when(status.last_success_at, now))
    else:
        head = text("sync_never", lang)
    return f"{head} · {pending}"


def _stamp(when: datetime | None) -> str:
    return _local(when).strftime("%Y-%m-%d %H:%M:%S") if when else "never 從未"


def doctor_summary(status: SyncStatus, *, now: datetime | None = None) -> tuple[bool, str]:
    """(ok, message) for `kiosk doctor`: fails when the last round failed and events waited over an hour."""
    now = now or datetime.now(timezone.utc)
    parts = [f"last success 上次成功 {_stamp(status.last_success_at)}",
             f"pending 待同步 {status.pending}"]
    waited = None
    if status.pending:
        since = status.pending_since or status.last_success_at
        if since is not None and since <= now:
            waited = now - since
            parts[-1] += f" (since 自 {_stamp(since)})"
    if status.last_error_at is not None:
        error = f"{status.last_error_zh} / {status.last_error_en}"
        if status.last_error_detail:
            error += f" [{status.last_error_detail[:160]}]"
        parts.append(f"last error 最近錯誤 {_stamp(status.last_error_at)}: {error}")
    if status.clock_offset is not None:
        parts.append(f"clock offset 時鐘差 {status.clock_offset:+.1f} s (collector minus kiosk 伺服器減本機)")
    if status.settings_revision is not None:
        parts.append(f"settings 設定 revision {status.settings_revision}")
    if status.settings_error:
        parts.append(f"settings error 設定下載錯誤: {status.settings_error}")
    stuck = status.failing and status.pending > 0 and waited is not None and waited > STUCK_AFTER
    if stuck:
        parts.insert(0, "events are not reaching the collector 資料未能送達收集伺服器")
    return not stuck, "; ".join(parts)
