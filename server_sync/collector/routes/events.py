"""``POST /api/v1/events``: a kiosk pushes one batch; the answer is its ack.

The handler reads the raw body itself (size cap, gzip) and validates it with
pydantic's JSON parser, which is much faster than FastAPI's json.loads-then-validate
path; so the request schema is declared by hand (``openapi_extra``), and ``api.py``
hoists its ``$defs`` into the components, for ``/openapi.json`` to describe the body exactly.
"""

from __future__ import annotations

import asyncio
import zlib
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from server_sync.collector.deps import KioskCredentials, authenticate
from server_sync.collector.ingest import BatchInvalid, Ingestor, TooMuch, prepare
from server_sync.collector.models import Ack, Batch

PATH = "/api/v1/events"
INLINE_BODY = 64 * 1024  # bodies up to this are decoded and validated on the event loop

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "unknown or revoked token"},
    413: {"description": "body over the size limit"},
    415: {"description": "Content-Encoding other than gzip"},
    422: {"description": "the body is not a valid batch; `detail` names each bad field"},
    429: {"description": "the kiosk is sending too fast; send the batch again after Retry-After seconds"},
}

router = APIRouter()


def _too_large(limit: int) -> HTTPException:
    return HTTPException(413, f"請求內容過大 / request body too large (limit {limit} bytes)")


def _body_error(msg: str, type_: str = "value_error") -> RequestValidationError:
    return RequestValidationError([{"loc": ["body"], "msg": msg, "type": type_}])


def decode_body(raw: bytes, encoding: str, limit: int) -> bytes:
    """The JSON bytes of a request body: gunzipped if need be, never more than ``limit`` bytes."""
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        return raw
    if encoding not in ("gzip", "x-gzip"):
        raise HTTPException(415, f"不支援的壓縮方式 / unsupported Content-Encoding {encoding!r}: use gzip")
    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = d.decompress(raw, limit + 1)
    except zlib.error as exc:
        raise _body_error(f"body is not valid gzip: {exc}", "gzip_invalid") from None
    if len(out) > limit or d.unconsumed_tail:
        raise _too_large(limit)
    if not d.eof:
        raise _body_error("gzip body is truncated", "gzip_invalid")
    return out


def _validation_errors(exc: ValidationError) -> list[dict]:
    return [
        {"loc": ["body", *e["loc"]], "msg": e["msg"], "type": e["type"]}
        for e in exc.errors(include_url=False, include_context=False, include_input=False)
    ]


def batch_schema() -> dict:
    """The batch's JSON schema, its ``$defs`` referenced as OpenAPI components."""
    return Batch.model_json_schema(ref_template="#/components/schemas/{model}")


def _validate(body: bytes) -> tuple[Batch, list[float]]:
    """The batch in a JSON body and its events' recorded_at (prepare), or a 422 naming each bad field."""
    try:
        batch = Batch.model_validate_json(body)
        return batch, prepare(batch)
    except ValidationError as exc:
        raise RequestValidationError(_validation_errors(exc)) from None
    except BatchInvalid as exc:
        raise RequestValidationError([{**e, "loc": ["body", *e["loc"]]} for e in exc.errors]) from None


def _parse(raw: bytes, encoding: str, limit: int) -> tuple[Batch, list[float]]:
    return _validate(decode_body(raw, encoding, limit))


async def _batch(raw: bytes, encoding: str, limit: int) -> tuple[Batch, list[float]]:
    """Decode and validate a body: a small one (a kiosk's usual batch, a few KB) on the event loop,
    cheaper than the hop to a worker thread; a large one (a catch-up of 1,000 events) in a thread."""
    if len(raw) > INLINE_BODY:
        return await run_in_threadpool(_parse, raw, encoding, limit)
    body = decode_body(raw, encoding, limit)
    if len(body) > INLINE_BODY:
        return await run_in_threadpool(_validate, body)
    return _validate(body)


@router.post(
    PATH,
    response_model=Ack,
    responses=ERRORS,
    summary="Push one batch of at most 1,000 events",
    openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": batch_schema()}}}},
)
async def post_events(request: Request, creds: KioskCredentials):
    # The app's parts straight from its state (deps.py's getters read the same): each FastAPI
    # dependency costs a request more than the rest of this handler's own work in a storm.
    state = request.app.state
    writer: Ingestor = state.ingestor
    received = writer.clock()  # paired with the batch's clock block: as early as possible
    kiosk = authenticate(state.readers, creds)
    limit = state.config.max_body
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    await state.turns.take()  # a storm's burst is validated a few batches per loop iteration (turns.py)
    batch, recorded = await _batch(b"".join(chunks), request.headers.get("content-encoding", ""), limit)
    try:
        stored = writer.submit(kiosk, batch, recorded, received)
    except TooMuch as exc:
        raise HTTPException(429, str(exc), headers={"Retry-After": str(exc.retry_after)}) from None
    # The writer thread settles the future after its COMMIT; no worker thread waits meanwhile.
    result = await asyncio.wrap_future(stored)
    state.alerts.notify()  # the alert worker reads what arrived at its next round; never blocks or fails the ack
    return JSONResponse(result.ack())
