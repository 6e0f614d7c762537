"""How long the collector keeps a case's personal data, and making what it drops unreadable.

- A closed case is purged ``cases.purge_closed_days`` (default 365) days after its
  ``closed_date``: like a removed case it keeps only its number and revision (kiosks still
  learn of the removal), never its name, stages or code hash.
- The plain verification code is kept only when ``cases.keep_plain_codes`` is on
  (default off): the salted scrypt hash is enough to check it and to tell a re-imported
  code from a new one.
- Dropped data must not stay readable in the file: connections writing cases run with
  ``secure_delete`` (freed bytes are zeroed), and after a purge or removal the WAL is
  checkpointed and truncated, so old page images leave ``collector.db-wal`` too. A
  checkpoint that readers hold up is tried again on the next refresh.
"""

from __future__ import annotations

import sqlite3
from datetime import date, timedelta

from server_sync.collector import options

PURGE_SETTING = "cases.purge_closed_days"
PLAIN_SETTING = "cases.keep_plain_codes"
DEFAULT_PURGE_DAYS = options.BY_KEY[PURGE_SETTING].default  # 365
WIPE_WAIT_MS = 5_000  # a checkpoint waits this long for readers, not the connection's 30 s
_PENDING = "cases_wipe_pending"

# What a removed or purged case keeps: its number and the revision of its removal.
TOMBSTONE = (
    "UPDATE cases SET removed=1, published=0, revision=?, applicant_name='', name_masked='',"
    " verify_code='', salt=NULL, hash=NULL, stages='[]', extension='', due_date=NULL, closed_date=NULL,"
    " content_hash='', updated_at=?, source=? WHERE case_no=? AND removed=0"
)


def purge_days(conn: sqlite3.Connection) -> int:
    return options.get(conn, PURGE_SETTING)


def keep_plain_codes(conn: sqlite3.Connection) -> bool:
    return bool(options.get(conn, PLAIN_SETTING))


def purge_cutoff(today: date, days: int) -> str:
    """Cases closed before this day are purged."""
    return (today - timedelta(days=days)).isoformat()


def secure(conn: sqlite3.Connection) -> None:
    """Zero freed bytes from now on for this connection (it stays so)."""
    conn.execute("PRAGMA secure_delete = ON")


def purge_due(conn: sqlite3.Connection, cutoff: str) -> bool:
    # published IN (0, 1): the (published, closed_date) index answers it; tombstones have no closed_date.
    return (
        conn.execute(
            "SELECT 1 FROM cases WHERE published IN (0, 1) AND closed_date < ? AND removed = 0 LIMIT 1", [cutoff]
        ).fetchone()
        is not None
    )


def purge(conn: sqlite3.Connection, cutoff: str, rev: int, stamp: str) -> tuple[int, int]:
    """Inside a write transaction: purge cases closed before ``cutoff``; (how many, last revision)."""
    due = [
        r[0]
        for r in conn.execute(
            "SELECT case_no FROM cases WHERE published IN (0, 1) AND closed_date < ? AND removed = 0 ORDER BY case_no",
            [cutoff],
        )
    ]
    for case_no in due:
        rev += 1
        conn.execute(TOMBSTONE, [rev, stamp, "purge", case_no])
    return len(due), rev


def forget_plain_codes(conn: sqlite3.Connection) -> int:
    """Inside a write transaction, unless the setting keeps them: blank every stored plain code."""
    if keep_plain_codes(conn):
        return 0
    return conn.execute("UPDATE cases SET verify_code = '' WHERE verify_code != ''").rowcount


def wipe_pending(conn: sqlite3.Connection) -> bool:
    return conn.execute("SELECT 1 FROM meta WHERE key = ?", [_PENDING]).fetchone() is not None


def wipe(conn: sqlite3.Connection) -> bool:
    """Outside any transaction: copy the WAL into the file and truncate it to nothing.

    True when done; when readers held it up, a flag makes the next refresh try again."""
    timeout = conn.execute("PRAGMA busy_timeout").fetchone()[0]
    conn.execute(f"PRAGMA busy_timeout = {WIPE_WAIT_MS}")
    try:
        conn.execute("DELETE FROM meta WHERE key = ?", [_PENDING])
        busy = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
        if busy:
            conn.execute("INSERT OR REPLACE INTO meta VALUES (?, '1')", [_PENDING])
    finally:
        conn.execute(f"PRAGMA busy_timeout = {timeout}")
    return not busy
