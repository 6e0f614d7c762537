"""The window and entrance kiosks' API: issue a ticket, and a window's next, recall, no-show, transfer.

Every write names an idempotency key (``press``): the kiosk sends the same key again when it
did not hear the answer, and gets the first answer instead of a second ticket or call. The
answer comes only after the host committed the event (synchronous=FULL).
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, HTTPException
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from kiosk.office.deps import DeviceDep, HubDep
from kiosk.office.messages import PREFIX, outcome_json, status_json, ticket_json
from kiosk.queue import QueueRefused
from kiosk.store import StoreUnavailable

router = APIRouter(prefix=PREFIX)

PRESS = Field(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")


class TicketRequest(BaseModel):
    service: str = Field(min_length=1, max_length=64)
    priority: bool = False
    press: str = PRESS


class PressRequest(BaseModel):
    press: str = PRESS


class TransferRequest(PressRequest):
    service: str = Field(min_length=1, max_length=64)
    to_window: str | None = Field(default=None, max_length=8)
    position: Literal["front", "back"] = "back"


def refused(exc: QueueRefused | StoreUnavailable) -> JSONResponse:
    """409 for what the queue refuses (nothing stored), 503 when the host's disk failed (nothing stored)."""
    status = 409 if isinstance(exc, QueueRefused) else 503
    return JSONResponse({"zh": exc.zh, "en": exc.en}, status_code=status)


def own_window(device, window: str) -> None:
    if device.window != window:
        raise HTTPException(
            403,
            {
                "zh": f"此裝置屬於 {device.window or '入口取號機'}，不能操作 {window} 號窗口",
                "en": f"This device is {'window ' + device.window if device.window else 'the entrance kiosk'}; it cannot act for window {window}",
            },
        )


@router.post("/tickets", status_code=201)
def issue(body: TicketRequest, hub: HubDep, device: DeviceDep) -> Any:
    try:
        ticket = hub.issue(body.service, priority=body.priority, press=body.press)
    except (QueueRefused, StoreUnavailable) as exc:
        return refused(exc)
    return {"ticket": ticket_json(ticket)}


# Before the generic route below, which would take "transfer" for an action.
@router.post("/windows/{window}/transfer")
def transfer(window: str, body: TransferRequest, hub: HubDep, device: DeviceDep) -> Any:
    own_window(device, window)
    try:
        outcome = hub.press(
            "transfer",
            window,
            press=body.press,
            service=body.service,
            to_window=body.to_window,
            front=body.position == "front",
        )
    except (QueueRefused, StoreUnavailable) as exc:
        return refused(exc)
    return outcome_json(outcome)


@router.post("/windows/{window}/{action}")
def press(
    window: str, action: Literal["next", "recall", "no-show"], body: PressRequest, hub: HubDep, device: DeviceDep
) -> Any:
    own_window(device, window)
    try:
        outcome = hub.press(action, window, press=body.press)
    except (QueueRefused, StoreUnavailable) as exc:
        return refused(exc)
    return outcome_json(outcome)


@router.get("/services/{code}")
def service_status(code: str, hub: HubDep, device: DeviceDep) -> Any:
    status = hub.queue.status(code)
    if status is None:
        raise HTTPException(404, {"zh": "沒有這項服務", "en": f"No such service: {code}"})
    return status_json(status)


@router.get("/windows/{window}")
def window_state(window: str, hub: HubDep, device: DeviceDep) -> Any:
    """What a window kiosk shows: the number it serves and how many wait in its lines."""
    return hub.window_state(window)
