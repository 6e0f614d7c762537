"""What the API's routes are handed: FastAPI dependencies over the state ``create_app`` sets up."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials

from server_sync.collector.auth import Kiosk, kiosk_for_token
from server_sync.collector.ingest import Ingestor
from server_sync.collector.readers import ReaderPool

UNAUTHORIZED = "權杖無效或已撤銷 / unknown or revoked token"


def get_readers(request: Request) -> ReaderPool:
    return request.app.state.readers


def get_ingestor(request: Request) -> Ingestor:
    return request.app.state.ingestor


Readers = Annotated[ReaderPool, Depends(get_readers)]
# The single writer: its connection, lock (one transaction at a time) and the collector's clock.
Writer = Annotated[Ingestor, Depends(get_ingestor)]


def authenticate(readers: ReaderPool, creds: HTTPAuthorizationCredentials | None) -> Kiosk:
    """The kiosk a bearer token names, or 401.

    Called inside the handlers rather than as a dependency, so a malformed request is still
    answered 422 before its token is looked at, as it always was."""
    if creds is None or creds.scheme.lower() != "bearer":
        raise HTTPException(401, UNAUTHORIZED, headers={"WWW-Authenticate": "Bearer"})
    with readers.connection() as conn:
        kiosk = kiosk_for_token(conn, creds.credentials)
    if kiosk is None:
        raise HTTPException(401, UNAUTHORIZED, headers={"WWW-Authenticate": "Bearer"})
    return kiosk
