"""Which units' cases a kiosk may hold: the one place that decides it (docs/cases.md).

A kiosk holds only the cases of the unit it serves, so a stolen kiosk file carries one
unit's cases, not the whole office's. A kiosk with no unit gets no cases at all.
"""

from __future__ import annotations

import sqlite3
import unicodedata


def normalize_unit(text: str) -> str:
    """Units compare as case records store them: full-width folded, spaces collapsed."""
    return " ".join(unicodedata.normalize("NFKC", text or "").split())


def units_served(conn: sqlite3.Connection, kiosk_id: int) -> tuple[str, ...]:
    """The units whose cases kiosk ``kiosk_id`` receives (none when it has no unit)."""
    # Until the kiosks table holds each kiosk's unit (set at add-kiosk), its own `cases.unit` setting
    # (`kiosk-collector set-setting cases.unit 第一組 --kiosk NAME`).
    row = conn.execute("SELECT json_extract(value, '$') FROM settings WHERE kiosk = ? AND key = 'cases.unit'",
                       [kiosk_id]).fetchone()
    unit = normalize_unit(row[0]) if row and isinstance(row[0], str) else ""
    return (unit,) if unit else ()
