"""Schema changes to the kiosk's SQLite file, applied in order at start-up.

Never edit a migration that has shipped: add a new one. Tests open a database
at every earlier step and check that upgrading keeps every event.
"""

from sqlite_utils.migrations import Migrations

migrations = Migrations("kiosk")


@migrations()
def m001_events(db):
    db.execute("""
        CREATE TABLE events (
            seq INTEGER PRIMARY KEY,          -- per-kiosk sequence number, gapless
            id TEXT NOT NULL UNIQUE,          -- UUID, the collector dedupes on it
            type TEXT NOT NULL,               -- rating, reason, store_recovered, ...
            kiosk_id TEXT NOT NULL,
            unit TEXT NOT NULL DEFAULT '',
            window TEXT NOT NULL DEFAULT '',
            level INTEGER,                    -- 1 = leftmost, most satisfied
            misuse INTEGER NOT NULL DEFAULT 0,
            ref TEXT,                         -- id of the event this one belongs to
            recorded_at TEXT NOT NULL,        -- wall clock, ISO 8601 with offset
            boot_id TEXT NOT NULL,
            monotonic REAL NOT NULL,          -- seconds since boot
            detail TEXT                       -- JSON for type-specific fields
        )
    """)
    db.execute("CREATE INDEX events_type ON events(type)")
    # Append-only, enforced by the database itself.
    db.execute("""CREATE TRIGGER events_no_update BEFORE UPDATE ON events
                  BEGIN SELECT RAISE(ABORT, 'events are append-only'); END""")
    db.execute("""CREATE TRIGGER events_no_delete BEFORE DELETE ON events
                  BEGIN SELECT RAISE(ABORT, 'events are append-only'); END""")
    db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")
