"""Swagger UI for the collector's API, when `serve --api-docs` asks for it: logged-in administrators only.

Off by default: the page loads Swagger UI from a CDN (jsDelivr), which an intranet
collector should not depend on and which would otherwise run script on the same origin
as /admin. The schema itself stays at /openapi.json.
"""

from __future__ import annotations

import base64
import hashlib
import re

from fastapi import APIRouter
from fastapi.openapi.docs import get_swagger_ui_html

from server_sync.collector.admin.deps import PageSession

router = APIRouter()
CDN = "https://cdn.jsdelivr.net"


def _policy(html: str) -> str:
    """This page's own CSP: the CDN's script and style sheet, and its one inline script by hash."""
    inline = re.findall(r"<script>(.*?)</script>", html, flags=re.S)
    hashes = " ".join("'sha256-%s'" % base64.b64encode(hashlib.sha256(s.encode()).digest()).decode() for s in inline)
    return (
        f"default-src 'none'; script-src {CDN} {hashes}; style-src {CDN} 'unsafe-inline'; "
        "img-src 'self' data: https://fastapi.tiangolo.com; connect-src 'self'; base-uri 'none'; "
        "form-action 'self'; frame-ancestors 'none'"
    )


@router.get("/api-docs")
def api_docs(s: PageSession):
    page = get_swagger_ui_html(openapi_url="/openapi.json", title="counter-kiosk collector API")
    page.headers["Content-Security-Policy"] = _policy(bytes(page.body).decode())
    page.headers["Cache-Control"] = "no-store"
    return page
