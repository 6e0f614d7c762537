"""The events a kiosk records and sends: their types and their fields (docs/protocol-v1.md)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

RATING = "rating"  # a press of one of the five buttons; level 1-5
REASON = "reason"  # the follow-up reason after a poor rating; ``reason`` in detail
STORE_RECOVERED = "store_recovered"  # a corrupt data file was moved aside and a fresh one started
TICKET_ISSUED = "ticket_issued"
TICKET_CALLED = "ticket_called"
TICKET_SERVED = "ticket_served"
TICKET_NO_SHOW = "ticket_no_show"
CASE_LOOKUP = "case_lookup"  # one try on the 案件查詢 screen; ``result`` in detail (docs/cases.md)
# All a case_lookup carries besides the common fields: never the case number (older kiosks sent
# ``case_no``; the collector drops it at ingest) nor the code.
CASE_LOOKUP_FIELDS = ("result", "source")
# The types the kiosk records. The collector stores any type; the dashboard reads these.
TYPES = frozenset((RATING, REASON, STORE_RECOVERED, TICKET_ISSUED, TICKET_CALLED, TICKET_SERVED, TICKET_NO_SHOW,
                   CASE_LOOKUP))

# Every event carries these, in this order; type-specific fields travel beside them.
FIELDS = ("id", "seq", "type", "kiosk_id", "unit", "window", "level", "misuse", "ref", "recorded_at",
          "boot_id", "monotonic")


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
