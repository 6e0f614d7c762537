"""Times as the collector stores them: ISO 8601 in UTC, office-hour keys, and the range worth converting."""

from __future__ import annotations

from datetime import UTC, datetime
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
