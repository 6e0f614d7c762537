"""Storing cases: each change under the next revision, secrets hashed, closed cases hidden after their days."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Callable, Iterable

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


def apply_cases(conn: sqlite3.Connection, cases: Iterable[Case], *, remove: Iterable[str] = (),
                remove_missing: bool = False, now: float | None = None, source: str = "csv",
                progress: Callable[[int], None] = lambda n: None, workers: int | None = None,
                write_lock=None) -> Applied:
    """Store cases (added or replaced whole) and removals, each change under a new revision.

    Unchanged cases (same fingerprint) are left alone: importing the same file again
    changes nothing. New or changed secrets are hashed before the write transaction,
    in threads (hashlib's scrypt releases the GIL).
    remove_missing: remove every stored case not among ``cases`` (a full export).
    write_lock: held while reading and writing ``conn`` (the API's writer), not while hashing.
    """
    write_lock = write_lock or contextlib.nullcontext()

    now = time.time() if now is None else now
    cases = list(cases)
    remove = {wire_cases.normalize_case_no(c) for c in remove}
    existing = {}
    want = [c.case_no for c in cases]
    with write_lock:
        for i in range(0, len(want), 900):
            chunk = want[i:i + 900]
            for row in conn.execute(
                    f"SELECT case_no, content_hash, verify_code, kdf, salt, hash, removed FROM cases"
                    f" WHERE case_no IN ({','.join('?' * len(chunk))})", chunk):
                existing[row[0]] = row
    todo: list[tuple[Case, str, tuple | None]] = []
    result = Applied()
    for case in cases:
        fp = case.fingerprint()
        old = existing.get(case.case_no)
        if old is not None and old[1] == fp and not old[6]:
            result.unchanged += 1
            progress(1)
            continue
        todo.append((case, fp, old))
    kdf = wire_cases.kdf_name()
    hashes: dict[str, tuple[str, bytes, bytes]] = {}
    need = []
    for case, _fp, old in todo:
        if old is not None and old[2] == case.verify_code and old[3] == kdf and old[4] and not old[6]:
            hashes[case.case_no] = (old[3], old[4], old[5])  # same secret: keep its hash
            progress(1)
        else:
            need.append(case)
    lock = threading.Lock()

    def work(case):
        salt = secrets.token_bytes(16)
        digest = wire_cases.hash_code(case.verify_code, salt)
        with lock:
            hashes[case.case_no] = (kdf, salt, digest)
        progress(1)

    if need:
        with ThreadPoolExecutor(max_workers=workers or min(8, os.cpu_count() or 1)) as pool:
            list(pool.map(work, need))

    stamp = datetime.fromtimestamp(now, timezone.utc).isoformat(timespec="seconds")
    with write_lock:
        return _write(conn, todo, hashes, remove, remove_missing, want, now, stamp, source, result)


def _write(conn, todo, hashes, remove, remove_missing, want, now, stamp, source, result) -> Applied:
    conn.execute("BEGIN IMMEDIATE")
    try:
        keep = keep_closed_days(conn)
        cutoff = (today_in_office(now) - timedelta(days=keep)).isoformat()
        rev = revision(conn)
        rows = []
        for case, fp, old in todo:
            rev += 1
            k, salt, digest = hashes[case.case_no]
            data = case.content()
            published = 1 if _visible(case.closed_date, cutoff) else 0
            result.hidden += 1 - published
            if old is None or old[6]:
                result.added += 1
            else:
                result.updated += 1
            rows.append([case.case_no, rev, published, case.case_type, case.case_type_en, case.applicant_name,
                         mask_name(case.applicant_name), case.verify_code, k, salt, digest,
                         json.dumps(data["stages"], ensure_ascii=False), case.unit, case.unit_en, case.extension,
                         case.due_date, case.closed_date, fp, stamp, source])
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
            rows)
        if remove_missing:
            keep_set = set(want)
            remove |= {r[0] for r in conn.execute("SELECT case_no FROM cases WHERE removed = 0")
                       if r[0] not in keep_set}
        for case_no in sorted(remove):
            rev += 1
            # A removed case keeps only its number and revision: no personal data stays behind.
            cur = conn.execute(
                "UPDATE cases SET removed=1, published=0, revision=?, applicant_name='', name_masked='',"
                " verify_code='', salt=NULL, hash=NULL, stages='[]', content_hash='', updated_at=?, source=?"
                " WHERE case_no=? AND removed=0", [rev, stamp, source, case_no])
            if cur.rowcount:
                result.removed += 1
            else:
                rev -= 1
        conn.execute("UPDATE meta SET value=? WHERE key='cases_revision'", [str(rev)])
        _refresh(conn, now, keep)
        result.revision = revision(conn)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return result


def _refresh(conn: sqlite3.Connection, now: float, keep: int) -> int:
    """Inside a write transaction: hide closed cases whose days are over (and, if the setting
    changed, show again those it now keeps and resend the rest with their new hide-after date)."""
    cutoff = (today_in_office(now) - timedelta(days=keep)).isoformat()
    rev = revision(conn)
    changes: list[tuple[int, str]] = []
    expired = [r[0] for r in conn.execute(
        "SELECT case_no FROM cases WHERE published = 1 AND closed_date < ? ORDER BY case_no", [cutoff])]
    for case_no in expired:
        rev += 1
        changes.append((0, rev, case_no))
    applied = conn.execute("SELECT value FROM meta WHERE key='cases_keep_days'").fetchone()
    if applied is None or int(applied[0]) != keep:
        again = conn.execute(
            "SELECT case_no FROM cases WHERE removed = 0 AND closed_date IS NOT NULL AND closed_date >= ?"
            " ORDER BY case_no", [cutoff]).fetchall()
        for (case_no,) in again:
            rev += 1
            changes.append((1, rev, case_no))
        conn.execute("INSERT OR REPLACE INTO meta VALUES ('cases_keep_days', ?)", [str(keep)])
    if changes:
        conn.executemany("UPDATE cases SET published=?, revision=? WHERE case_no=?", changes)
        conn.execute("UPDATE meta SET value=? WHERE key='cases_revision'", [str(rev)])
    return len(changes)


def refresh(conn: sqlite3.Connection, now: float) -> int:
    """Hide expired closed cases (a cheap indexed check when there is nothing to do)."""
    keep = keep_closed_days(conn)
    cutoff = (today_in_office(now) - timedelta(days=keep)).isoformat()
    applied = conn.execute("SELECT value FROM meta WHERE key='cases_keep_days'").fetchone()
    due = conn.execute("SELECT 1 FROM cases WHERE published = 1 AND closed_date < ? LIMIT 1", [cutoff]).fetchone()
    if due is None and applied is not None and int(applied[0]) == keep:
        return 0
    conn.execute("BEGIN IMMEDIATE")
    try:
        n = _refresh(conn, now, keep)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return n
