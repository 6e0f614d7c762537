"""The HTTP side of protocol v1 (docs/protocol-v1.md), as a FastAPI app.

``create_app(db_path)`` returns the app; ``kiosk-collector serve`` runs it under
uvicorn. The events endpoint reads the raw body itself (size cap, gzip) and
validates it with pydantic's JSON parser, which is much faster than FastAPI's
json.loads-then-validate path; its OpenAPI request schema is declared by hand so
``/openapi.json`` still describes the body exactly.
"""

from __future__ import annotations

import logging
import os
import time
import zlib
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import Depends, FastAPI, Header, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from server_sync.collector import db, deps, settings as settings_mod
from server_sync.collector import services as services_mod  # the service directory (docs/queue.md)
from server_sync.collector.admin import site as admin_site
from server_sync.collector.auth import Kiosk
from server_sync.collector.cases import routes as case_routes  # case-status lookup (docs/cases.md)
from server_sync.collector.ingest import BatchInvalid, Ingestor, prepare
from server_sync.collector.models import Ack, Batch, Health, Settings
from server_sync.collector.readers import ReaderPool
from server_sync.wire.protocol import PROTOCOL

log = logging.getLogger(__name__)

DEFAULT_MAX_BODY = 2_000_000  # bytes, uncompressed; the compressed body is capped the same

_bearer = HTTPBearer(auto_error=False, description="the token `kiosk-collector add-kiosk NAME` printed")


def _too_large(limit: int) -> HTTPException:
    return HTTPException(413, f"請求內容過大 / request body too large (limit {limit} bytes)")


def _body_error(msg: str, type_: str = "value_error") -> RequestValidationError:
    return RequestValidationError([{"loc": ["body"], "msg": msg, "type": type_}])


def decode_body(raw: bytes, encoding: str, limit: int) -> bytes:
    """The JSON bytes of a request body: gunzipped if need be, never more than ``limit`` bytes."""
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        return raw
    if encoding not in ("gzip", "x-gzip"):
        raise HTTPException(415, f"不支援的壓縮方式 / unsupported Content-Encoding {encoding!r}: use gzip")
    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = d.decompress(raw, limit + 1)
    except zlib.error as exc:
        raise _body_error(f"body is not valid gzip: {exc}", "gzip_invalid") from None
    if len(out) > limit or d.unconsumed_tail:
        raise _too_large(limit)
    if not d.eof:
        raise _body_error("gzip body is truncated", "gzip_invalid")
    return out


def _validation_errors(exc: ValidationError) -> list[dict]:
    return [{"loc": ["body", *e["loc"]], "msg": e["msg"], "type": e["type"]}
            for e in exc.errors(include_url=False, include_context=False, include_input=False)]


def _openapi_body() -> dict:
    schema = Batch.model_json_schema(ref_template="#/components/schemas/{model}")
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


def create_app(db_path: str | Path, *, max_body: int = DEFAULT_MAX_BODY, clock=time.time) -> FastAPI:
    """The collector app over the SQLite file at ``db_path`` (created and migrated if needed)."""
    db_path = Path(db_path)
    writer = db.open_db(db_path)
    ingestor = Ingestor(writer, clock=clock)
    readers = ReaderPool(db_path)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        yield
        app.state.admin.close()  # the alert worker and the admin pages' connection
        readers.close()
        with ingestor.lock:
            writer.close()

    app = FastAPI(title="counter-kiosk collector", version="1",
                  description="Protocol v1 between kiosks and the central collector (docs/protocol-v1.md).",
                  lifespan=lifespan)
    app.state.ingestor = ingestor
    app.state.readers = readers
    app.state.db_path = db_path

    @app.exception_handler(RequestValidationError)
    async def _on_validation(request: Request, exc: RequestValidationError):
        errors = [{"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))}
                  for e in exc.errors()]
        return JSONResponse({"detail": errors}, status_code=422)

    @app.exception_handler(Exception)
    async def _on_error(request: Request, exc: Exception):
        log.exception("internal error on %s %s", request.method, request.url.path)
        return JSONResponse({"detail": "伺服器內部錯誤 / internal server error"}, status_code=500)

    def authenticate(creds: HTTPAuthorizationCredentials | None) -> Kiosk:
        return deps.authenticate(readers, creds)

    def process(kiosk: Kiosk, raw: bytes, encoding: str, received: float) -> dict:
        body = decode_body(raw, encoding, max_body)
        try:
            batch = Batch.model_validate_json(body)
            recorded = prepare(batch)
        except ValidationError as exc:
            raise RequestValidationError(_validation_errors(exc)) from None
        except BatchInvalid as exc:
            raise RequestValidationError([{**e, "loc": ["body", *e["loc"]]} for e in exc.errors]) from None
        ack = ingestor.ingest(kiosk, batch, recorded, received).ack()
        app.state.admin.notify()  # wakes the alert worker; never blocks or fails the ack
        return ack

    error_responses = {401: {"description": "unknown or revoked token"},
                       413: {"description": "body over the size limit"},
                       415: {"description": "Content-Encoding other than gzip"},
                       422: {"description": "the body is not a valid batch; `detail` names each bad field"}}

    @app.post("/api/v1/events", response_model=Ack, openapi_extra=_openapi_body(),
              responses=error_responses, summary="Push one batch of at most 1,000 events")
    async def post_events(request: Request, creds: HTTPAuthorizationCredentials | None = Depends(_bearer)):
        received = ingestor.clock()  # paired with the batch's clock block: as early as possible
        kiosk = authenticate(creds)
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > max_body:
            raise _too_large(max_body)
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > max_body:
                raise _too_large(max_body)
            chunks.append(chunk)
        ack = await run_in_threadpool(process, kiosk, b"".join(chunks),
                                      request.headers.get("content-encoding", ""), received)
        return JSONResponse(ack)

    @app.get("/api/v1/settings", response_model=Settings, responses={
        304: {"description": "If-None-Match names the current ETag"}, 401: error_responses[401]})
    def get_settings(creds: HTTPAuthorizationCredentials | None = Depends(_bearer),
                     if_none_match: str | None = Header(None)):
        kiosk = authenticate(creds)
        with readers.connection() as conn:
            rev, values = settings_mod.effective(conn, kiosk.id)
        etag = f'"{rev}"'
        headers = {"ETag": etag, "Cache-Control": "private, no-cache"}
        if if_none_match is not None:
            tags = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
            if etag in tags or "*" in tags:
                return Response(status_code=304, headers=headers)
        return JSONResponse({"revision": rev, "settings": values}, headers=headers)

    @app.get("/api/v1/health", response_model=Health)
    def health():
        return {"ok": True, "protocol": PROTOCOL}

    app.include_router(services_mod.router(readers, ingestor.lock, writer, authenticate))

    app.include_router(case_routes.router)

    admin_site.install(app, db_path, ingestor)  # /admin pages, alerts (docs/admin.md)

    base_openapi = app.openapi

    def openapi():
        if app.openapi_schema is None:
            schema = base_openapi()
            defs = Batch.model_json_schema(ref_template="#/components/schemas/{model}").get("$defs", {})
            schema.setdefault("components", {}).setdefault("schemas", {}).update(defs)
            body = schema["paths"]["/api/v1/events"]["post"]["requestBody"]["content"]["application/json"]["schema"]
            body.pop("$defs", None)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi
    return app


def app_from_env() -> FastAPI:
    """ASGI factory for running under uvicorn directly:

        KIOSK_COLLECTOR_DB=/var/lib/counter-kiosk-collector/collector.db \\
          uvicorn --factory server_sync.collector.api:app_from_env --proxy-headers --port 8470
    """
    return create_app(db.default_db_path(), max_body=int(os.environ.get("KIOSK_COLLECTOR_MAX_BODY",
                                                                        DEFAULT_MAX_BODY)))
