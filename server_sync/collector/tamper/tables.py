"""The m504 migration: alert rules may be of the tamper kinds, and the default tamper rules."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from server_sync.collector.tamper.rules import DEFAULT_RULES

KINDS_SQL = "'level', 'window_unhappy', 'silent', 'tamper_quiet', 'tamper_shift', 'stuck_button', 'office_silent'"


def create(db) -> None:
    ex = db.execute
    # SQLite cannot widen a CHECK in place; no table refers to alert_rules, so a copy is enough.
    ex(f"""CREATE TABLE alert_rules_m504 (
            id INTEGER PRIMARY KEY,
            kind TEXT NOT NULL CHECK (kind IN ({KINDS_SQL})),
            name TEXT NOT NULL,
            params TEXT NOT NULL,                  -- JSON, see alerts.py and tamper/rules.py
            unit TEXT NOT NULL DEFAULT '',         -- '' = every unit
            channels TEXT NOT NULL DEFAULT 'webhook,email',
            enabled INTEGER NOT NULL DEFAULT 1,
            created_at TEXT NOT NULL
        )""")
    ex(
        "INSERT INTO alert_rules_m504 SELECT id, kind, name, params, unit, channels, enabled, created_at FROM alert_rules"
    )
    ex("DROP TABLE alert_rules")
    ex("ALTER TABLE alert_rules_m504 RENAME TO alert_rules")
    now = datetime.now(UTC).isoformat(timespec="seconds")
    for kind, name, params, enabled in DEFAULT_RULES:
        ex(
            "INSERT INTO alert_rules (kind, name, params, enabled, created_at) VALUES (?,?,?,?,?)",
            [kind, name, json.dumps(params), int(enabled), now],
        )
    # Stuck-button events are read from here on, as the rating rules read from their watermark.
    ex("INSERT OR IGNORE INTO admin_meta VALUES ('tamper_pk', (SELECT coalesce(max(pk), 0) FROM events))")
