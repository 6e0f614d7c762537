"""The service directory at the collector: import and revisions (its endpoints: routes/services.py).

Every accepted change is a new row in ``services_revisions``; kiosks fetch the
newest with ``GET /api/v1/services`` and send back its ETag, so an unchanged
directory costs them one ``304``. Administrators replace it with
``PUT /api/v1/admin/services`` (an admin API token) or ``kiosk-collector
import-services FILE``. Both validate the whole directory first
(server_sync.wire.directory) and store nothing if any cell is bad.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime

from server_sync.wire.directory import Directory, DirectoryError, Problem, parse_csv, parse_json


def current(conn: sqlite3.Connection) -> tuple[int, dict]:
    """(revision, {"services": [...]}) of the newest directory; (0, empty) before any import."""
    row = conn.execute("SELECT revision, directory FROM services_revisions ORDER BY revision DESC LIMIT 1").fetchone()
    if row is None:
        return 0, {"services": []}
    return row[0], json.loads(row[1])


def store(conn: sqlite3.Connection, directory: Directory, source: str) -> int:
    """Store ``directory`` as the next revision unless it equals the current one; return the revision."""
    body = json.dumps(directory.as_json(), ensure_ascii=False, sort_keys=True)
    conn.execute("BEGIN IMMEDIATE")
    try:
        row = conn.execute(
            "SELECT revision, directory FROM services_revisions ORDER BY revision DESC LIMIT 1"
        ).fetchone()
        if row is not None and row[1] == body:
            conn.execute("COMMIT")
            return row[0]  # nothing changed: kiosks keep their copy and get 304
        rev = (row[0] if row else 0) + 1
        conn.execute(
            "INSERT INTO services_revisions (revision, directory, source, created_at) VALUES (?,?,?,?)",
            [rev, body, source, datetime.now(UTC).isoformat(timespec="milliseconds")],
        )
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return rev


def revisions(conn: sqlite3.Connection) -> list[tuple[int, str, str, int]]:
    """(revision, created_at, source, number of services), newest first."""
    rows = conn.execute(
        "SELECT revision, created_at, source, directory FROM services_revisions ORDER BY revision DESC"
    ).fetchall()
    return [(r, at, src, len(json.loads(d)["services"])) for r, at, src, d in rows]


def etag(revision: int) -> str:
    return f'"svc-{revision}"'


def parse_body(raw: bytes, content_type: str) -> Directory:
    """A PUT body: ``text/csv`` (the import file as is) or JSON ``{"services": [...]}``."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DirectoryError([Problem("body", "", "不是 UTF-8 文字", f"not UTF-8 (byte {exc.start})")]) from None
    if content_type.split(";")[0].strip().lower() in ("text/csv", "application/csv"):
        return parse_csv(text, source="body")
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise DirectoryError(
            [Problem(f"line {getattr(exc, 'lineno', '?')}", "", "不是有效的 JSON", f"not valid JSON: {exc}")]
        ) from None
    return parse_json(data, source="body")
