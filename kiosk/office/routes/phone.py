"""The visitor's place on their phone: /t/<token> from the ticket's QR code.

The token is random (96 bits), so a ticket's page cannot be guessed from its number; the
page shows the number, its line and the wait, never anything about the visitor.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException
from fastapi.responses import HTMLResponse

from kiosk.office.deps import HubDep
from kiosk.office.routes.display import page

router = APIRouter()


@router.get("/t/{token}.json")
def ticket_json(token: str, hub: HubDep) -> Any:
    view = hub.ticket_view(token)
    if view is None:
        raise HTTPException(
            404,
            {"zh": "找不到這張號碼牌（號碼每天重新開始）", "en": "No such ticket today (numbers start again each day)"},
        )
    return view


@router.get("/t/{token}", response_class=HTMLResponse)
def ticket_page(token: str) -> HTMLResponse:
    return page("ticket.html")
