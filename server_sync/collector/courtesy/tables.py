"""The m501 migration: telephone-courtesy tables and the ``tester`` role (registered in db.py)."""

from __future__ import annotations

# admin_users as m301 made it, with 'tester' allowed (SQLite cannot change a CHECK in place).
_USERS = """CREATE TABLE admin_users (
            id INTEGER PRIMARY KEY,
            username TEXT NOT NULL UNIQUE,
            password_hash TEXT NOT NULL,           -- argon2id (argon2-cffi), salt and parameters inside
            role TEXT NOT NULL CHECK (role IN ('viewer', 'manager', 'tester')),
            created_at TEXT NOT NULL,
            disabled_at TEXT,
            failed_logins INTEGER NOT NULL DEFAULT 0,
            locked_until REAL                      -- unix seconds; too many wrong passwords
        )"""


def create(db) -> None:
    ex = db.execute
    ex("""CREATE TABLE courtesy_sheets (
            id INTEGER PRIMARY KEY,
            sheet TEXT NOT NULL,                   -- JSON, courtesy/sheet.py validate()
            created_at TEXT NOT NULL,
            created_by TEXT NOT NULL
        )""")
    ex("""CREATE TABLE courtesy_tests (
            id INTEGER PRIMARY KEY,
            sheet_id INTEGER REFERENCES courtesy_sheets(id),  -- NULL: the bundled default sheet
            unit TEXT NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN ('switchboard', 'unit')),
            called_at TEXT NOT NULL,               -- 'YYYY-MM-DDTHH:MM', Asia/Taipei
            called_on TEXT NOT NULL,               -- 'YYYY-MM-DD', Asia/Taipei
            rings INTEGER,
            seconds REAL,                          -- seconds until answered
            marks TEXT NOT NULL,                   -- JSON {item id: yes|half|no|na}
            earned REAL NOT NULL, possible REAL NOT NULL,
            score REAL NOT NULL,                   -- 0-100
            notes TEXT NOT NULL DEFAULT '',
            tester TEXT NOT NULL,
            created_at TEXT NOT NULL,
            voided_at TEXT, voided_by TEXT
        )""")
    ex("CREATE INDEX courtesy_tests_on ON courtesy_tests(called_on, unit)")
    ex("CREATE INDEX courtesy_tests_tester ON courtesy_tests(tester, called_on)")
    _allow_tester(db)


def _allow_tester(db) -> None:
    # Sessions and devices refer to admin_users: with the checks deferred, dropping the table
    # leaves them dangling only until the same rows are back under the same name and ids.
    ex = db.execute
    ex("PRAGMA defer_foreign_keys = ON")
    ex("CREATE TABLE admin_users_m501 AS SELECT * FROM admin_users")
    ex("DROP TABLE admin_users")
    ex(_USERS)
    ex(
        "INSERT INTO admin_users (id, username, password_hash, role, created_at, disabled_at, failed_logins,"
        " locked_until) SELECT id, username, password_hash, role, created_at, disabled_at, failed_logins,"
        " locked_until FROM admin_users_m501"
    )
    ex("DROP TABLE admin_users_m501")
