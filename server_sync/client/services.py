"""Pulling the service directory by ETag, as one step of a sync round.

The kiosk keeps the last good copy in ``service_directory`` (migration m201_queue)
and sends its ETag back, so an unchanged directory costs one 304. A copy that does
not validate (kiosk.directory) is refused and the old one kept: a collector bug
must never blank the guidance screen. ``read_local`` is what the queue reads.
"""

from __future__ import annotations

import json
import logging
import sqlite3

import requests

from kiosk.directory import EMPTY, Directory, DirectoryError, parse_json
from server_sync.client.ack import describe_exception
from server_sync.client.errors import SyncError

log = logging.getLogger(__name__)


def stored_etag(conn: sqlite3.Connection) -> str | None:
    row = conn.execute("SELECT etag FROM service_directory WHERE id = 1").fetchone()
    return row[0] if row else None


def pull(session: requests.Session, base: str, conn: sqlite3.Connection, now_iso: str,
         timeout) -> bool:
    """GET /api/v1/services with If-None-Match; store a new valid copy. True when it changed."""
    etag = stored_etag(conn)
    headers = {"If-None-Match": etag} if etag else {}
    try:
        resp = session.get(f"{base}/api/v1/services", headers=headers, timeout=timeout, allow_redirects=False)
    except requests.RequestException as exc:
        raise describe_exception(exc) from exc
    if resp.status_code == 304:
        return False
    if resp.status_code == 404:
        return False  # a collector from before the directory existed
    if resp.status_code != 200 or "json" not in resp.headers.get("content-type", ""):
        raise SyncError("服務目錄未更新", "service directory not updated",
                        f"HTTP {resp.status_code} {resp.headers.get('content-type', '')}")
    try:
        body = resp.json()
        revision = body["revision"]
        if not isinstance(revision, int) or isinstance(revision, bool):
            raise TypeError("revision is not a number")
        directory = parse_json(body, revision=revision)
    except (ValueError, KeyError, TypeError, DirectoryError) as exc:
        log.error("service directory from the collector refused, keeping the old one: %s", exc)
        conn.execute("UPDATE service_directory SET error = ? WHERE id = 1", [str(exc)[:500]])
        raise SyncError("服務目錄內容有誤，沿用舊版", "service directory invalid; keeping the old one",
                        str(exc)[:300]) from None
    if revision == 0:
        # The collector was never given a directory: that is "none yet", not "no
        # services", so the kiosk keeps its own file ([queue] directory or the bundled one).
        log.info("the collector has no service directory yet; keeping the local one")
        return False
    conn.execute(
        "INSERT INTO service_directory (id, revision, etag, directory, received_at, error)"
        " VALUES (1, ?, ?, ?, ?, NULL) ON CONFLICT (id) DO UPDATE SET revision = excluded.revision,"
        " etag = excluded.etag, directory = excluded.directory, received_at = excluded.received_at, error = NULL",
        [revision, resp.headers.get("ETag"), json.dumps(directory.as_json(), ensure_ascii=False), now_iso])
    log.info("service directory revision %d received (%d services)", revision, len(directory.services))
    return True


def read_local(conn: sqlite3.Connection) -> tuple[int, str | None]:
    """(revision, JSON text) of the stored copy; (0, None) if none was ever pulled."""
    row = conn.execute("SELECT revision, directory FROM service_directory WHERE id = 1").fetchone()
    return (row[0], row[1]) if row else (0, None)


def parse_local(revision: int, text: str | None) -> Directory:
    if text is None:
        return EMPTY
    return parse_json(json.loads(text), revision=revision)
