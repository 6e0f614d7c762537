"""Settings the kiosks pull (GET /api/v1/settings): global ones, overridden per kiosk.

Every change bumps one revision number; the revision is the ETag, so a kiosk
whose copy is current gets ``304`` and an empty body.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from typing import Any

GLOBAL = 0


def revision(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT value FROM meta WHERE key = 'settings_revision'").fetchone()[0])


def effective(conn: sqlite3.Connection, kiosk_id: int) -> tuple[int, dict[str, Any]]:
    """(revision, settings) for one kiosk, read in one snapshot."""
    conn.execute("BEGIN")
    try:
        rev = revision(conn)
        rows = conn.execute(
            "SELECT key, value FROM settings WHERE kiosk IN (?, ?) ORDER BY kiosk = ?, key",
            [GLOBAL, kiosk_id, kiosk_id],
        ).fetchall()
    finally:
        conn.execute("COMMIT")
    out: dict[str, Any] = {}
    for key, value in rows:  # globals first, then this kiosk's own override them
        out[key] = json.loads(value)
    return rev, dict(sorted(out.items()))


def parse_value(text: str) -> Any:
    """A CLI value: JSON if it parses as JSON (numbers, true, lists…), else the plain string."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def set_setting(conn: sqlite3.Connection, key: str, value: Any, *, kiosk_id: int = GLOBAL) -> int:
    """Set (or with value None, remove) a setting; return the new revision."""
    now = datetime.now(UTC).isoformat(timespec="milliseconds")
    conn.execute("BEGIN IMMEDIATE")
    try:
        if value is None:
            conn.execute("DELETE FROM settings WHERE kiosk = ? AND key = ?", [kiosk_id, key])
        else:
            conn.execute(
                "INSERT INTO settings (kiosk, key, value, updated_at) VALUES (?,?,?,?)"
                " ON CONFLICT (kiosk, key) DO UPDATE SET value = excluded.value,"
                " updated_at = excluded.updated_at",
                [kiosk_id, key, json.dumps(value, ensure_ascii=False), now],
            )
        conn.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'settings_revision'")
        rev = revision(conn)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return rev


def all_settings(conn: sqlite3.Connection) -> list[tuple[str, str, Any]]:
    """(kiosk name or '*', key, value) for every stored setting."""
    rows = conn.execute(
        "SELECT coalesce(k.name, '*'), s.key, s.value FROM settings s"
        " LEFT JOIN kiosks k ON k.id = s.kiosk ORDER BY s.kiosk != 0, k.name, s.key"
    ).fetchall()
    return [(n, key, json.loads(v)) for n, key, v in rows]
