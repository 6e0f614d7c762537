"""One stored event as the ``events`` table holds it: the row ingest inserts and the rollups read."""

from __future__ import annotations

from typing import NamedTuple

from server_sync.wire.events import FIELDS


class EventRow(NamedTuple):
    """The columns of ``events`` in INSERT_EVENT order (``pk`` aside)."""

    kiosk: int
    store_id: str
    id: str
    seq: int
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
    detail: str | None  # JSON of the event's extra fields, or None
    corrected_at: float
    time_suspect: bool
    received_at: str


# The wire is the one place for the fields every event carries. The row spells them out again only
# because a type checker reads a NamedTuple's fields from its body; they must be the wire's, in its
# order, between the sender (kiosk, store_id) and what the collector adds.
if EventRow._fields[2 : 2 + len(FIELDS)] != FIELDS:
    raise RuntimeError(f"EventRow's fields {EventRow._fields} are not the wire's {FIELDS}")

COLUMNS = ", ".join(EventRow._fields)
INSERT_EVENT = f"INSERT OR IGNORE INTO events ({COLUMNS}) VALUES ({','.join('?' * len(EventRow._fields))})"
