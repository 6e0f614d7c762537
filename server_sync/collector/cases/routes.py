"""The case endpoints (docs/protocol-v1.md): kiosks pull changes, the case-management system pushes them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from server_sync.collector import bodies
from server_sync.collector.admin_tokens import admin_for_token  # `kiosk-collector add-api-token NAME`
from server_sync.collector.cases import codes
from server_sync.collector.cases.parsing import case_from_json
from server_sync.collector.cases.pull import DEFAULT_PAGE, MAX_PAGE, delta
from server_sync.collector.cases.record import Case, CaseError, check_case_no
from server_sync.collector.cases.served import units_served
from server_sync.collector.cases.storing import apply_cases, refresh
from server_sync.collector.deps import Readers, Writer, authenticate

MAX_PUSH = 1_000
MAX_BODY = 4_000_000

_bearer = HTTPBearer(auto_error=False, description="a kiosk token (GET) or an admin API token (PUT)")
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]

router = APIRouter()


@router.get(
    "/api/v1/cases",
    summary="Case changes after a revision (kiosks)",
    responses={401: {"description": "unknown or revoked token"}},
)
def get_cases(
    readers: Readers,
    writer: Writer,
    creds: Credentials,
    since: int = Query(0, ge=0, le=2**62),
    limit: int = Query(DEFAULT_PAGE, ge=1, le=MAX_PAGE),
):
    kiosk = authenticate(readers, creds)
    with writer.lock:
        refresh(writer.conn, writer.clock())
    with readers.connection() as conn:
        body = delta(conn, since, limit, units=units_served(conn, kiosk.id))
    return JSONResponse(body, headers={"Cache-Control": "no-store"})


def _unprocessable(errors: list[dict]) -> JSONResponse:
    return JSONResponse({"detail": errors}, status_code=422)


@router.put(
    "/api/v1/admin/cases",
    summary="Add, replace or remove cases (case-management system)",
    responses={
        401: {"description": "unknown or revoked admin token"},
        422: {"description": "`detail` names every bad field, by index"},
    },
)
async def put_cases(request: Request, readers: Readers, writer: Writer, creds: Credentials):
    unauthorized = HTTPException(
        401, "管理權杖無效或已撤銷 / unknown or revoked admin API token", headers={"WWW-Authenticate": "Bearer"}
    )
    if creds is None or creds.scheme.lower() != "bearer":
        raise unauthorized
    with readers.connection() as conn:
        admin = admin_for_token(conn, creds.credentials)
        min_digits = codes.min_digits(conn)
    if admin is None:
        raise unauthorized
    who = admin.name
    raw = await bodies.read_capped(request, MAX_BODY)  # 413 while streaming: never more than the cap held
    try:
        body = await run_in_threadpool(bodies.loads, raw)  # a 4 MB parse stays off the event loop
    except ValueError as exc:  # also bodies.JsonTooDeep: nesting too deep for the parser
        return _unprocessable([{"loc": ["body"], "msg": f"invalid JSON: {exc}", "type": "json_invalid"}])
    if not isinstance(body, dict) or set(body) - {"cases", "remove"}:
        return _unprocessable(
            [{"loc": ["body"], "msg": 'expected an object with "cases" and/or "remove"', "type": "value_error"}]
        )
    items, remove = body.get("cases", []), body.get("remove", [])
    errors = []
    if not isinstance(items, list) or len(items) > MAX_PUSH:
        errors.append(
            {"loc": ["body", "cases"], "msg": f"expected a list of at most {MAX_PUSH} cases", "type": "value_error"}
        )
        items = []
    if not isinstance(remove, list) or len(remove) > 10_000:
        errors.append(
            {"loc": ["body", "remove"], "msg": "expected a list of at most 10000 case numbers", "type": "value_error"}
        )
        remove = []
    cases: list[Case] = []
    seen: dict[str, int] = {}  # case number: its index in ``cases``
    for i, item in enumerate(items):
        case, problems = case_from_json(item, i, min_digits)
        errors += [
            {"loc": ["body", *p.field.split(".")], "msg": f"{p.zh} / {p.en}", "type": "value_error"} for p in problems
        ]
        if case is not None:
            if case.case_no in seen:
                errors.append(
                    {
                        "loc": ["body", "cases", str(i), "case_no"],
                        "msg": f"同一案件重複 / same case as cases.{seen[case.case_no]}",
                        "type": "value_error",
                    }
                )
            seen[case.case_no] = i
            cases.append(case)
    removals = []
    for i, value in enumerate(remove):
        try:
            removals.append(check_case_no(value))
        except CaseError as exc:
            errors.append({"loc": ["body", "remove", str(i)], "msg": str(exc), "type": "value_error"})
    if errors:
        return _unprocessable(errors)

    result = await run_in_threadpool(
        lambda: apply_cases(
            writer.conn, cases, remove=removals, now=writer.clock(), source=f"api:{who}", write_lock=writer.lock
        )
    )
    return JSONResponse({"protocol": 1, **result.as_json()})
