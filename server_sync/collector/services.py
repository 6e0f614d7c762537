"""The service directory at the collector: import, revisions, and its two endpoints.

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
from datetime import datetime, timezone

from fastapi import APIRouter, Depends, Header, HTTPException, Request
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from server_sync.wire.directory import Directory, DirectoryError, Problem, parse_csv, parse_json
from server_sync.collector.admin_tokens import Admin, admin_auth

MAX_BODY = 512_000  # bytes: a directory is a few kilobytes


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
        row = conn.execute("SELECT revision, directory FROM services_revisions"
                           " ORDER BY revision DESC LIMIT 1").fetchone()
        if row is not None and row[1] == body:
            conn.execute("COMMIT")
            return row[0]  # nothing changed: kiosks keep their copy and get 304
        rev = (row[0] if row else 0) + 1
        conn.execute("INSERT INTO services_revisions (revision, directory, source, created_at) VALUES (?,?,?,?)",
                     [rev, body, source, datetime.now(timezone.utc).isoformat(timespec="milliseconds")])
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return rev


def revisions(conn: sqlite3.Connection) -> list[tuple[int, str, str, int]]:
    """(revision, created_at, source, number of services), newest first."""
    rows = conn.execute("SELECT revision, created_at, source, directory FROM services_revisions"
                        " ORDER BY revision DESC").fetchall()
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
        raise DirectoryError([Problem(f"line {getattr(exc, 'lineno', '?')}", "", "不是有效的 JSON",
                                      f"not valid JSON: {exc}")]) from None
    return parse_json(data, source="body")


def router(readers, writer_lock, writer, authenticate_kiosk):
    """The directory's routes, for ``create_app`` to include.

    readers: the app's ReaderPool; writer / writer_lock: the single writer connection and its lock;
    authenticate_kiosk: the app's kiosk bearer check (credentials → Kiosk or 401).
    """
    api = APIRouter()
    bearer = HTTPBearer(auto_error=False, description="the kiosk's token")
    require_admin = admin_auth(readers)

    @api.get("/api/v1/services", summary="The service directory, by ETag", responses={
        304: {"description": "If-None-Match names the current ETag"}, 401: {"description": "bad token"}})
    def get_services(creds: HTTPAuthorizationCredentials | None = Depends(bearer),
                     if_none_match: str | None = Header(None)):
        authenticate_kiosk(creds)
        with readers.connection() as conn:
            rev, body = current(conn)
        tag = etag(rev)
        headers = {"ETag": tag, "Cache-Control": "private, no-cache"}
        if if_none_match is not None:
            tags = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
            if tag in tags or "*" in tags:
                return Response(status_code=304, headers=headers)
        return JSONResponse({"revision": rev, **body}, headers=headers)

    @api.put("/api/v1/admin/services", summary="Replace the service directory (admin token)", responses={
        401: {"description": "unknown or revoked admin token"}, 413: {"description": "body too large"},
        422: {"description": "the directory has bad cells; `detail` names each (line or item, column)"}})
    async def put_services(request: Request, admin: Admin = Depends(require_admin)):
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > MAX_BODY:
                raise HTTPException(413, f"請求內容過大 / body too large (limit {MAX_BODY} bytes)")
            chunks.append(chunk)
        try:
            directory = parse_body(b"".join(chunks), request.headers.get("content-type", ""))
        except DirectoryError as exc:
            return JSONResponse({"detail": exc.as_json()}, status_code=422)

        def save():
            with writer_lock:
                return store(writer, directory, f"api {admin.name}")

        rev = await run_in_threadpool(save)
        return JSONResponse({"revision": rev, "services": len(directory.services)},
                            headers={"ETag": etag(rev)})

    return api
