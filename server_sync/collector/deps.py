"""What the API's routes are handed: FastAPI dependencies over the state ``create_app`` sets up.

``create_app`` hangs the app's settings, reader pool, single writer and alert worker on
``app.state``; these read them back. The getters are ``async`` on purpose: FastAPI runs a
plain ``def`` dependency in a worker thread, a hop the events endpoint should not pay.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Annotated, TypeVar

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from server_sync.collector.admin_tokens import UNAUTHORIZED as ADMIN_UNAUTHORIZED
from server_sync.collector.admin_tokens import Admin, admin_for_token
from server_sync.collector.alerts import AlertWorker
from server_sync.collector.auth import Kiosk, kiosk_for_token
from server_sync.collector.config import AppConfig
from server_sync.collector.ingest import Ingestor
from server_sync.collector.readers import ReaderPool

UNAUTHORIZED = "權杖無效或已撤銷 / unknown or revoked token"

T = TypeVar("T")


async def get_config(request: Request) -> AppConfig:
    return request.app.state.config


async def get_readers(request: Request) -> ReaderPool:
    return request.app.state.readers


async def get_ingestor(request: Request) -> Ingestor:
    return request.app.state.ingestor


async def get_alerts(request: Request) -> AlertWorker:
    return request.app.state.alerts


Config = Annotated[AppConfig, Depends(get_config)]
Readers = Annotated[ReaderPool, Depends(get_readers)]
# The single writer: its connection, lock (one transaction at a time) and the collector's clock.
Writer = Annotated[Ingestor, Depends(get_ingestor)]
# The alert worker: notify() after each stored batch (only sets a flag; never blocks an ack).
Alerts = Annotated[AlertWorker, Depends(get_alerts)]

# A kiosk's bearer token, looked at by ``authenticate`` inside the handler (see there).
KioskCredentials = Annotated[
    HTTPAuthorizationCredentials | None,
    Depends(HTTPBearer(auto_error=False, description="the token `kiosk-collector add-kiosk NAME` printed")),
]


def authenticate(readers: ReaderPool, creds: HTTPAuthorizationCredentials | None) -> Kiosk:
    """The kiosk a bearer token names, or 401.

    Called inside the handlers rather than as a dependency, so a malformed request is still
    answered 422 before its token is looked at, as it always was."""
    return _token_owner(readers, creds, kiosk_for_token, UNAUTHORIZED)


def _token_owner(
    readers: ReaderPool,
    creds: HTTPAuthorizationCredentials | None,
    lookup: Callable[[sqlite3.Connection, str], T | None],
    message: str,
) -> T:
    """Whom ``lookup`` finds behind a bearer token (a kiosk, an administrator), or 401 saying ``message``."""
    if creds is None or creds.scheme.lower() != "bearer":
        raise HTTPException(401, message, headers={"WWW-Authenticate": "Bearer"})
    with readers.connection() as conn:
        owner = lookup(conn, creds.credentials)
    if owner is None:
        raise HTTPException(401, message, headers={"WWW-Authenticate": "Bearer"})
    return owner


_admin_bearer = HTTPBearer(auto_error=False, description="a token from `kiosk-collector add-api-token NAME`")


def admin_token(
    readers: Readers, creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_admin_bearer)]
) -> Admin:
    """The administrator behind the request's API token (`kiosk-collector add-api-token NAME`), or 401."""
    return _token_owner(readers, creds, admin_for_token, ADMIN_UNAUTHORIZED)


AdminToken = Annotated[Admin, Depends(admin_token)]
