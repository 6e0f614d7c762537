"""The office's time zone: opening hours, office days and case dates are judged in it."""

from __future__ import annotations

from datetime import timedelta, timezone, tzinfo

try:
    from zoneinfo import ZoneInfo

    OFFICE_TZ: tzinfo = ZoneInfo("Asia/Taipei")
except Exception:  # no tz database on the board: Taiwan has had no DST since 1979
    OFFICE_TZ = timezone(timedelta(hours=8))
