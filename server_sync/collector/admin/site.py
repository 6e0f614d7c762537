"""The /admin pages put together: their routers, static files, write connection, error pages."""

from __future__ import annotations

import threading
from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from server_sync.collector import db as dbmod
from server_sync.collector.admin.deps import PACKAGE, TESTER_HOME, AdminState, NeedLogin, TesterOnly, render
from server_sync.collector.admin.routes import (
    alerts,
    api_docs,
    courtesy,
    dashboard,
    exports,
    fleet,
    login,
    self_evaluation,
    settings,
    targets,
    uploads,
)

AREAS = (login, dashboard, exports, alerts, fleet, settings, self_evaluation, uploads, courtesy, targets)


def install(app: FastAPI, db_path: Path, *, with_api_docs: bool = False) -> None:
    """Add the /admin pages and open their write connection (closed by ``app.state.admin.close()``);
    ``with_api_docs`` adds Swagger UI at /admin/api-docs."""
    app.state.admin = AdminState(dbmod.connect(db_path), threading.Lock())
    # Static files and templates are package data, so an installed wheel finds them.
    app.mount("/admin/static", StaticFiles(packages=[(PACKAGE, "static")]), name="admin-static")
    for area in AREAS:
        app.include_router(area.router, prefix="/admin", include_in_schema=False)
    # The year's published targets: no login, for the office's website (routes/targets.py).
    app.include_router(targets.public, include_in_schema=False)
    if with_api_docs:
        app.include_router(api_docs.router, prefix="/admin", include_in_schema=False)
    # Starlette types a handler as taking any Exception, not the class it is registered for.
    app.add_exception_handler(NeedLogin, _login_first)  # type: ignore[arg-type]
    app.add_exception_handler(TesterOnly, _tester_home)  # type: ignore[arg-type]
    # Starlette's, not only FastAPI's subclass: an unknown /admin address (the router's own 404)
    # gets the readable page too.
    app.add_exception_handler(StarletteHTTPException, _http_error)  # type: ignore[arg-type]


async def _login_first(request: Request, exc: NeedLogin):
    target = request.url.path + (("?" + request.url.query) if request.url.query else "")
    return RedirectResponse(f"/admin/login?next={quote(target)}", status_code=303)


async def _tester_home(request: Request, exc: TesterOnly):
    return RedirectResponse(TESTER_HOME, status_code=303)


async def _http_error(request: Request, exc: StarletteHTTPException):
    # Admin pages get a readable page; everything else keeps FastAPI's JSON body.
    if (
        request.url.path.startswith("/admin")
        and "text/html" in request.headers.get("accept", "")
        and exc.status_code in (401, 403, 404, 422)
    ):
        return render(
            "error.html", request, None, status=exc.status_code, status_code=exc.status_code, message=exc.detail
        )
    return await http_exception_handler(request, exc)
