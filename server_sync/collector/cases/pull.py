"""The delta kiosks pull: case changes after a revision, as they may hold them (docs/protocol-v1.md)."""

from __future__ import annotations

import json
import sqlite3
from datetime import date, timedelta
from typing import Any

from server_sync.collector.cases.storing import keep_closed_days, revision
from server_sync.wire import cases as wire_cases

MAX_PAGE = 10_000
DEFAULT_PAGE = 2_000


def delta(conn: sqlite3.Connection, since: int, limit: int = DEFAULT_PAGE) -> dict[str, Any]:
    """Changes after revision ``since``, oldest first, read in one snapshot."""
    limit = max(1, min(limit, MAX_PAGE))
    conn.execute("BEGIN")
    try:
        dataset = conn.execute("SELECT value FROM meta WHERE key='cases_dataset'").fetchone()[0]
        current = revision(conn)
        keep = keep_closed_days(conn)
        # From nothing, removals are of no use: only cases shown on kiosks are sent.
        rows = conn.execute(
            "SELECT case_no, revision, published, case_type, case_type_en, name_masked, kdf, salt, hash, stages,"
            " unit, unit_en, extension, due_date, closed_date FROM cases"
            " WHERE revision > ? AND (published = 1 OR ? > 0) ORDER BY revision LIMIT ?",
            [since, since, limit + 1]).fetchall()
    finally:
        conn.execute("COMMIT")
    more = len(rows) > limit
    rows = rows[:limit]
    changes = []
    for (case_no, rev, published, ctype, ctype_en, name, kdf, salt, digest, stages, unit, unit_en, ext, due,
         closed) in rows:
        if not published:
            changes.append({"case_no": case_no, "revision": rev, "removed": True})
            continue
        hide_after = (date.fromisoformat(closed) + timedelta(days=keep)).isoformat() if closed else None
        changes.append({
            "case_no": case_no, "revision": rev, "removed": False, "case_type": ctype, "case_type_en": ctype_en,
            "name": name, "stages": json.loads(stages), "unit": unit, "unit_en": unit_en, "extension": ext,
            "due_date": due, "closed_date": closed, "hide_after": hide_after,
            "verifier": wire_cases.verifier(kdf, salt, digest),
        })
    upto = changes[-1]["revision"] if more else current
    return {"protocol": 1, "dataset": dataset, "revision": upto, "changes": changes, "more": more}
