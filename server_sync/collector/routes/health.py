"""``GET /api/v1/health``: no token; says the collector is up and which protocol it speaks."""

from __future__ import annotations

from fastapi import APIRouter

from server_sync.collector.models import Health
from server_sync.wire.protocol import PROTOCOL

router = APIRouter()


# async: answered on the event loop itself, never queued behind work in the thread pool, so a
# monitor sees the collector up while a reconnect storm keeps it busy.
@router.get("/api/v1/health", response_model=Health)
async def health():
    return {"ok": True, "protocol": PROTOCOL}
