"""The wall display (a TV in Chromium kiosk mode) and the event stream it and the phone page follow."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from importlib import resources
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from sse_starlette.sse import EventSourceResponse

from kiosk.office.deps import HubDep
from kiosk.office.messages import PING_SECONDS, PREFIX
from kiosk.voice import CHIME_PATH

router = APIRouter()
STATIC = resources.files("kiosk.office.static")


def page(name: str) -> HTMLResponse:
    # Pages and scripts are package data, found through the package wherever it is installed.
    return HTMLResponse((STATIC / name).read_text(encoding="utf-8"), headers={"Cache-Control": "no-cache"})


@router.get("/display", response_class=HTMLResponse)
def display() -> HTMLResponse:
    return page("display.html")


@router.get("/static/{name}")
def static(name: str) -> Response:
    types = {".js": "text/javascript", ".css": "text/css"}
    suffix = name[name.rfind(".") :] if "." in name else ""
    item = STATIC / name
    if suffix not in types or "/" in name or not item.is_file():
        raise HTTPException(404)
    return Response(item.read_bytes(), media_type=f"{types[suffix]}; charset=utf-8")


@router.get(f"{PREFIX}/health")
def health(hub: HubDep) -> Any:
    return {"ok": True, "revision": hub.revision, "day": str(hub.queue.day)}


@router.get(f"{PREFIX}/state")
def state(hub: HubDep) -> Any:
    return hub.state()


@router.get(f"{PREFIX}/chime.wav")
def chime() -> FileResponse:
    return FileResponse(CHIME_PATH, media_type="audio/wav")


@router.get(PREFIX + "/calls/{event_id}.wav")
def call_sound(event_id: str, hub: HubDep) -> FileResponse:
    path = hub.call_sound(event_id)
    if path is None:
        raise HTTPException(404, {"zh": "沒有這次叫號", "en": "No such recent call"})
    return FileResponse(path, media_type="audio/wav")


@router.get(f"{PREFIX}/stream")
async def stream(request: Request, hub: HubDep) -> EventSourceResponse:
    """Server-sent events: ``state`` at once and on every change, ``call`` for each call, and a
    ``ping`` every few seconds so the display can tell a quiet office from a lost host."""
    queue = hub.subscribe()

    async def events() -> AsyncIterator[dict[str, str]]:
        try:
            yield {"event": "state", "data": json.dumps(await asyncio.to_thread(hub.state), ensure_ascii=False)}
            while True:
                try:
                    kind, data = await asyncio.wait_for(queue.get(), PING_SECONDS)
                except TimeoutError:
                    yield {"event": "ping", "data": str(hub.revision)}
                    continue
                yield {"event": kind, "data": json.dumps(data, ensure_ascii=False)}
        finally:
            hub.unsubscribe(queue)

    return EventSourceResponse(events(), headers={"Cache-Control": "no-cache"})
