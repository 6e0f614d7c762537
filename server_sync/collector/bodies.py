"""Request bodies read with a cap before anything parses them, and JSON that cannot crash a handler.

A form or JSON body is read here first: a declared ``Content-Length`` over the cap is refused
at once, a streamed (chunked) body as soon as the count passes it, so nothing large is ever
buffered or spooled to disk. Only then is the form parsed, from the bytes already read.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import HTTPException, Request
from starlette.datastructures import FormData

LOGIN_LIMIT = 4 * 1024  # bytes: a username, a password, two tokens
FORM_LIMIT = 64 * 1024  # bytes: any other admin form (notes, settings, rules)
MAX_FIELDS = 100


class JsonTooDeep(ValueError):
    """JSON nested deeper than the parser can follow."""


def too_large(limit: int) -> HTTPException:
    return HTTPException(413, f"請求內容過大 / request body too large (limit {limit} bytes)")


async def read_capped(request: Request, limit: int) -> bytes:
    """The whole body, or 413 as soon as it is known to be over ``limit`` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large(limit)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def replayed(request: Request, body: bytes) -> Request:
    """The request again, its body the bytes already read (so a form parser sees them once more)."""
    sent = False

    async def receive():
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return Request(request.scope, receive=receive)


async def capped_form(request: Request, limit: int, *, max_files: int = 0) -> FormData:
    """The request's form, parsed only once its body is known to be at most ``limit`` bytes."""
    body = await read_capped(request, limit)
    return await replayed(request, body).form(max_files=max_files, max_fields=MAX_FIELDS)


def loads(raw: bytes | str) -> Any:
    """json.loads; raises JsonTooDeep (a ValueError) where json.loads would raise RecursionError."""
    try:
        return json.loads(raw)
    except RecursionError:
        raise JsonTooDeep("JSON 巢狀層數過多 / JSON nested too deeply") from None
