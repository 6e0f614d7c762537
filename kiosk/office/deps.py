"""What the host's routes share: the hub, and the device a request comes from."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request

from kiosk.office.devices import Device
from kiosk.office.hub import Hub


def get_hub(request: Request) -> Hub:
    return request.app.state.hub


HubDep = Annotated[Hub, Depends(get_hub)]


def require_device(request: Request, hub: HubDep) -> Device:
    """The window or entrance kiosk holding the request's bearer token; 401 otherwise."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    device = hub.device(token.strip()) if scheme.lower() == "bearer" and token.strip() else None
    if device is None:
        raise HTTPException(
            401,
            {
                "zh": "裝置未授權：請用 kiosk host-add-device 取得權杖",
                "en": "Unknown device: get a token with kiosk host-add-device",
            },
            headers={"WWW-Authenticate": "Bearer"},
        )
    return device


DeviceDep = Annotated[Device, Depends(require_device)]
