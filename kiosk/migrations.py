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


@migrations()
def m002_sync_state(db):
    # One row per store_id: the sync client's watermark and what it last saw.
    # Times are the kiosk's wall clock, ISO 8601 UTC; errors are plain words.
    db.execute("""
        CREATE TABLE sync_state (
            store_id TEXT PRIMARY KEY,
            acked_seq INTEGER NOT NULL DEFAULT 0,  -- events with seq <= this are at the collector
            pending INTEGER NOT NULL DEFAULT 0,    -- events still to send, as of the last round
            pending_since TEXT,                    -- when a round first saw events waiting
            last_attempt_at TEXT,
            last_round_ok INTEGER,                 -- 1 if the latest round succeeded, 0 if it failed
            last_success_at TEXT,                  -- last validated ack (written with it) or clean round
            last_error_at TEXT,
            last_error_zh TEXT,
            last_error_en TEXT,
            last_error_detail TEXT,
            clock_offset REAL,                     -- seconds: collector time minus kiosk wall clock
            clock_offset_at TEXT,
            settings_etag TEXT,
            settings_revision INTEGER,
            settings_json TEXT,                    -- stored only; not applied to the UI yet
            settings_at TEXT,
            settings_error TEXT
        )
    """)


@migrations()
def m201_queue(db):
    # The service directory as last pulled from the collector (server_sync/client/services.py).
    # One row; tickets, calls and no-shows are events, so the queue needs no table of its own.
    db.execute("""
        CREATE TABLE service_directory (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            revision INTEGER NOT NULL,
            etag TEXT,
            directory TEXT NOT NULL,      -- JSON {"services": [...]}, validated before it is stored
            received_at TEXT NOT NULL,
            error TEXT                     -- why the last pulled copy was refused, if it was
        )
    """)


@migrations()
def m101_cases(db):
    # Case-status lookup (kiosk/lookup.py, server_sync/client/cases.py). Only what the
    # collector lets out: the masked name and a salted scrypt hash of the secret.
    db.execute("""
        CREATE TABLE cases (
            case_no TEXT PRIMARY KEY,
            revision INTEGER NOT NULL,
            case_type TEXT NOT NULL, case_type_en TEXT NOT NULL DEFAULT '',
            name TEXT NOT NULL,               -- masked at the collector (王○○)
            stages TEXT NOT NULL,             -- JSON [{"stage", "stage_en", "date"}], oldest first
            unit TEXT NOT NULL, unit_en TEXT NOT NULL DEFAULT '', extension TEXT NOT NULL DEFAULT '',
            due_date TEXT, closed_date TEXT,
            hide_after TEXT,                  -- YYYY-MM-DD: not shown after this day even offline
            verifier TEXT NOT NULL            -- scrypt:N:r:p:salt:hash (base64)
        ) WITHOUT ROWID
    """)
    db.execute("""
        CREATE TABLE case_sync (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            dataset TEXT NOT NULL,            -- the collector's case set; another one means start over
            revision INTEGER NOT NULL,        -- every change up to this one is here
            pulled_at TEXT,
            error TEXT
        )
    """)
    # Wrong codes per case number (known or not) and the kiosk's lookup allowance,
    # shared by the touchscreen and `kiosk lookup`. Wall-clock unix seconds.
    db.execute("""
        CREATE TABLE lookup_failures (
            case_no TEXT PRIMARY KEY,
            failures INTEGER NOT NULL,
            last_at REAL NOT NULL,
            locked_until REAL
        ) WITHOUT ROWID
    """)
    db.execute("""
        CREATE TABLE lookup_bucket (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            tokens REAL NOT NULL,
            at REAL NOT NULL
        )
    """)


@migrations()
def m202_staff_pin_lock(db):
    # The staff panel's wrong-PIN count and lock (kiosk/staffpin.py), so a restart
    # does not hand out fresh tries. One row; wall-clock unix seconds.
    db.execute("""
        CREATE TABLE staff_pin_lock (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            failures INTEGER NOT NULL,        -- wrong PINs in a row since the last right one
            locked_until REAL,                -- no PIN is checked before this time
            lock_seconds REAL NOT NULL        -- the lock's length: a longer wait means the clock went back
        )
    """)
