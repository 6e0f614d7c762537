"""Conditional GETs: does a request's If-None-Match name the current ETag?"""

from __future__ import annotations

from typing import Any

# The type FastAPI's ``responses=`` takes, so routes can spread it beside their own codes.
NOT_MODIFIED: dict[int | str, dict[str, Any]] = {304: {"description": "If-None-Match names the current ETag"}}


def matches(if_none_match: str | None, etag: str) -> bool:
    """True if the header lists ``etag`` (weak or strong) or ``*``."""
    if if_none_match is None:
        return False
    tags = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
    return etag in tags or "*" in tags
