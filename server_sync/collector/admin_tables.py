"""The m301_admin migration: accounts, audit log, alerts, admin settings and the dashboard's rollups.

The core's, not the pages': the alert worker and the command line use these tables too.

Registered in db.py (``m301_admin``); touches only its own tables. The rollups
start empty on a database that already holds events; ``rebuild_rollups`` (run
by the migration itself) fills them from the stored events once.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from server_sync.collector.rollup import QUEUE_TABLES, rebuild

SAT_COLS = (
    "l1 INTEGER NOT NULL DEFAULT 0, l2 INTEGER NOT NULL DEFAULT 0, l3 INTEGER NOT NULL DEFAULT 0,"
    " l4 INTEGER NOT NULL DEFAULT 0, l5 INTEGER NOT NULL DEFAULT 0, misuse INTEGER NOT NULL DEFAULT 0,"
    " happy_sum REAL NOT NULL DEFAULT 0, happy_sq REAL NOT NULL DEFAULT 0,"
    " unhappy INTEGER NOT NULL DEFAULT 0"
)

DEFAULT_RULES = [
    # (kind, name, params)
    ("level", "非常不滿意即時通報 Any 'very dissatisfied' rating", {"level": 0}),
    (
        "window_unhappy",
        "15 分鐘內半數以上不滿意 >=50% unhappy within 15 min (n>=4)",
        {"minutes": 15, "share": 0.5, "min_n": 4},
    ),
    ("silent", "機台超過 24 小時未連線 Kiosk silent for more than 24 h", {"hours": 24}),
]


def create(db) -> None:
    ex = db.execute
    ex("""CREATE TABLE admin_users (
            id INTEGER PRIMARY KEY,
            username TEXT NOT NULL UNIQUE,
            password_hash TEXT NOT NULL,           -- argon2id (argon2-cffi), salt and parameters inside
            role TEXT NOT NULL CHECK (role IN ('viewer', 'manager')),
            created_at TEXT NOT NULL,
            disabled_at TEXT,
            failed_logins INTEGER NOT NULL DEFAULT 0,
            locked_until REAL                      -- unix seconds; too many wrong passwords
        )""")
    ex("""CREATE TABLE admin_sessions (
            token_hash TEXT PRIMARY KEY,           -- sha256 of the cookie value
            user_id INTEGER NOT NULL REFERENCES admin_users(id),
            csrf TEXT NOT NULL,
            created_at REAL NOT NULL,
            expires_at REAL NOT NULL
        ) WITHOUT ROWID""")
    ex("""CREATE TABLE admin_audit (
            id INTEGER PRIMARY KEY,
            at TEXT NOT NULL,
            username TEXT NOT NULL,
            action TEXT NOT NULL,
            target TEXT NOT NULL DEFAULT '',
            detail TEXT                            -- JSON
        )""")
    ex("CREATE TABLE admin_settings (key TEXT PRIMARY KEY, value TEXT NOT NULL, updated_at TEXT NOT NULL)")
    ex("CREATE TABLE admin_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    ex("""CREATE TABLE alert_rules (
            id INTEGER PRIMARY KEY,
            kind TEXT NOT NULL CHECK (kind IN ('level', 'window_unhappy', 'silent')),
            name TEXT NOT NULL,
            params TEXT NOT NULL,                  -- JSON, see alerts.py
            unit TEXT NOT NULL DEFAULT '',         -- '' = every unit
            channels TEXT NOT NULL DEFAULT 'webhook,email',
            enabled INTEGER NOT NULL DEFAULT 1,
            created_at TEXT NOT NULL
        )""")
    ex("""CREATE TABLE alerts (
            id INTEGER PRIMARY KEY,
            rule_id INTEGER,
            kind TEXT NOT NULL,
            dedupe TEXT NOT NULL UNIQUE,           -- one alert per rule and cause
            raised_at TEXT NOT NULL,
            event_time TEXT,                       -- when it happened (office time), if an event caused it
            unit TEXT NOT NULL DEFAULT '',
            window TEXT NOT NULL DEFAULT '',
            kiosk TEXT NOT NULL DEFAULT '',
            summary TEXT NOT NULL,
            detail TEXT,                           -- JSON
            ack_at TEXT,
            ack_by TEXT,
            ack_note TEXT
        )""")
    ex("CREATE INDEX alerts_open ON alerts(ack_at, id)")
    ex("""CREATE TABLE alert_deliveries (
            id INTEGER PRIMARY KEY,
            alert_id INTEGER NOT NULL REFERENCES alerts(id),
            channel TEXT NOT NULL,                 -- webhook | email
            target TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'pending',-- pending | sent | failed
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt REAL NOT NULL,            -- unix seconds
            last_error TEXT,
            sent_at TEXT
        )""")
    ex("CREATE INDEX alert_deliveries_due ON alert_deliveries(status, next_attempt)")
    # Counted ratings per minute and window, for the "unhappy within N minutes" rule.
    ex("""CREATE TABLE alert_minutes (
            minute INTEGER NOT NULL, unit TEXT NOT NULL, window TEXT NOT NULL,
            n INTEGER NOT NULL, unhappy INTEGER NOT NULL,
            PRIMARY KEY (minute, unit, window)) WITHOUT ROWID""")
    # Dashboard rollups, in office time (Asia/Taipei), kept in the ingest transaction (collector/rollup.py).
    ex(f"""CREATE TABLE admin_sat_hour (
            day TEXT NOT NULL, hod INTEGER NOT NULL, unit TEXT NOT NULL, window TEXT NOT NULL,
            service TEXT NOT NULL, {SAT_COLS},
            PRIMARY KEY (day, hod, unit, window, service)) WITHOUT ROWID""")
    ex(f"""CREATE TABLE admin_sat_month (
            month TEXT NOT NULL, dow INTEGER NOT NULL, hod INTEGER NOT NULL, unit TEXT NOT NULL,
            window TEXT NOT NULL, service TEXT NOT NULL, {SAT_COLS},
            PRIMARY KEY (month, dow, hod, unit, window, service)) WITHOUT ROWID""")
    # The same without the hour of day: what totals, trends and rankings read (a year of a
    # 20-window office is ~240 rows here against ~10,000 above).
    ex(f"""CREATE TABLE admin_sat_day (
            day TEXT NOT NULL, unit TEXT NOT NULL, window TEXT NOT NULL, service TEXT NOT NULL, {SAT_COLS},
            PRIMARY KEY (day, unit, window, service)) WITHOUT ROWID""")
    ex(f"""CREATE TABLE admin_sat_mon (
            month TEXT NOT NULL, unit TEXT NOT NULL, window TEXT NOT NULL, service TEXT NOT NULL, {SAT_COLS},
            PRIMARY KEY (month, unit, window, service)) WITHOUT ROWID""")
    ex("""CREATE TABLE admin_reason_day (
            day TEXT NOT NULL, unit TEXT NOT NULL, window TEXT NOT NULL, service TEXT NOT NULL,
            reason TEXT NOT NULL, n INTEGER NOT NULL,
            PRIMARY KEY (day, unit, window, service, reason)) WITHOUT ROWID""")
    ex("""CREATE TABLE admin_queue_hour (
            day TEXT NOT NULL, hod INTEGER NOT NULL, unit TEXT NOT NULL, window TEXT NOT NULL,
            service TEXT NOT NULL,
            issued INTEGER NOT NULL DEFAULT 0, called INTEGER NOT NULL DEFAULT 0,
            no_show INTEGER NOT NULL DEFAULT 0,
            wait_n INTEGER NOT NULL DEFAULT 0, wait_sum REAL NOT NULL DEFAULT 0,
            service_n INTEGER NOT NULL DEFAULT 0, service_sum REAL NOT NULL DEFAULT 0,
            est_n INTEGER NOT NULL DEFAULT 0, est_err_sum REAL NOT NULL DEFAULT 0,
            band_n INTEGER NOT NULL DEFAULT 0, in_band INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (day, hod, unit, window, service)) WITHOUT ROWID""")
    ex("""CREATE TABLE admin_queue_hist (
            day TEXT NOT NULL, unit TEXT NOT NULL, window TEXT NOT NULL, service TEXT NOT NULL,
            metric TEXT NOT NULL, minute INTEGER NOT NULL, n INTEGER NOT NULL,
            PRIMARY KEY (day, unit, window, service, metric, minute)) WITHOUT ROWID""")
    ex("""CREATE TABLE admin_case_day (
            day TEXT NOT NULL, unit TEXT NOT NULL, window TEXT NOT NULL, result TEXT NOT NULL,
            n INTEGER NOT NULL,
            PRIMARY KEY (day, unit, window, result)) WITHOUT ROWID""")
    now = datetime.now(UTC).isoformat(timespec="seconds")
    for kind, name, params in DEFAULT_RULES:
        ex(
            "INSERT INTO alert_rules (kind, name, params, created_at) VALUES (?,?,?,?)",
            [kind, name, json.dumps(params), now],
        )
    # Alerts start from the events that arrive after this migration: history is not re-alerted.
    ex("INSERT INTO admin_meta VALUES ('alerts_pk', (SELECT coalesce(max(pk), 0) FROM events))")
    rebuild(db.conn)


def rebuild_non_finite(db) -> bool:
    """Rebuild the queue rollups if a sum in them is an infinity (an estimate band such as "lt1e308"
    was accepted before ingest checked numbers); the strict parser then leaves that event out.
    Whether it had to (the m402 migration)."""
    bad = db.conn.execute(
        "SELECT 1 FROM admin_queue_hour WHERE abs(wait_sum) > 1e300"
        " OR abs(service_sum) > 1e300 OR abs(est_err_sum) > 1e300 LIMIT 1"
    ).fetchone()
    if bad:
        rebuild(db.conn, tuple(QUEUE_TABLES))
    return bad is not None
