"""The collector's FastAPI app, put together: its state, the routers, error answers, OpenAPI.

``create_app(db_path)`` returns the app; ``kiosk-collector serve`` runs it under
uvicorn. It opens the database and hangs what the routes are handed (deps.py) on
``app.state``: the settings (config.py), the single writer, the reader pool and the
alert worker. The routes themselves are module-level routers: the kiosks' API
(routes/, cases/routes.py; docs/protocol-v1.md) and the /admin pages (admin/site.py).
"""

from __future__ import annotations

import dataclasses
import gc
import inspect
import logging
import os
import time
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from server_sync.collector import db
from server_sync.collector.admin import site as admin_site
from server_sync.collector.alerts import AlertWorker
from server_sync.collector.cases import routes as cases  # case-status lookup (docs/cases.md)
from server_sync.collector.config import DEFAULT_MAX_BODY, AppConfig
from server_sync.collector.headers import HEADERS as SECURITY_HEADERS
from server_sync.collector.headers import SecurityHeaders
from server_sync.collector.ingest import Ingestor
from server_sync.collector.readers import ReaderPool
from server_sync.collector.routes import events, health, services, settings
from server_sync.collector.turns import Turns

log = logging.getLogger(__name__)

# FastAPI's own OpenTelemetry hooks (newer releases) look for a tracer, meter and logger provider
# on every request, a cost a reconnect storm pays a thousand times a second; the collector exports
# no telemetry.
NO_TELEMETRY: dict = (
    {"telemetry": {"tracing": False, "metrics": False, "logs": False}}
    if "telemetry" in inspect.signature(FastAPI.__init__).parameters
    else {}
)
# In this order: the OpenAPI paths and route matching follow it.
API_ROUTERS = (events.router, settings.router, health.router, services.router, cases.router)


def create_app(
    db_path: str | Path, *, max_body: int = DEFAULT_MAX_BODY, clock=time.time, api_docs: bool = False
) -> FastAPI:
    """The collector app over the SQLite file at ``db_path`` (created and migrated if needed)."""
    return build(AppConfig(Path(db_path), max_body, api_docs), clock=clock)


def build(config: AppConfig, *, clock=time.time) -> FastAPI:
    """The collector app for ``config``; ``clock`` (unix seconds) is its one wall clock."""
    writer = db.open_db(config.db_path)
    ingestor = Ingestor(writer, clock=clock)
    readers = ReaderPool(config.db_path)
    # The alert worker takes the ingest writer's lock around its writes: in this process the two
    # writers take turns, and neither waits in SQLite's busy handler for the other.
    alerts = AlertWorker(config.db_path, clock=clock, write_lock=ingestor.lock)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        # What exists now (modules, routes, templates, pydantic's validators) lives as long as the
        # process. Frozen, the cyclic garbage collector no longer walks it: a full collection then
        # walks only what requests left behind. Unfrozen, every tenth or so dashboard request at
        # 500 windows set off one that walked it all, 100-700 ms with the request waiting.
        gc.freeze()
        yield
        alerts.close()
        app.state.admin.close()  # the admin pages' connection
        readers.close()
        ingestor.close()  # writes what is queued, then closes the writer connection

    app = FastAPI(
        title="counter-kiosk collector",
        version="1",
        description="Protocol v1 between kiosks and the central collector (docs/protocol-v1.md).",
        lifespan=lifespan,
        # No anonymous Swagger UI or ReDoc: they load script from a CDN on /admin's origin.
        # `serve --api-docs` puts Swagger UI at /admin/api-docs for logged-in administrators.
        docs_url=None,
        redoc_url=None,
        swagger_ui_oauth2_redirect_url=None,
        **NO_TELEMETRY,
    )
    app.state.config = config
    app.state.ingestor = ingestor
    app.state.readers = readers
    app.state.alerts = alerts
    app.state.turns = Turns()  # the events route's turns on the event loop
    app.state.db_path = config.db_path

    # Starlette types a handler as taking any Exception, not the class it is registered for.
    app.add_exception_handler(RequestValidationError, _on_validation)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _on_error)
    for router in API_ROUTERS:
        app.include_router(router)
    admin_site.install(app, config.db_path, with_api_docs=config.api_docs)  # /admin pages (docs/admin.md)
    app.add_middleware(SecurityHeaders)  # CSP, no framing, nosniff, no Referer (headers.py)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]  # FastAPI's documented override
    return app


# What `serve --workers N` runs in each worker process, and the settings it hands them: a worker
# is a fresh interpreter (multiprocessing's spawn), so they travel in its environment.
APP_FACTORY = "server_sync.collector.api:app_from_env"
ENV_DB = "KIOSK_COLLECTOR_DB"  # read by db.default_db_path()
ENV_API_DOCS = "KIOSK_COLLECTOR_API_DOCS"  # "1": `serve --api-docs`


def app_from_env() -> FastAPI:
    """ASGI factory for running under uvicorn directly (and ``serve --workers N``'s workers):

        KIOSK_COLLECTOR_DB=/var/lib/counter-kiosk-collector/collector.db \\
          uvicorn --factory server_sync.collector.api:app_from_env --proxy-headers --port 8470

    $KIOSK_COLLECTOR_MAX_BODY as ``--max-body``; $KIOSK_COLLECTOR_API_DOCS=1 as ``--api-docs``."""
    config = dataclasses.replace(AppConfig.from_env(), api_docs=os.environ.get(ENV_API_DOCS) == "1")
    return build(config)


async def _on_validation(request: Request, exc: RequestValidationError):
    errors = [
        {"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))}
        for e in exc.errors()
    ]
    return JSONResponse({"detail": errors}, status_code=422)


async def _on_error(request: Request, exc: Exception):
    log.exception("internal error on %s %s", request.method, request.url.path)
    # Starlette answers this outside every middleware: the security headers are added here.
    return JSONResponse({"detail": "伺服器內部錯誤 / internal server error"}, status_code=500, headers=SECURITY_HEADERS)


def _openapi(app: FastAPI) -> dict:
    """FastAPI's schema, with the hand-declared batch body's ``$defs`` moved into the components."""
    if app.openapi_schema is None:
        schema = FastAPI.openapi(app)
        defs = events.batch_schema().get("$defs", {})
        schema.setdefault("components", {}).setdefault("schemas", {}).update(defs)
        body = schema["paths"][events.PATH]["post"]["requestBody"]["content"]["application/json"]["schema"]
        body.pop("$defs", None)
        app.openapi_schema = schema
    return app.openapi_schema
