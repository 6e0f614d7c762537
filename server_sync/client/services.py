"""Pulling the service directory by ETag, as one step of a sync round.

The outbox keeps the last good copy and its ETag, which goes back with the
request, so an unchanged directory costs one 304. A copy that does not validate
(server_sync.wire.directory) is refused and the old one kept: a collector bug
must never blank the guidance screen.
"""

from __future__ import annotations

import json
import logging

import requests

from server_sync.client.ack import describe_exception
from server_sync.client.errors import SyncError
from server_sync.client.outbox import Outbox
from server_sync.wire.directory import DirectoryError, parse_json

log = logging.getLogger(__name__)


def pull(session: requests.Session, base: str, outbox: Outbox, now_iso: str, timeout) -> bool:
    """GET /api/v1/services with If-None-Match; store a new valid copy. True when it changed."""
    etag = outbox.services_etag()
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
        raise SyncError(
            "服務目錄未更新",
            "service directory not updated",
            f"HTTP {resp.status_code} {resp.headers.get('content-type', '')}",
        )
    try:
        body = resp.json()
        revision = body["revision"]
        if not isinstance(revision, int) or isinstance(revision, bool):
            raise TypeError("revision is not a number")
        directory = parse_json(body, revision=revision)
    except (ValueError, KeyError, TypeError, DirectoryError) as exc:
        log.error("service directory from the collector refused, keeping the old one: %s", exc)
        outbox.services_refused(str(exc)[:500])
        raise SyncError(
            "服務目錄內容有誤，沿用舊版", "service directory invalid; keeping the old one", str(exc)[:300]
        ) from None
    if revision == 0:
        # The collector was never given a directory: that is "none yet", not "no
        # services", so the kiosk keeps its own file ([queue] directory or the bundled one).
        log.info("the collector has no service directory yet; keeping the local one")
        return False
    outbox.save_services(
        revision, resp.headers.get("ETag"), json.dumps(directory.as_json(), ensure_ascii=False), now_iso
    )
    log.info("service directory revision %d received (%d services)", revision, len(directory.services))
    return True
