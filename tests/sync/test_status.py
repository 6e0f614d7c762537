"""The status line and the doctor summary, from a SyncStatus (no network, no file)."""

from datetime import UTC, datetime, timedelta

from server_sync.client.push import _pending_since
from server_sync.client.status import SyncStatus, doctor_summary, status_line

NOW = datetime(2026, 11, 27, 8, 2, tzinfo=UTC)


def local_hm(when):
    return when.astimezone().strftime("%H:%M")


def test_synced_today_shows_the_time_and_what_waits():
    s = SyncStatus(pending=0, last_round_ok=True, last_success_at=NOW - timedelta(minutes=1))
    assert status_line(s, "zh-TW", now=NOW) == f"已同步 {local_hm(s.last_success_at)} · 待同步 0 筆"
    assert status_line(s, "en", now=NOW) == f"Synced {local_hm(s.last_success_at)} · 0 waiting to sync"


def test_synced_on_an_earlier_day_shows_the_date_too():
    s = SyncStatus(pending=4, last_round_ok=True, last_success_at=NOW - timedelta(days=3))
    assert (
        status_line(s, "zh-TW", now=NOW)
        == f"已同步 {s.last_success_at.astimezone().strftime('%m/%d %H:%M')} · 待同步 4 筆"
    )


def test_failure_names_the_reason_in_the_visitors_language():
    s = SyncStatus(
        pending=312,
        last_round_ok=False,
        last_success_at=NOW - timedelta(hours=2),
        last_error_at=NOW,
        last_error_zh="無法連線到收集伺服器",
        last_error_en="cannot reach the collector",
    )
    assert status_line(s, "zh-TW", now=NOW) == "未能同步：無法連線到收集伺服器 · 待同步 312 筆"
    assert status_line(s, "en", now=NOW) == "Not synced: cannot reach the collector · 312 waiting to sync"


def test_failing_follows_the_latest_round_not_the_wall_clock():
    # The error happened after a reboot whose wall clock read 1970: still the latest round.
    s = SyncStatus(
        last_round_ok=False,
        last_success_at=NOW,
        last_error_at=datetime(1970, 1, 1, 0, 5, tzinfo=UTC),
        last_error_zh="x",
        last_error_en="x",
    )
    assert s.failing
    assert not SyncStatus(last_round_ok=True, last_error_at=NOW).failing
    assert not SyncStatus().failing


def test_never_synced_and_unreadable():
    assert status_line(SyncStatus(pending=2), "zh-TW", now=NOW) == "尚未同步 · 待同步 2 筆"
    assert status_line(None, "en", now=NOW) == "Not synced: sync status unreadable"


def test_doctor_fails_only_when_the_last_round_failed_and_events_waited_over_an_hour():
    failing = dict(
        last_round_ok=False,
        last_error_at=NOW,
        last_error_zh="收到非預期的回應（可能是網路登入頁面）",
        last_error_en="unexpected response (maybe a captive portal login page)",
        last_error_detail="HTTP 200 text/html: Wi-Fi Login",
    )
    ok, message = doctor_summary(SyncStatus(pending=5, pending_since=NOW - timedelta(minutes=30), **failing), now=NOW)
    assert ok and "captive portal" in message and "pending 待同步 5" in message
    ok, message = doctor_summary(SyncStatus(pending=5, pending_since=NOW - timedelta(hours=2), **failing), now=NOW)
    assert not ok and message.startswith("events are not reaching the collector")
    assert "Wi-Fi Login" in message and "never 從未" in message
    ok, _ = doctor_summary(SyncStatus(pending=0, pending_since=None, **failing), now=NOW)
    assert ok  # nothing waits: an unreachable collector is not losing anything yet
    ok, _ = doctor_summary(
        SyncStatus(pending=5, pending_since=NOW - timedelta(hours=2), last_round_ok=True, last_success_at=NOW), now=NOW
    )
    assert ok
    ok, message = doctor_summary(SyncStatus(clock_offset=-1800.2, settings_revision=7), now=NOW)
    assert ok and "-1800.2 s" in message and "revision 7" in message


def test_pending_since_starts_stays_clears_and_ignores_a_wrong_clock():
    assert _pending_since(None, 0, NOW) is None
    assert _pending_since(None, 3, NOW).startswith("2026-11-27T08:02")
    earlier = "2026-11-27T06:00:00.000+00:00"
    assert _pending_since(earlier, 3, NOW) == earlier
    assert _pending_since(earlier, 0, NOW) is None
    assert _pending_since("1970-01-01T00:10:00.000+00:00", 3, NOW).startswith("2026")
    assert _pending_since("2027-01-01T00:00:00.000+00:00", 3, NOW).startswith("2026-11-27")
