"""What the detectors read from the collector's database, and each rule's findings.

Ratings come from the hourly rollups (``rollups``: office hour, kiosk, unit, window, level,
misuse, n), counted ones only, so a check reads a few thousand rows, never the events. A stuck
button is an event (wire ``button_stuck``), read once each from the ``tamper_pk`` watermark.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from server_sync.collector.tamper import detect, rules
from server_sync.collector.tamper.detect import Finding, KioskSeen, OfficeHours, WindowCounts
from server_sync.wire.events import BUTTON_STUCK

OFFICE_TZ = ZoneInfo("Asia/Taipei")
HISTORY_DAYS = 120  # how far back runs and baselines are looked for


def window_counts(conn: sqlite3.Connection, since: datetime) -> list[WindowCounts]:
    levels = dict(conn.execute("SELECT id, levels FROM kiosks").fetchall())
    by: dict[tuple[str, str], WindowCounts] = {}
    for hour, kiosk, unit, window, level, n in conn.execute(
        "SELECT hour, kiosk, unit, window, level, n FROM rollups WHERE misuse = 0 AND hour >= ?",
        [detect.hour_key(since)],
    ):
        w = by.get((unit, window))
        if w is None:
            w = by[unit, window] = WindowCounts(unit, window, int(levels.get(kiosk, 5)))
        w.add(hour, int(level), int(n))
    return list(by.values())


def office_hours(params: dict) -> OfficeHours:
    return OfficeHours(
        rules.weekdays(params["days"]), rules.minutes_of(params["start"]), rules.minutes_of(params["end"])
    )


def _office(iso: str) -> datetime:
    t = datetime.fromisoformat(iso)
    return (t if t.tzinfo else t.replace(tzinfo=ZoneInfo("UTC"))).astimezone(OFFICE_TZ)


def kiosks_seen(conn: sqlite3.Connection) -> list[KioskSeen]:
    return [
        KioskSeen(name, unit, window, _office(last) if last else None, _office(created))
        for name, unit, window, last, created in conn.execute(
            "SELECT name, unit, window, last_seen, created_at FROM kiosks WHERE revoked_at IS NULL"
        )
    ]


def stuck_range(conn: sqlite3.Connection) -> tuple[int, int]:
    """(watermark, newest event pk): stuck-button events after the first up to the second are new."""
    row = conn.execute("SELECT value FROM admin_meta WHERE key = 'tamper_pk'").fetchone()
    top = conn.execute("SELECT coalesce(max(pk), 0) FROM events").fetchone()[0]
    return (int(row[0]) if row else top), top


def stuck_buttons(conn: sqlite3.Connection, lo: int, hi: int) -> list[Finding]:
    found = []
    for pk, name, unit, window, level, detail, corrected in conn.execute(
        "SELECT e.pk, k.name, e.unit, e.window, e.level, e.detail, e.corrected_at FROM events e"
        " JOIN kiosks k ON k.id = e.kiosk WHERE e.type = ? AND e.pk > ? AND e.pk <= ? ORDER BY e.pk",
        [BUTTON_STUCK, lo, hi],
    ):
        try:
            held = float(json.loads(detail or "{}").get("held_seconds") or 0)
        except (ValueError, TypeError, AttributeError):
            held = 0.0
        when = datetime.fromtimestamp(corrected, OFFICE_TZ).strftime("%Y-%m-%d %H:%M")
        found.append(
            Finding(
                f"stuck:{pk}",
                unit,
                window,
                f"機台 {name}（{unit} 窗口 {window}）按鈕 {level} 持續按下 {held:.0f} 秒以上，疑似卡住或遭黏住 "
                f"level {level} button held down {held:.0f} s or more at {when}: stuck or taped?",
                {"level": level, "held_seconds": held, "at": when},
                kiosk=name,
            )
        )
    return found


def findings(conn: sqlite3.Connection, rule: dict, now: float, stuck: tuple[int, int]) -> list[Finding]:
    """What ``rule`` (a tamper kind) finds at unix time ``now``; ``stuck`` = stuck_range()."""
    kind, p = rule["kind"], rule["params"]
    t = datetime.fromtimestamp(now, OFFICE_TZ)
    if kind == rules.STUCK:
        return stuck_buttons(conn, *stuck)
    if kind == rules.OFFICE_SILENT:
        hours = office_hours(p)
        windows = window_counts(conn, t - timedelta(days=28))
        return detect.silent_kiosks(kiosks_seen(conn), t, hours, p["minutes"]) + detect.idle_windows(
            windows, t, hours, alpha=p["alpha"]
        )
    windows = window_counts(conn, t - timedelta(days=HISTORY_DAYS))
    if kind == rules.QUIET:
        return detect.quiet_buttons(
            windows, t, alpha=p["alpha"], lookback_days=p["lookback_days"], min_pool=p["min_pool"]
        )
    if kind == rules.SHIFT:
        return detect.distribution_shift(
            windows,
            t.date(),
            alpha=p["alpha"],
            recent_days=p["recent_days"],
            base_days=p["base_days"],
            min_recent=p["min_recent"],
        )
    return []
