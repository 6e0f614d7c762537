"""Pulling case-status changes into the kiosk's own file, so lookups work offline.

Each sync round asks ``GET /api/v1/cases?since=R`` for the changes after the
revision the kiosk holds and applies every page in one durable transaction
together with the new revision: a round cut off half-way resumes where the last
committed page ended. Another ``dataset`` (the collector's case set was replaced)
or a revision that went backwards (restored from a backup) starts over from
nothing. Deleted rows are overwritten on disk (``secure_delete``).
"""

from __future__ import annotations

import json
import re
import sqlite3
from datetime import datetime
from zoneinfo import ZoneInfo

import requests
import sqlite_utils

from server_sync.client import errors
from server_sync.client.ack import describe_exception, json_body

OFFICE_TZ = ZoneInfo("Asia/Taipei")
PAGE = 5000
MAX_PAGES = 1000  # a safety stop: 5 million changes in one round is not a real collector
_VERIFIER = re.compile(r"^scrypt:\d{1,8}:\d{1,3}:\d{1,3}:[A-Za-z0-9+/=]{4,64}:[A-Za-z0-9+/=]{4,128}$")
_TEXT_FIELDS = ("case_type", "case_type_en", "name", "unit", "unit_en", "extension")


def ensure_tables(conn: sqlite3.Connection) -> None:
    if not conn.execute("SELECT 1 FROM sqlite_master WHERE name='case_sync'").fetchone():
        from kiosk.migrations import migrations

        migrations.apply(sqlite_utils.Database(conn))


def today() -> str:
    return datetime.now(OFFICE_TZ).date().isoformat()


def state(conn: sqlite3.Connection) -> tuple[str | None, int]:
    row = conn.execute("SELECT dataset, revision FROM case_sync WHERE id = 1").fetchone()
    return (row[0], row[1]) if row else (None, 0)


def _opt_date(change: dict, key: str) -> str | None:
    value = change.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise errors.bad_answer(f"case {change.get('case_no')!r}: {key} is {value!r}")
    return value


def _row(change: dict) -> list:
    """One added or changed case as a row of the kiosk's cases table, checked field by field."""
    case_no = change["case_no"]
    for key in _TEXT_FIELDS:
        if not isinstance(change.get(key, ""), str):
            raise errors.bad_answer(f"case {case_no!r}: {key} is not text")
    stages = change.get("stages")
    if not isinstance(stages, list) or not all(
            isinstance(s, dict) and isinstance(s.get("stage"), str) and isinstance(s.get("date"), str)
            for s in stages):
        raise errors.bad_answer(f"case {case_no!r}: stages is not a list of stages")
    verifier = change.get("verifier")
    if not isinstance(verifier, str) or not _VERIFIER.match(verifier):
        raise errors.bad_answer(f"case {case_no!r}: no usable verifier")
    return [case_no, change["revision"], change.get("case_type", ""), change.get("case_type_en", ""),
            change.get("name", ""), json.dumps(stages, ensure_ascii=False), change.get("unit", ""),
            change.get("unit_en", ""), change.get("extension", ""), _opt_date(change, "due_date"),
            _opt_date(change, "closed_date"), _opt_date(change, "hide_after"), verifier]


def _check_page(body) -> tuple[str, int, list, bool]:
    if not isinstance(body, dict):
        raise errors.bad_answer("cases: expected a JSON object")
    dataset, revision, changes, more = (body.get(k) for k in ("dataset", "revision", "changes", "more"))
    if not isinstance(dataset, str) or not dataset:
        raise errors.bad_answer(f"cases: dataset is {dataset!r}")
    if isinstance(revision, bool) or not isinstance(revision, int) or revision < 0:
        raise errors.bad_answer(f"cases: revision is {revision!r}")
    if not isinstance(changes, list) or not isinstance(more, bool):
        raise errors.bad_answer("cases: changes must be a list and more true or false")
    for change in changes:
        if not (isinstance(change, dict) and isinstance(change.get("case_no"), str)
                and 0 < len(change["case_no"]) <= 32 and isinstance(change.get("revision"), int)
                and isinstance(change.get("removed"), bool)):
            raise errors.bad_answer(f"cases: malformed change {str(change)[:80]}")
    return dataset, revision, changes, more


def _apply(conn: sqlite3.Connection, dataset: str, revision: int, changes: list, now_iso: str,
           wipe: bool) -> None:
    rows = [_row(c) for c in changes if not c["removed"]]  # checked before anything is written
    gone = [[c["case_no"]] for c in changes if c["removed"]]
    conn.execute("BEGIN IMMEDIATE")
    try:
        if wipe:
            conn.execute("DELETE FROM cases")
        conn.executemany(
            "INSERT OR REPLACE INTO cases (case_no, revision, case_type, case_type_en, name, stages, unit,"
            " unit_en, extension, due_date, closed_date, hide_after, verifier) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            rows)
        conn.executemany("DELETE FROM cases WHERE case_no = ?", gone)
        conn.execute("DELETE FROM cases WHERE hide_after < ?", [today()])
        conn.execute(
            "INSERT INTO case_sync (id, dataset, revision, pulled_at, error) VALUES (1, ?, ?, ?, NULL)"
            " ON CONFLICT (id) DO UPDATE SET dataset=excluded.dataset, revision=excluded.revision,"
            " pulled_at=excluded.pulled_at, error=NULL", [dataset, revision, now_iso])
        conn.execute("COMMIT")  # synchronous=FULL: durable when this returns
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def pull(session: requests.Session, base: str, conn: sqlite3.Connection, now_iso: str, timeout,
         *, page: int = PAGE) -> int:
    """Fetch and store every case change since the last pull; return how many were applied.

    Raises SyncError; what was committed before the error stays.
    """
    try:
        ensure_tables(conn)
        conn.execute("PRAGMA secure_delete = ON")  # a removed case leaves no bytes behind
        held_dataset, since = state(conn)
        wipe = False
        applied = 0
        for _ in range(MAX_PAGES):
            try:
                resp = session.get(f"{base}/api/v1/cases", params={"since": since, "limit": page},
                                   timeout=timeout, allow_redirects=False)
            except requests.RequestException as exc:
                raise describe_exception(exc) from exc
            dataset, revision, changes, more = _check_page(json_body(resp))
            if not wipe and since and (dataset != held_dataset or revision < since):
                # Another case set, or one restored from an older backup: start over.
                wipe, since = True, 0
                continue
            _apply(conn, dataset, revision, changes, now_iso, wipe)
            applied += len(changes)
            wipe, held_dataset = False, dataset
            if not more or revision <= since:
                return applied
            since = revision
        raise errors.no_progress(f"cases: more than {MAX_PAGES} pages in one round")
    except sqlite3.Error as exc:
        raise errors.local_data(str(exc)) from exc


def record_error(conn: sqlite3.Connection, message: str) -> None:
    """Keep why the last pull failed (shown by `kiosk doctor`-like tools); never raises."""
    try:
        conn.execute("UPDATE case_sync SET error = ? WHERE id = 1", [message[:500]])
    except sqlite3.Error:
        pass
