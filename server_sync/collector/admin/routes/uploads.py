"""The /admin/services and /admin/cases pages: see and replace the service directory, import cases.

Both uploads go through the very functions the command line uses
(``server_sync.wire.directory`` validation for ``import-services``, ``cases.parsing.parse_csv`` and
``cases.storing.apply_cases`` for ``import-cases``), so a file the CLI refuses is refused
here with the same problems, and nothing is stored unless the file is accepted.
Case data is personal: the cases page is for managers only and never shows a
verification code or an unmasked name.

Heavy work stays off the event loop (kiosk batches are answered meanwhile): parsing, the
import and rendering the result run in worker threads. A case file is read to at most
``MAX_ROWS`` rows and its page lists at most ``MAX_LISTED`` problems, with a count of the rest.
"""

from __future__ import annotations

import json
from pathlib import PurePath

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from server_sync.collector import services as svc
from server_sync.collector.admin import accounts
from server_sync.collector.admin.deps import (
    FORBIDDEN_ROLE,
    UNAUTH,
    Banners,
    ManagerPageSession,
    PageSession,
    State,
    back,
    checked_post,
    render,
    session_of,
)
from server_sync.collector.bodies import replayed
from server_sync.collector.cases import codes, parsing, storing
from server_sync.collector.cases.record import Problem
from server_sync.collector.deps import Readers
from server_sync.wire.directory import DirectoryError

MAX_UPLOAD = 20 * 1024 * 1024  # bytes of the whole form: a year of cases is a few megabytes
DRAIN_LIMIT = 64 * 1024 * 1024  # read (and drop) this much of a too-large upload so the browser gets the answer
TOO_LARGE = (
    f"檔案過大（上限 {MAX_UPLOAD // 2**20} MB），未變更任何資料 / file too large "
    f"(limit {MAX_UPLOAD // 2**20} MB): nothing changed"
)
NO_FILE = "請選擇要匯入的檔案 / choose a file to import"
RECENT_CASES = 20
MAX_ROWS = 50_000  # rows of one case file: a year of an office's cases is a few thousand
MAX_LISTED = 200  # problems listed on the page; the rest are counted
TOO_MANY_ROWS = (
    f"檔案超過 {MAX_ROWS} 列，未匯入任何案件（請分批匯入） / more than {MAX_ROWS} rows: nothing "
    f"imported (split the file)"
)


class TooManyRows(Exception):
    """Raised from parse_csv's progress callback: the file is over MAX_ROWS rows."""


async def read_limited(request: Request, limit: int = MAX_UPLOAD) -> Request | None:
    """The request again with its body read, or None when the body is over ``limit`` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > DRAIN_LIMIT:
        return None
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > DRAIN_LIMIT:
            break
        if size <= limit:
            chunks.append(chunk)
    if size > limit:
        return None
    return replayed(request, b"".join(chunks))


def _filename(upload: UploadFile) -> str:
    # Browsers send a bare name, other clients may send a path: keep the last part, bounded.
    return PurePath((upload.filename or "").replace("\\", "/")).name[:120]


def directory_problems(exc: DirectoryError) -> list[dict]:
    """server_sync.wire.directory's problems ("line 5" in a CSV, "item 3" in JSON) as rows for the page."""
    rows = []
    for p in exc.problems:
        kind, _, num = p.where.partition(" ")
        where_zh, where_en = {"line": (f"第 {num} 行", p.where), "item": (f"第 {num} 筆", p.where)}.get(
            kind, ("檔案", "file")
        )
        rows.append(
            {"where_zh": where_zh, "where_en": where_en, "field": p.field, "case_no": "", "zh": p.zh, "en": p.en}
        )
    return rows


def case_problems(problems: list[Problem]) -> list[dict]:
    return [
        {
            "where_zh": f"第 {p.line} 行" if p.line else "檔案",
            "where_en": f"line {p.line}" if p.line else "file",
            "field": p.field,
            "case_no": p.case_no,
            "zh": p.zh,
            "en": p.en,
        }
        for p in problems
    ]


def parse_directory(raw: bytes, filename: str):
    """The uploaded file as a Directory (JSON by its .json name, CSV otherwise); raises DirectoryError."""
    if filename.lower().endswith(".json"):
        return svc.parse_body(raw.removeprefix(b"\xef\xbb\xbf"), "application/json")
    return svc.parse_body(raw, "text/csv")


def parse_capped(raw: bytes, min_digits: int) -> parsing.Parsed:
    """parse_csv, stopped (TooManyRows) once the file is past MAX_ROWS rows."""
    rows = 0

    def count(n: int) -> None:
        nonlocal rows
        rows += n
        if rows > MAX_ROWS:
            raise TooManyRows()

    return parsing.parse_csv(raw, progress=count, min_digits=min_digits)


def cases_summary(conn) -> dict:
    row = conn.execute(
        "SELECT coalesce(sum(removed = 0), 0), coalesce(sum(removed = 0 AND closed_date IS NULL), 0),"
        " coalesce(sum(removed = 0 AND closed_date IS NOT NULL), 0), coalesce(sum(published), 0),"
        " coalesce(sum(removed), 0), max(updated_at) FROM cases"
    ).fetchone()
    revision = conn.execute("SELECT value FROM meta WHERE key = 'cases_revision'").fetchone()
    return {
        "cases": row[0],
        "open": row[1],
        "closed": row[2],
        "published": row[3],
        "removed": row[4],
        "updated_at": row[5],
        "revision": int(revision[0]) if revision else 0,
        "keep_closed_days": storing.keep_closed_days(conn),
    }


def recent_cases(conn, limit: int = RECENT_CASES) -> list[dict]:
    """The latest changed cases, as a manager may see them: masked names, never the verification code."""
    rows = []
    for case_no, ctype, masked, unit, stages, closed, published in conn.execute(
        "SELECT case_no, case_type, name_masked, unit, stages, closed_date, published FROM cases"
        " WHERE removed = 0 ORDER BY revision DESC LIMIT ?",
        [limit],
    ):
        stage = (json.loads(stages) or [{}])[-1]
        rows.append(
            {
                "case_no": case_no,
                "case_type": ctype,
                "name": masked,
                "unit": unit,
                "stage": stage.get("stage", ""),
                "stage_date": stage.get("date", ""),
                "closed": closed,
                "published": bool(published),
            }
        )
    return rows


router = APIRouter()


# -- services -------------------------------------------------------------------------


def services_page(request: Request, s, readers, *, status: int = 200, **ctx) -> Response:
    with readers.connection() as conn:
        revision, body = svc.current(conn)
        history = svc.revisions(conn)[:10]
    return render(
        "services.html",
        request,
        s,
        status=status,
        revision=revision,
        services=body["services"],
        history=history,
        limit_mb=MAX_UPLOAD // 2**20,
        **ctx,
    )


@router.get("/services")
def services_get(request: Request, s: PageSession, readers: Readers, banners: Banners):
    return services_page(request, s, readers, **banners)


async def manager_upload(request: Request, readers, page, **page_kw):
    """A manager's upload form, checked: 401/403, size (413), CSRF, a file chosen (422).
    Returns (session, form, filename, bytes), or the response to send instead.

    Not a dependency: the size is checked before the form is parsed, and a refusal is the page."""
    s = await session_of(request, readers)
    if s is None:
        raise HTTPException(401, UNAUTH)
    if not s.user.is_manager:
        raise HTTPException(403, FORBIDDEN_ROLE)
    full = await read_limited(request)
    if full is None:
        return await run_in_threadpool(lambda: page(request, s, readers, status=413, err=TOO_LARGE, **page_kw))
    post = await checked_post(full, s, limit=MAX_UPLOAD, max_files=1)
    upload = post.form.get("file")
    if not isinstance(upload, UploadFile) or not _filename(upload):
        return await run_in_threadpool(lambda: page(request, s, readers, status=422, err=NO_FILE, **page_kw))
    return s, post.form, _filename(upload), await upload.read()


@router.post("/services")
async def services_post(request: Request, readers: Readers, state: State):
    checked = await manager_upload(request, readers, services_page)
    if not isinstance(checked, tuple):
        return checked
    s, _form, name, raw = checked
    try:
        directory = await run_in_threadpool(parse_directory, raw, name)
    except DirectoryError as exc:
        problems = directory_problems(exc)
        return await run_in_threadpool(
            lambda: services_page(
                request,
                s,
                readers,
                status=422,
                problems=problems[:MAX_LISTED],
                problems_total=len(problems),
                upload_name=name,
                err=f"{name}：{len(problems)} 個問題，服務目錄未變更 / {len(problems)} problem(s): "
                f"the directory is unchanged",
            )
        )
    except RecursionError:
        return await run_in_threadpool(
            lambda: services_page(
                request,
                s,
                readers,
                status=422,
                upload_name=name,
                err=f"{name}：JSON 巢狀層數過多，服務目錄未變更 / JSON nested too deeply: the directory is unchanged",
            )
        )

    def save():
        with state.write_lock:
            before, _ = svc.current(state.write_conn)
            rev = svc.store(state.write_conn, directory, f"admin {s.user.username}: {name}")
            accounts.audit(
                state.write_conn,
                s.user.username,
                "import_services",
                name,
                {"revision": rev, "services": len(directory.services), "changed": rev != before},
            )
            return rev, rev != before

    rev, changed = await run_in_threadpool(save)
    n = len(directory.services)
    if changed:
        return back(
            "/admin/services",
            f"已更新服務目錄：{n} 項服務，版本 {rev} / directory replaced: {n} services, revision {rev}",
        )
    return back(
        "/admin/services", f"內容與目前相同，版本仍為 {rev} / same as the current directory: still revision {rev}"
    )


# -- cases ----------------------------------------------------------------------------


def cases_page(request: Request, s, readers, *, status: int = 200, **ctx) -> Response:
    with readers.connection() as conn:
        summary, recent = cases_summary(conn), recent_cases(conn)
    return render(
        "cases.html", request, s, status=status, summary=summary, recent=recent, limit_mb=MAX_UPLOAD // 2**20, **ctx
    )


@router.get("/cases")
def cases_get(request: Request, s: ManagerPageSession, readers: Readers):
    return cases_page(request, s, readers)


@router.get("/cases/template.csv")
def cases_template(s: ManagerPageSession):
    return Response(
        parsing.TEMPLATE.encode("utf-8-sig"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="cases-template.csv"'},
    )


@router.post("/cases")
async def cases_post(request: Request, readers: Readers, state: State):
    checked = await manager_upload(request, readers, cases_page)
    if not isinstance(checked, tuple):
        return checked
    s, form, name, raw = checked
    skip_invalid = bool(form.get("skip_invalid"))
    with readers.connection() as conn:
        min_digits = codes.min_digits(conn)
    try:
        parsed = await run_in_threadpool(parse_capped, raw, min_digits)
    except TooManyRows:
        return await run_in_threadpool(
            lambda: cases_page(
                request,
                s,
                readers,
                status=422,
                upload_name=name,
                skip_invalid=skip_invalid,
                err=f"{name}：{TOO_MANY_ROWS}",
            )
        )
    total = len(parsed.problems)
    problems = case_problems(parsed.problems[:MAX_LISTED])
    # The command line's rule (kiosk-collector import-cases): all or nothing unless skip-invalid,
    # and then every case with a bad row is skipped whole.
    good = [c for no, c in parsed.cases.items() if no not in parsed.bad_cases]
    if parsed.problems and (not skip_invalid or not good):
        hint = (
            ""
            if skip_invalid
            else '（勾選「略過有錯誤的案件」可匯入其餘 / tick "skip invalid rows" to import the good cases）'
        )
        return await run_in_threadpool(
            lambda: cases_page(
                request,
                s,
                readers,
                status=422,
                problems=problems,
                problems_total=total,
                upload_name=name,
                skip_invalid=skip_invalid,
                err=f"{name}：{total} 個問題，未匯入任何案件 / {total} problem(s): nothing imported{hint}",
            )
        )

    def save():
        result = storing.apply_cases(
            state.write_conn, good, source=f"admin:{s.user.username}", write_lock=state.write_lock
        )
        with state.write_lock:
            accounts.audit(
                state.write_conn,
                s.user.username,
                "import_cases",
                name,
                {
                    **result.as_json(),
                    "rows": parsed.rows,
                    "skipped_cases": len(parsed.bad_cases),
                    "bad_rows": parsed.bad_rows,
                    "skip_invalid": skip_invalid,
                },
            )
        return result

    r = await run_in_threadpool(save)
    msg = (
        f"已匯入 {name}：新增 {r.added}、更新 {r.updated}、未變 {r.unchanged}、略過 {len(parsed.bad_cases)} 件，"
        f"版本 {r.revision} / imported: added {r.added}, updated {r.updated}, unchanged {r.unchanged}, "
        f"skipped {len(parsed.bad_cases)}; revision {r.revision}"
    )
    return await run_in_threadpool(
        lambda: cases_page(
            request,
            s,
            readers,
            msg=msg,
            problems=problems,
            problems_total=total,
            upload_name=name,
            skip_invalid=skip_invalid,
            result=r,
        )
    )
