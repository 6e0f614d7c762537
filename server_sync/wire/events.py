"""The events a kiosk records and sends: their types and their fields (docs/protocol-v1.md)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

RATING = "rating"  # a press of one of the five buttons; level 1-5
REASON = "reason"  # the follow-up reason after a poor rating; ``reason`` in detail
STORE_RECOVERED = "store_recovered"  # a corrupt data file was moved aside and a fresh one started
TICKET_ISSUED = "ticket_issued"
TICKET_CALLED = "ticket_called"
TICKET_SERVED = "ticket_served"
TICKET_NO_SHOW = "ticket_no_show"
# A window sent its visitor on to another service: same number, a new line (``service``, ``from_service``).
TICKET_TRANSFERRED = "ticket_transferred"
CASE_LOOKUP = "case_lookup"  # one try on the 案件查詢 screen; ``result`` in detail (docs/cases.md)
# A rating button held far longer than a press (stuck or taped): ``level`` the button, ``held_seconds``
# in detail; button_released when it lets go. The collector alerts on them (collector/tamper/).
BUTTON_STUCK = "button_stuck"
BUTTON_RELEASED = "button_released"
# All a case_lookup carries besides the common fields: never the case number (older kiosks sent
# ``case_no``; the collector drops it at ingest) nor the code.
CASE_LOOKUP_FIELDS = ("result", "source")
# The types the kiosk records. The collector stores any type; the dashboard reads these.
TYPES = frozenset(
    (
        RATING,
        REASON,
        STORE_RECOVERED,
        TICKET_ISSUED,
        TICKET_CALLED,
        TICKET_SERVED,
        TICKET_NO_SHOW,
        TICKET_TRANSFERRED,
        CASE_LOOKUP,
        BUTTON_STUCK,
        BUTTON_RELEASED,
    )
)

# The numbers events carry beside the common fields, and the range a real kiosk stays in; the
# collector refuses any other value with 422 (null means "not known" and is allowed). Seconds:
# the canonical names kiosk/queue.py writes, then the aliases the collector's figures also read.
MAX_SECONDS = 10 * 86400.0
SECONDS_FIELDS = (
    "wait_seconds",
    "service_seconds",
    "estimate_seconds",
    "estimate_low",
    "estimate_high",
    "wait_s",
    "wait",
    "service_time_seconds",
    "service_time",
    "service_s",
    "estimated_wait_seconds",
    "wait_estimate_seconds",
    "estimate",
)
# Whole numbers on ticket events: people ahead, the call's number, calls made, the directory's revision.
COUNT_FIELDS = {"ahead": 100_000, "call": 1_000, "calls": 1_000, "directory_revision": 2**53}
# The wait band a ticket showed, in whole minutes: "lt5", "5-10", "30+", or "closed" (no estimate).
ESTIMATE_BAND = "estimate_band"
BAND_CLOSED = "closed"
_BAND = re.compile(r"lt([0-9]{1,4})|([0-9]{1,4})-([0-9]{1,4})|([0-9]{1,4})\+")


def parse_band(key: object) -> tuple[float, float] | None:
    """An estimate band as (low, high) seconds; None for "closed", a missing band or anything malformed."""
    if not isinstance(key, str):
        return None
    m = _BAND.fullmatch(key)
    if m is None:
        return None
    if m[1] is not None:
        return 0.0, int(m[1]) * 60.0
    if m[4] is not None:
        return int(m[4]) * 60.0, MAX_SECONDS
    lo, hi = int(m[2]) * 60.0, int(m[3]) * 60.0
    return (lo, hi) if lo <= hi else None


def band_valid(key: object) -> bool:
    return key is None or key == BAND_CLOSED or parse_band(key) is not None


# The follow-up reasons a kiosk offers unless the office configures ``reasons.items``
# (kiosk/config.py DEFAULT_REASONS holds their labels).
DEFAULT_REASON_CODES = ("wait", "attitude", "unclear", "procedure", "facilities", "other")

# Every event carries these, in this order; type-specific fields travel beside them.
FIELDS = (
    "id",
    "seq",
    "type",
    "kiosk_id",
    "unit",
    "window",
    "level",
    "misuse",
    "ref",
    "recorded_at",
    "boot_id",
    "monotonic",
)


@dataclass(frozen=True)
class Event:
    """One recorded event; ``detail`` holds the type-specific fields."""

    seq: int
    id: str
    type: str
    kiosk_id: str
    unit: str
    window: str
    level: int | None
    misuse: bool
    ref: str | None
    recorded_at: str
    boot_id: str
    monotonic: float
    detail: dict[str, Any]

    def as_json(self) -> dict[str, Any]:
        """The event as `kiosk events` prints it and sync sends it."""
        out: dict[str, Any] = {name: getattr(self, name) for name in FIELDS}
        out.update({k: v for k, v in self.detail.items() if k not in out})
        return out
