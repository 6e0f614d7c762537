"""Which units' cases a kiosk may hold: the one place that decides it (docs/cases.md).

A kiosk holds only the cases of the unit it serves, so a stolen kiosk file carries one
unit's cases, not the whole office's. A kiosk with no unit gets no cases at all.
"""

from __future__ import annotations

import sqlite3
import unicodedata

from server_sync.collector import auth


def normalize_unit(text: str) -> str:
    """Units compare as case records store them: full-width folded, spaces collapsed."""
    return " ".join(unicodedata.normalize("NFKC", text or "").split())


def units_served(conn: sqlite3.Connection, kiosk_id: int) -> tuple[str, ...]:
    """The units whose cases kiosk ``kiosk_id`` receives: the unit the collector records for it
    (`kiosk-collector add-kiosk NAME --unit U`, or a manager on the fleet page), none while it has none."""
    return tuple(u for u in (normalize_unit(unit) for unit in auth.units_served(conn, kiosk_id)) if u)
