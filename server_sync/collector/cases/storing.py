"""Storing cases: each change under the next revision, codes hashed, closed cases hidden, then purged."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from server_sync.collector.cases import retention
from server_sync.collector.cases.record import Case
from server_sync.collector.masking import mask_name
from server_sync.wire import cases as wire_cases
from server_sync.wire.tz import OFFICE_TZ

KEEP_CLOSED_DAYS = 30  # default of the collector setting cases.keep_closed_days
KEEP_SETTING = "cases.keep_closed_days"


@dataclass
class Applied:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    hidden: int = 0
    purged: int = 0  # closed longer than cases.purge_closed_days
    forgotten: int = 0  # plain codes blanked (cases.keep_plain_codes off)
    revision: int = 0

    def as_json(self) -> dict[str, int]:
        return dict(self.__dict__)


def today_in_office(now: float) -> date:
    return datetime.fromtimestamp(now, OFFICE_TZ).date()


def keep_closed_days(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT value FROM settings WHERE kiosk = 0 AND key = ?", [KEEP_SETTING]).fetchone()
    if row is None:
        return KEEP_CLOSED_DAYS
    try:
        value = json.loads(row[0])
    except ValueError:
        return KEEP_CLOSED_DAYS
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else KEEP_CLOSED_DAYS


def revision(conn: sqlite3.Connection) -> int:
    """The revision of the latest change to any case."""
    return int(conn.execute("SELECT value FROM meta WHERE key = 'cases_revision'").fetchone()[0])


def _visible(closed: str | None, cutoff: str) -> bool:
    return closed is None or closed >= cutoff


def apply_cases(
    conn: sqlite3.Connection,
    cases: Iterable[Case],
    *,
    remove: Iterable[str] = (),
    remove_missing: bool = False,
    now: float | None = None,
    source: str = "csv",
    progress: Callable[[int], None] = lambda n: None,
    workers: int | None = None,
    write_lock=None,
) -> Applied:
    """Store cases (added or replaced whole) and removals, each change under a new revision.

    Unchanged cases are left alone: importing the same file again changes nothing. Whether
    a code is unchanged is told by checking it against the stored hash (one scrypt check per
    case whose other fields are the same), since the plain code is not kept; new or changed
    codes are hashed. Both run before the write transaction, in threads (hashlib's scrypt
    releases the GIL). After any removal the WAL is wiped (retention.py).
    remove_missing: remove every stored case not among ``cases`` (a full export).
    write_lock: held while reading and writing ``conn`` (the API's writer), not while hashing.
    """
    write_lock = write_lock or contextlib.nullcontext()

    now = time.time() if now is None else now
    cases = list(cases)
    remove = {wire_cases.normalize_case_no(c) for c in remove}
    existing = {}
    want = [c.case_no for c in cases]  # expired ones too: purged, not counted as missing
    with write_lock:
        keep_plain = retention.keep_plain_codes(conn)
        purge_before = retention.purge_cutoff(today_in_office(now), retention.purge_days(conn))
        # Closed longer ago than the collector keeps anything: not stored (a stored copy is purged below).
        kept = [c for c in cases if not (c.closed_date and c.closed_date < purge_before)]
        progress(len(cases) - len(kept))
        cases = kept
        for i in range(0, len(want), 900):
            chunk = want[i : i + 900]
            for row in conn.execute(
                f"SELECT case_no, content_hash, verify_code, kdf, salt, hash, removed FROM cases"
                f" WHERE case_no IN ({','.join('?' * len(chunk))})",
                chunk,
            ):
                existing[row[0]] = row
    kdf = wire_cases.kdf_name()
    result = Applied()
    settled: dict[str, tuple[str, bytes, bytes] | None] = {}  # None: unchanged
    lock = threading.Lock()

    def settle(item: tuple[Case, str, tuple | None]) -> None:
        case, fp, old = item
        outcome = _settled(case, fp, old, kdf)
        with lock:
            settled[case.case_no] = outcome
        progress(1)

    items = [(case, case.fingerprint(), existing.get(case.case_no)) for case in cases]
    if items:
        with ThreadPoolExecutor(max_workers=workers or min(8, os.cpu_count() or 1)) as pool:
            list(pool.map(settle, items))
    todo = []
    for case, fp, old in items:
        hashed = settled[case.case_no]
        if hashed is None:
            result.unchanged += 1
        else:
            todo.append((case, fp, old, hashed))

    stamp = datetime.fromtimestamp(now, UTC).isoformat(timespec="seconds")
    with write_lock:
        applied = _write(conn, todo, remove, remove_missing, want, now, stamp, source, result, keep_plain)
        if applied.removed or applied.purged or applied.forgotten or retention.wipe_pending(conn):
            retention.wipe(conn)
        return applied


def _settled(case: Case, fp: str, old: tuple | None, kdf: str) -> tuple[str, bytes, bytes] | None:
    """The case's (kdf, salt, hash) to store, or None if it is unchanged. ``old``: its stored row."""
    if old is not None and not old[6] and old[4] is not None and old[3] == kdf:  # live, hashed alike
        if old[2]:  # the plain code is kept (cases.keep_plain_codes): compare it
            same_code = old[2] == case.verify_code
        elif old[1] == fp:  # only the code may differ: check it against its hash
            same_code = wire_cases.check(case.verify_code, wire_cases.verifier(old[3], old[4], old[5]))
        else:  # other fields changed, so the kiosks get a new record anyway: hash afresh
            same_code = False
        if same_code:
            return None if old[1] == fp else (old[3], old[4], old[5])
    salt = secrets.token_bytes(16)
    return (kdf, salt, wire_cases.hash_code(case.verify_code, salt))


def _write(conn, todo, remove, remove_missing, want, now, stamp, source, result, keep_plain) -> Applied:
    retention.secure(conn)
    conn.execute("BEGIN IMMEDIATE")
    try:
        keep = keep_closed_days(conn)
        cutoff = (today_in_office(now) - timedelta(days=keep)).isoformat()
        rev = revision(conn)
        rows = []
        for case, fp, old, (k, salt, digest) in todo:
            rev += 1
            data = case.content()
            published = 1 if _visible(case.closed_date, cutoff) else 0
            result.hidden += 1 - published
            if old is None or old[6]:
                result.added += 1
            else:
                result.updated += 1
            rows.append(
                [
                    case.case_no,
                    rev,
                    published,
                    case.case_type,
                    case.case_type_en,
                    case.applicant_name,
                    mask_name(case.applicant_name),
                    case.verify_code if keep_plain else "",
                    k,
                    salt,
                    digest,
                    json.dumps(data["stages"], ensure_ascii=False),
                    case.unit,
                    case.unit_en,
                    case.extension,
                    case.due_date,
                    case.closed_date,
                    fp,
                    stamp,
                    source,
                ]
            )
        conn.executemany(
            "INSERT INTO cases (case_no, revision, removed, published, case_type, case_type_en, applicant_name,"
            " name_masked, verify_code, kdf, salt, hash, stages, unit, unit_en, extension, due_date,"
            " closed_date, content_hash, updated_at, source) VALUES (?,?,0,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
            " ON CONFLICT (case_no) DO UPDATE SET revision=excluded.revision, removed=0,"
            " published=excluded.published, case_type=excluded.case_type, case_type_en=excluded.case_type_en,"
            " applicant_name=excluded.applicant_name, name_masked=excluded.name_masked,"
            " verify_code=excluded.verify_code, kdf=excluded.kdf, salt=excluded.salt, hash=excluded.hash,"
            " stages=excluded.stages, unit=excluded.unit, unit_en=excluded.unit_en,"
            " extension=excluded.extension, due_date=excluded.due_date, closed_date=excluded.closed_date,"
            " content_hash=excluded.content_hash, updated_at=excluded.updated_at, source=excluded.source",
            rows,
        )
        if remove_missing:
            keep_set = set(want)
            remove |= {
                r[0] for r in conn.execute("SELECT case_no FROM cases WHERE removed = 0") if r[0] not in keep_set
            }
        for case_no in sorted(remove):
            rev += 1
            # A removed case keeps only its number and revision: no personal data stays behind.
            if conn.execute(retention.TOMBSTONE, [rev, stamp, source, case_no]).rowcount:
                result.removed += 1
            else:
                rev -= 1
        conn.execute("UPDATE meta SET value=? WHERE key='cases_revision'", [str(rev)])
        result.forgotten = retention.forget_plain_codes(conn)
        result.purged = _refresh(conn, now, keep)[1]
        result.revision = revision(conn)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return result


def _refresh(conn: sqlite3.Connection, now: float, keep: int) -> tuple[int, int]:
    """Inside a write transaction: purge closed cases whose time is over, hide closed cases
    whose days are over (and, if the setting changed, show again those it now keeps and resend
    the rest with their new hide-after date). Returns (changes, of which purged)."""
    today = today_in_office(now)
    cutoff = (today - timedelta(days=keep)).isoformat()
    stamp = datetime.fromtimestamp(now, UTC).isoformat(timespec="seconds")
    purged, rev = retention.purge(
        conn, retention.purge_cutoff(today, retention.purge_days(conn)), revision(conn), stamp
    )
    changes: list[tuple[int, int, str]] = []
    expired = [
        r[0]
        for r in conn.execute(
            "SELECT case_no FROM cases WHERE published = 1 AND closed_date < ? ORDER BY case_no", [cutoff]
        )
    ]
    for case_no in expired:
        rev += 1
        changes.append((0, rev, case_no))
    applied = conn.execute("SELECT value FROM meta WHERE key='cases_keep_days'").fetchone()
    if applied is None or int(applied[0]) != keep:
        again = conn.execute(
            "SELECT case_no FROM cases WHERE removed = 0 AND closed_date IS NOT NULL AND closed_date >= ?"
            " ORDER BY case_no",
            [cutoff],
        ).fetchall()
        for (case_no,) in again:
            rev += 1
            changes.append((1, rev, case_no))
        conn.execute("INSERT OR REPLACE INTO meta VALUES ('cases_keep_days', ?)", [str(keep)])
    if changes:
        conn.executemany("UPDATE cases SET published=?, revision=? WHERE case_no=?", changes)
    if changes or purged:
        conn.execute("UPDATE meta SET value=? WHERE key='cases_revision'", [str(rev)])
    return len(changes) + purged, purged


def refresh(conn: sqlite3.Connection, now: float) -> int:
    """Purge and hide expired closed cases (a cheap indexed check when there is nothing to do),
    then wipe the WAL if anything was purged."""
    keep = keep_closed_days(conn)
    today = today_in_office(now)
    cutoff = (today - timedelta(days=keep)).isoformat()
    applied = conn.execute("SELECT value FROM meta WHERE key='cases_keep_days'").fetchone()
    due = conn.execute("SELECT 1 FROM cases WHERE published = 1 AND closed_date < ? LIMIT 1", [cutoff]).fetchone()
    purge_due = retention.purge_due(conn, retention.purge_cutoff(today, retention.purge_days(conn)))
    if due is None and not purge_due and applied is not None and int(applied[0]) == keep:
        if retention.wipe_pending(conn):
            retention.wipe(conn)
        return 0
    retention.secure(conn)
    conn.execute("BEGIN IMMEDIATE")
    try:
        n, purged = _refresh(conn, now, keep)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    if purged or retention.wipe_pending(conn):
        retention.wipe(conn)
    return n


def forget_and_purge(conn: sqlite3.Connection, now: float | None = None) -> tuple[int, int]:
    """`kiosk-collector purge-cases`: refresh now, blank plain codes the setting no longer keeps,
    and wipe the WAL; (changes, plain codes blanked)."""
    n = refresh(conn, time.time() if now is None else now)
    retention.secure(conn)
    conn.execute("BEGIN IMMEDIATE")
    try:
        forgotten = retention.forget_plain_codes(conn)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    retention.wipe(conn)
    return n, forgotten
