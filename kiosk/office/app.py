"""The queue host's web app: the devices' API, the wall display and the phone page (docs/queue.md)."""

from __future__ import annotations

from fastapi import FastAPI

from kiosk.office.hub import Hub
from kiosk.office.routes import devices, display, phone
from kiosk.version import __version__


def create_app(hub: Hub) -> FastAPI:
    app = FastAPI(
        title="counter-kiosk queue host", version=__version__, docs_url=None, redoc_url=None, openapi_url=None
    )
    app.state.hub = hub
    app.include_router(devices.router)
    app.include_router(display.router)
    app.include_router(phone.router)
    return app
