"""One stored event as the ``events`` table holds it: the row ingest inserts and the rollups read."""

from __future__ import annotations

from typing import NamedTuple


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


COLUMNS = ", ".join(EventRow._fields)
INSERT_EVENT = f"INSERT OR IGNORE INTO events ({COLUMNS}) VALUES ({','.join('?' * len(EventRow._fields))})"
