"""The collector's one SQLite file: schema, migrations, connections.

Every connection runs in WAL mode with ``synchronous=FULL``: an ack tells a
kiosk it may stop resending, so an acknowledged batch must survive a power cut.
SQLite has a single writer; the API keeps one writer connection behind a lock
(see ingest.Ingestor) and gives readers their own connections, which WAL lets
run beside the writer. ``busy_timeout`` covers the CLI writing at the same time.
"""

from __future__ import annotations

import os
import sqlite3
import uuid
from pathlib import Path

import platformdirs
import sqlite_utils
from sqlite_utils.migrations import Migrations

from server_sync.collector import admin_tables, rollup, targets
from server_sync.collector.courtesy import tables as courtesy_tables
from server_sync.collector.evaluation import items as eval_items
from server_sync.collector.evaluation import submission as eval_submission
from server_sync.collector.tamper import tables as tamper_tables
from server_sync.durable import make_dirs

APP_NAME = "counter-kiosk-collector"
SYSTEM_DIR = Path("/var/lib") / APP_NAME
DB_NAME = "collector.db"
BUSY_TIMEOUT_MS = 30_000

migrations = Migrations("collector")


@migrations()
def m001_initial(db):
    db.execute("""
        CREATE TABLE kiosks (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            token_hash TEXT NOT NULL UNIQUE,   -- sha256 hex of the bearer token (see auth.py)
            levels INTEGER NOT NULL DEFAULT 5, -- rating buttons on this kiosk (3-5), for the Happy Index
            created_at TEXT NOT NULL,
            revoked_at TEXT,
            last_seen TEXT,                    -- server time of the last accepted batch
            last_store_id TEXT,
            software_version TEXT,
            backlog INTEGER,                   -- events the kiosk said were still pending
            clock_offset REAL                  -- seconds, server clock minus kiosk wall clock
        )
    """)
    # One row per (kiosk, store_id): the contiguous watermark, updated incrementally.
    db.execute("""
        CREATE TABLE streams (
            kiosk INTEGER NOT NULL REFERENCES kiosks(id),
            store_id TEXT NOT NULL,
            acked_seq INTEGER NOT NULL DEFAULT 0,
            max_seq INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (kiosk, store_id)
        ) WITHOUT ROWID
    """)
    # Clock anchors: the server time at which each boot's monotonic clock read 0.
    db.execute("""
        CREATE TABLE boots (
            kiosk INTEGER NOT NULL REFERENCES kiosks(id),
            boot_id TEXT NOT NULL,
            boot_epoch REAL NOT NULL,          -- unix seconds (server clock) at monotonic 0
            anchored_at TEXT NOT NULL,
            PRIMARY KEY (kiosk, boot_id)
        ) WITHOUT ROWID
    """)
    db.execute("""
        CREATE TABLE events (
            pk INTEGER PRIMARY KEY,
            kiosk INTEGER NOT NULL REFERENCES kiosks(id),
            store_id TEXT NOT NULL,
            id TEXT NOT NULL,
            seq INTEGER NOT NULL,
            type TEXT NOT NULL,
            kiosk_id TEXT NOT NULL,
            unit TEXT NOT NULL,
            window TEXT NOT NULL,
            level INTEGER,
            misuse INTEGER NOT NULL,
            ref TEXT,
            recorded_at TEXT NOT NULL,
            boot_id TEXT NOT NULL,
            monotonic REAL NOT NULL,
            detail TEXT,                       -- JSON: any extra fields the kiosk sent
            corrected_at REAL NOT NULL,        -- unix seconds; docs/protocol-v1.md "Clock correction"
            time_suspect INTEGER NOT NULL,
            received_at TEXT NOT NULL,
            UNIQUE (kiosk, id)                 -- exactly once per (kiosk, event id)
        )
    """)
    db.execute("CREATE INDEX events_stream_seq ON events(kiosk, store_id, seq)")
    # Counts of rating presses per period, in the office's local time (Asia/Taipei),
    # kept in step with the events in the same transaction (ingest.py). The report
    # reads only these. Days and months are sums of hours, kept ready so that a
    # report over a year reads a few thousand rows, not a few hundred thousand.
    for table, period, doc in (
        ("rollups", "hour", "'YYYY-MM-DD HH'"),
        ("rollups_day", "day", "'YYYY-MM-DD'"),
        ("rollups_month", "month", "'YYYY-MM'"),
    ):
        db.execute(f"""
            CREATE TABLE {table} (
                {period} TEXT NOT NULL,            -- {doc}, Asia/Taipei
                kiosk INTEGER NOT NULL,
                unit TEXT NOT NULL,
                window TEXT NOT NULL,
                level INTEGER NOT NULL,
                misuse INTEGER NOT NULL,
                n INTEGER NOT NULL,
                PRIMARY KEY ({period}, kiosk, unit, window, level, misuse)
            ) WITHOUT ROWID
        """)
    # kiosk = 0: for every kiosk; a kiosk's own row overrides it.
    db.execute("""
        CREATE TABLE settings (
            kiosk INTEGER NOT NULL,
            key TEXT NOT NULL,
            value TEXT NOT NULL,               -- JSON
            updated_at TEXT NOT NULL,
            PRIMARY KEY (kiosk, key)
        ) WITHOUT ROWID
    """)
    db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")
    db.execute("INSERT INTO meta VALUES ('settings_revision', '0')")


@migrations()
def m201_admin_tokens(db):
    # Administrators' API tokens (admin_tokens.py); never a kiosk's.
    db.execute("""
        CREATE TABLE IF NOT EXISTS admin_tokens (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            token_hash TEXT NOT NULL UNIQUE,   -- sha256 hex, as for kiosks
            created_at TEXT NOT NULL,
            revoked_at TEXT
        )
    """)


@migrations()
def m201_services(db):
    # Every version of the service directory is kept (services.py); the newest is served.
    db.execute("""
        CREATE TABLE services_revisions (
            revision INTEGER PRIMARY KEY,      -- the ETag kiosks send back
            directory TEXT NOT NULL,           -- JSON {"services": [...]}, validated
            source TEXT NOT NULL,              -- "import FILE" or "api NAME"
            created_at TEXT NOT NULL
        )
    """)


@migrations()
def m301_admin(db):
    # Admin web: accounts, audit log, alerts, dashboard rollups (admin_tables.py).
    admin_tables.create(db)


@migrations()
def m101_cases(db):
    # Case-status lookup (cases/, docs/cases.md). Plain name and secret stay here;
    # kiosks get only name_masked and the salted scrypt hash.
    db.execute("""
        CREATE TABLE cases (
            case_no TEXT PRIMARY KEY,
            revision INTEGER NOT NULL UNIQUE,  -- of its latest change; kiosks pull changes after theirs
            removed INTEGER NOT NULL DEFAULT 0,
            published INTEGER NOT NULL,        -- 1 while kiosks show it (not removed, not closed too long)
            case_type TEXT NOT NULL, case_type_en TEXT NOT NULL DEFAULT '',
            applicant_name TEXT NOT NULL, name_masked TEXT NOT NULL,
            verify_code TEXT NOT NULL,
            kdf TEXT, salt BLOB, hash BLOB,    -- kdf 'scrypt:N:r:p': the costs travel with the hash
            stages TEXT NOT NULL,              -- JSON [{"stage", "stage_en", "date"}], oldest first
            unit TEXT NOT NULL, unit_en TEXT NOT NULL DEFAULT '', extension TEXT NOT NULL DEFAULT '',
            due_date TEXT, closed_date TEXT,   -- YYYY-MM-DD, Asia/Taipei
            content_hash TEXT NOT NULL,        -- sha256 of every field: re-importing the same row is a no-op
            updated_at TEXT NOT NULL,
            source TEXT NOT NULL               -- 'csv' or 'api:NAME'
        ) WITHOUT ROWID
    """)
    db.execute("CREATE INDEX cases_closing ON cases(published, closed_date)")
    db.execute("INSERT INTO meta VALUES ('cases_revision', '0')")
    db.execute("INSERT INTO meta VALUES ('cases_dataset', ?)", [str(uuid.uuid4())])


@migrations()
def m401_case_privacy(db):
    # Personal data kept only as long as needed (cases/retention.py, docs/cases.md): no plain
    # verification codes (the salted hash is enough; cases.keep_plain_codes is off by default),
    # removed cases keep no dates, and case_lookup events lose the case number that linked them
    # to a name. Rows are rewritten with secure_delete on (connect), so the old bytes are zeroed.
    db.execute("UPDATE cases SET verify_code = '' WHERE verify_code != ''")
    db.execute("UPDATE cases SET extension = '', due_date = NULL, closed_date = NULL WHERE removed = 1")
    db.execute(
        "UPDATE events SET detail = json_remove(detail, '$.case_no') WHERE type = 'case_lookup'"
        " AND json_valid(detail) AND json_type(detail, '$.case_no') IS NOT NULL"
    )


@migrations()
def m402_kiosk_place(db):
    # Who a kiosk is (auth.py, docs/collector.md): the unit and window it serves are the
    # collector's, not the events'. A kiosk that already synced keeps the place its most recent
    # event named; one that never did adopts its first batch's once (ingest.py).
    db.execute("ALTER TABLE kiosks ADD COLUMN unit TEXT NOT NULL DEFAULT ''")
    db.execute("ALTER TABLE kiosks ADD COLUMN window TEXT NOT NULL DEFAULT ''")
    db.execute("""UPDATE kiosks SET (unit, window) = (
                    SELECT substr(trim(e.unit), 1, 64), substr(trim(e.window), 1, 64) FROM events e
                    WHERE e.pk = (SELECT max(pk) FROM events WHERE kiosk = kiosks.id AND unit != ''))
                  WHERE EXISTS (SELECT 1 FROM events WHERE kiosk = kiosks.id AND unit != '')""")
    # Events refused (429) or dropped for volume (volume.py), shown on the fleet page.
    db.execute("ALTER TABLE kiosks ADD COLUMN refused INTEGER NOT NULL DEFAULT 0")
    db.execute("ALTER TABLE kiosks ADD COLUMN dropped INTEGER NOT NULL DEFAULT 0")
    db.execute("ALTER TABLE kiosks ADD COLUMN refused_at TEXT")
    # Events stored per kiosk and hour of event time (corrected_at // 3600): the per-hour bound.
    db.execute("""CREATE TABLE kiosk_hours (
                    kiosk INTEGER NOT NULL, hour INTEGER NOT NULL, n INTEGER NOT NULL,
                    PRIMARY KEY (kiosk, hour)) WITHOUT ROWID""")
    # Numbers are checked at ingest now; queue rollups an infinity got into are built again.
    admin_tables.rebuild_non_finite(db)


@migrations()
def m403_admin_logins(db):
    # How many wrong passwords may be tried (admin/login_limits.py, docs/admin.md "Logging in"):
    # per source address, and per browser an account has logged in from before ("device").
    db.execute("""CREATE TABLE admin_login_sources (
                    address TEXT PRIMARY KEY,
                    failures INTEGER NOT NULL,         -- wrong logins since `since`
                    since REAL NOT NULL,               -- unix seconds: the window's start
                    blocked_until REAL) WITHOUT ROWID""")
    db.execute("""CREATE TABLE admin_devices (
                    token_hash TEXT PRIMARY KEY,       -- sha256 of the kc_device cookie
                    user_id INTEGER NOT NULL REFERENCES admin_users(id),
                    created_at REAL NOT NULL,
                    last_login REAL NOT NULL,
                    failed_logins INTEGER NOT NULL DEFAULT 0,
                    locked_until REAL) WITHOUT ROWID""")
    # The login form's CSRF field is an HMAC of its cookie under this secret (admin/accounts.py).
    db.execute("INSERT OR IGNORE INTO admin_meta VALUES ('login_secret', ?)", [os.urandom(32).hex()])
    # A lock set by the old rule (re-extended by every wrong try) ends now; counting starts again.
    db.execute("UPDATE admin_users SET failed_logins = 0, locked_until = NULL")


@migrations()
def m501_courtesy(db):
    # Telephone-courtesy tests and the tester role (courtesy/tables.py, docs/admin.md).
    courtesy_tables.create(db)


@migrations()
def m502_annual_targets(db):
    # Each year's quantitative targets, office-wide and per unit (targets.py, docs/admin.md).
    targets.create_tables(db)


@migrations()
def m503_self_evaluation(db):
    # The self-evaluation item by item: the year's items, each unit's narratives, submission and
    # attachments (evaluation/, docs/admin.md).
    eval_items.create_tables(db)
    eval_submission.create_tables(db)


@migrations()
def m504_tamper(db):
    # Tamper and health alert rules (tamper/, docs/admin.md "Tamper and health alerts").
    tamper_tables.create(db)


@migrations()
def m510_unit_rollups(db):
    # Rollups per unit beside the per-window ones (rollup.py): the report and the dashboard read
    # rows per unit unless they look at windows, so 500 windows cost what 20 did. Backfilled as
    # sums of the per-window rows; ingest keeps both in the same transaction from here on.
    rollup.create_unit_tables(db.conn)
    rollup.derive_unit_rollups(db.conn)


def default_db_path() -> Path:
    """/var/lib/counter-kiosk-collector/collector.db for root or when that folder exists,
    else the per-user data folder. KIOSK_COLLECTOR_DB overrides both."""
    env = os.environ.get("KIOSK_COLLECTOR_DB")
    if env:
        return Path(env)
    if SYSTEM_DIR.is_dir() or (hasattr(os, "geteuid") and os.geteuid() == 0):
        return SYSTEM_DIR / DB_NAME
    return Path(platformdirs.user_data_dir(APP_NAME)) / DB_NAME


def connect(path: str | Path, *, readonly: bool = False) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit), WAL, synchronous=FULL."""
    conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000)
    conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    if not readonly:
        conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA cache_size=-65536")  # 64 MB
    conn.execute("PRAGMA secure_delete=ON")  # freed bytes zeroed: removed personal data leaves the file
    return conn


def open_db(path: str | Path) -> sqlite3.Connection:
    """Create the folder and file if needed, apply pending migrations, return a connection."""
    path = Path(path)
    make_dirs(path.parent)  # fsynced into its parent: a power cut must not take the folder
    conn = connect(path)
    # Migrations run in one writer at a time; BEGIN IMMEDIATE keeps two starting
    # processes from applying the same step twice.
    db = sqlite_utils.Database(conn)
    conn.execute("BEGIN IMMEDIATE")
    try:
        migrations.apply(db)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return conn
