"""Times as the collector stores them (ISO 8601 in UTC, office-hour keys) and as administrators read them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import lru_cache

from server_sync.wire.tz import OFFICE_TZ

# Outside this range a time is absurd and not even worth turning into a datetime.
MIN_EPOCH = datetime(1900, 1, 2, tzinfo=UTC).timestamp()
MAX_EPOCH = datetime(9000, 1, 1, tzinfo=UTC).timestamp()


def iso_utc(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds")


def iso_or(epoch: float, fallback: str) -> str:
    """iso_utc, or ``fallback`` for a time no datetime can hold."""
    if MIN_EPOCH <= epoch <= MAX_EPOCH:
        return iso_utc(epoch)
    return fallback


@lru_cache(maxsize=65536)
def _hour_of(hour_index: int) -> str:
    return datetime.fromtimestamp(hour_index * 3600, OFFICE_TZ).strftime("%Y-%m-%d %H")


def local_hour(epoch: float) -> str:
    """'YYYY-MM-DD HH' in Asia/Taipei (whole-hour offsets since 1896, so hours map to hours)."""
    return _hour_of(int(epoch // 3600))


def zone_label(local: datetime) -> str:
    """The office zone as administrators read it beside a time: '臺北時間 UTC+8'."""
    offset = local.utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    return f"臺北時間 UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")


def _parsed(value: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return None
    # The collector stores times in UTC; one without an offset was written as UTC too.
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(OFFICE_TZ)


def office_time(value: str | None, *, seconds: bool = False, labelled: bool = True, empty: str = "—") -> str:
    """A stored ISO 8601 time as the office reads it: '2026-12-01 09:30 (臺北時間 UTC+8)'.

    ``labelled`` False leaves the zone to a column heading (exports); text that is no time
    is shown as it is, and nothing as ``empty``.
    """
    if not value:
        return empty
    local = _parsed(str(value))
    if local is None:
        return str(value)
    text = local.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")
    return f"{text} ({zone_label(local)})" if labelled else text


def office_zone_heading() -> str:
    """The zone for a column heading: '臺北時間 UTC+8' as it is now (Taiwan has kept UTC+8 since 1979)."""
    return zone_label(datetime.now(OFFICE_TZ))


def office_local(value: str | None, *, empty: str = "—") -> str:
    """A time already written in office time without an offset (an alert's 'happened' time,
    alerts.office_time), with its zone labelled the same way."""
    if not value:
        return empty
    try:
        local = datetime.fromisoformat(str(value)).replace(tzinfo=OFFICE_TZ)
    except ValueError:
        return str(value)
    return f"{local:%Y-%m-%d %H:%M} ({zone_label(local)})"
