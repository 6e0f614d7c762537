"""The delta kiosks pull: case changes after a revision, as they may hold them (docs/protocol-v1.md).

A kiosk gets only the cases of the units it serves (``served.py``). Its ``dataset`` names
the collector's case set *and* those units, so a kiosk whose units change sees another
dataset and starts over from nothing: no case of its old unit stays behind. From a
revision, a change to another unit's case is sent as a removal (the case may just have
moved away from this kiosk's unit); from nothing, only the cases it may show are sent.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

from server_sync.collector.cases.storing import keep_closed_days, revision
from server_sync.wire import cases as wire_cases

MAX_PAGE = 10_000
DEFAULT_PAGE = 2_000


def dataset_for(base: str, units: Sequence[str]) -> str:
    """The dataset a kiosk serving ``units`` holds: the case set's id and a digest of the units."""
    digest = hashlib.sha256(json.dumps(sorted(units), ensure_ascii=False).encode("utf-8")).hexdigest()[:16]
    return f"{base}.{digest}"


def delta(conn: sqlite3.Connection, since: int, limit: int = DEFAULT_PAGE, *, units: Sequence[str]) -> dict[str, Any]:
    """Changes after revision ``since`` for a kiosk serving ``units``, oldest first, in one snapshot."""
    limit = max(1, min(limit, MAX_PAGE))
    units = sorted(set(units))
    conn.execute("BEGIN")
    try:
        base = conn.execute("SELECT value FROM meta WHERE key='cases_dataset'").fetchone()[0]
        current = revision(conn)
        keep = keep_closed_days(conn)
        if since:
            # Every change, so that a case moved to another unit leaves this kiosk.
            rows = conn.execute(
                "SELECT case_no, revision, published AND unit IN (SELECT value FROM json_each(?)), case_type,"
                " case_type_en, name_masked, kdf, salt, hash, stages, unit, unit_en, extension, due_date,"
                " closed_date FROM cases WHERE revision > ? ORDER BY revision LIMIT ?",
                [json.dumps(units), since, limit + 1],
            ).fetchall()
        else:
            # From nothing, removals are of no use: only the cases this kiosk may show.
            rows = conn.execute(
                "SELECT case_no, revision, published, case_type, case_type_en, name_masked, kdf, salt, hash,"
                " stages, unit, unit_en, extension, due_date, closed_date FROM cases"
                " WHERE published = 1 AND unit IN (SELECT value FROM json_each(?)) ORDER BY revision LIMIT ?",
                [json.dumps(units), limit + 1],
            ).fetchall()
    finally:
        conn.execute("COMMIT")
    more = len(rows) > limit
    rows = rows[:limit]
    changes = []
    for case_no, rev, shown, ctype, ctype_en, name, kdf, salt, digest, stages, unit, unit_en, ext, due, closed in rows:
        if not shown:
            changes.append({"case_no": case_no, "revision": rev, "removed": True})
            continue
        hide_after = (date.fromisoformat(closed) + timedelta(days=keep)).isoformat() if closed else None
        changes.append(
            {
                "case_no": case_no,
                "revision": rev,
                "removed": False,
                "case_type": ctype,
                "case_type_en": ctype_en,
                "name": name,
                "stages": json.loads(stages),
                "unit": unit,
                "unit_en": unit_en,
                "extension": ext,
                "due_date": due,
                "closed_date": closed,
                "hide_after": hide_after,
                "verifier": wire_cases.verifier(kdf, salt, digest),
            }
        )
    upto = changes[-1]["revision"] if more else current
    return {"protocol": 1, "dataset": dataset_for(base, units), "revision": upto, "changes": changes, "more": more}
