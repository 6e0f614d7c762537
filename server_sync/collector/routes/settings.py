"""``GET /api/v1/settings``: the settings a kiosk pulls (collector/settings.py), by ETag."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header
from fastapi.responses import JSONResponse, Response

from server_sync.collector import settings
from server_sync.collector.deps import KioskCredentials, Readers, authenticate
from server_sync.collector.models import Settings
from server_sync.collector.routes.etags import NOT_MODIFIED, matches

router = APIRouter()


@router.get(
    "/api/v1/settings",
    response_model=Settings,
    responses={**NOT_MODIFIED, 401: {"description": "unknown or revoked token"}},
)
def get_settings(readers: Readers, creds: KioskCredentials, if_none_match: Annotated[str | None, Header()] = None):
    kiosk = authenticate(readers, creds)
    with readers.connection() as conn:
        rev, values = settings.effective(conn, kiosk.id)
    etag = f'"{rev}"'
    headers = {"ETag": etag, "Cache-Control": "private, no-cache"}
    if matches(if_none_match, etag):
        return Response(status_code=304, headers=headers)
    return JSONResponse({"revision": rev, "settings": values}, headers=headers)
