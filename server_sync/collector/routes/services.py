"""The service directory's two endpoints (docs/queue.md): kiosks fetch it, administrators replace it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from server_sync.collector import services
from server_sync.collector.bodies import read_capped
from server_sync.collector.config import DIRECTORY_MAX_BODY
from server_sync.collector.deps import AdminToken, Readers, Writer, authenticate
from server_sync.collector.routes.etags import NOT_MODIFIED, matches
from server_sync.wire.directory import DirectoryError

router = APIRouter()

Credentials = Annotated[
    HTTPAuthorizationCredentials | None, Depends(HTTPBearer(auto_error=False, description="the kiosk's token"))
]


@router.get(
    "/api/v1/services",
    summary="The service directory, by ETag",
    responses={**NOT_MODIFIED, 401: {"description": "bad token"}},
)
def get_services(readers: Readers, creds: Credentials, if_none_match: Annotated[str | None, Header()] = None):
    authenticate(readers, creds)
    with readers.connection() as conn:
        rev, body = services.current(conn)
    tag = services.etag(rev)
    headers = {"ETag": tag, "Cache-Control": "private, no-cache"}
    if matches(if_none_match, tag):
        return Response(status_code=304, headers=headers)
    return JSONResponse({"revision": rev, **body}, headers=headers)


@router.put(
    "/api/v1/admin/services",
    summary="Replace the service directory (admin token)",
    responses={
        401: {"description": "unknown or revoked admin token"},
        413: {"description": "body too large"},
        422: {"description": "the directory has bad cells; `detail` names each (line or item, column)"},
    },
)
async def put_services(request: Request, admin: AdminToken, writer: Writer):
    raw = await read_capped(request, DIRECTORY_MAX_BODY)  # 413 while streaming
    try:  # parsed in a worker thread: the event loop keeps serving kiosks meanwhile
        directory = await run_in_threadpool(services.parse_body, raw, request.headers.get("content-type", ""))
    except DirectoryError as exc:
        return JSONResponse({"detail": exc.as_json()}, status_code=422)
    except RecursionError:  # JSON nested deeper than the parser follows (a 500 before)
        return JSONResponse(
            {"detail": [{"where": "body", "field": "", "msg": "JSON 巢狀層數過多 / JSON nested too deeply"}]},
            status_code=422,
        )

    def save() -> int:
        with writer.lock:
            return services.store(writer.conn, directory, f"api {admin.name}")

    rev = await run_in_threadpool(save)
    return JSONResponse({"revision": rev, "services": len(directory.services)}, headers={"ETag": services.etag(rev)})
