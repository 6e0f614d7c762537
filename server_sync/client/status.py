"""What the sync client tells people: the discreet status line and the `kiosk doctor` check.

Both take a ``SyncStatus`` the kiosk reads straight from its own file
(kiosk/outbox.py), so they are right even when the sync thread is busy, stuck
or not running.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

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


def _local(when: datetime) -> datetime:
    return when.astimezone()  # the kiosk's own time zone (Asia/Taipei on an office Pi)


def _when(when: datetime, now: datetime) -> str:
    local, today = _local(when), _local(now)
    return local.strftime("%H:%M") if local.date() == today.date() else local.strftime("%m/%d %H:%M")


# The status line's words: (zh-TW, English).
_WORDS = {
    "ok": ("已同步 {when}", "Synced {when}"),
    "pending": ("待同步 {n} 筆", "{n} waiting to sync"),
    "never": ("尚未同步", "Not synced yet"),
    "failed": ("未能同步：{reason}", "Not synced: {reason}"),
    "unreadable": ("無法讀取同步狀態", "sync status unreadable"),
}


def _text(key: str, lang: str, **values) -> str:
    zh, en = _WORDS[key]
    return (en if lang == "en" else zh).format(**values)


def status_line(status: SyncStatus | None, lang: str, *, now: datetime | None = None) -> str:
    """e.g. "已同步 16:02 · 待同步 0 筆" or "未能同步：無法連線到收集伺服器 · 待同步 312 筆"."""
    now = now or datetime.now(UTC)
    if status is None:
        return _text("failed", lang, reason=_text("unreadable", lang))
    pending = _text("pending", lang, n=status.pending)
    if status.failing:
        head = _text("failed", lang, reason=status.error_words(lang))
    elif status.last_success_at is not None:
        head = _text("ok", lang, when=_when(status.last_success_at, now))
    else:
        head = _text("never", lang)
    return f"{head} · {pending}"


def _stamp(when: datetime | None) -> str:
    return _local(when).strftime("%Y-%m-%d %H:%M:%S") if when else "never 從未"


def doctor_summary(status: SyncStatus, *, now: datetime | None = None) -> tuple[bool, str]:
    """(ok, message) for `kiosk doctor`: fails when the last round failed and events waited over an hour."""
    now = now or datetime.now(UTC)
    parts = [f"last success 上次成功 {_stamp(status.last_success_at)}", f"pending 待同步 {status.pending}"]
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
