"""The annual self-evaluation, item by item: the page (each unit's items, evidence, narrative,
attachments, submission), a manager's items table, and the document as ODT, PDF, ODS or XLSX.

Any administrator account but a tester's writes a unit's draft and submits it (the audit log
names who); reopening a submitted evaluation and defining the year's items are a manager's.
"""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import quote, urlencode

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response
from starlette.datastructures import UploadFile

from server_sync.collector import options
from server_sync.collector.admin import accounts, evaluation_files, exports
from server_sync.collector.admin.deps import (
    FORBIDDEN_ROLE,
    OFFICE,
    ApiSession,
    Banners,
    ManagerPost,
    MaybeSession,
    PageSession,
    Post,
    State,
    back,
    checked_post,
    render,
    templates,
)
from server_sync.collector.deps import Readers
from server_sync.collector.evaluation import document
from server_sync.collector.evaluation import items as items_mod
from server_sync.collector.evaluation import submission as sub_mod
from server_sync.collector.evaluation.evidence import lines as evidence_lines
from server_sync.collector.evaluation.items import EVIDENCE, Item, ItemError

router = APIRouter()
PAGE = "/admin/self-evaluation"
UPLOAD_LIMIT = sub_mod.MAX_ATTACHMENT_BYTES + 64 * 1024  # the file plus the form's other fields


def _now() -> datetime:
    return datetime.now(UTC)


def _year(text: str | int | None) -> int:
    try:
        year = int(text or datetime.now(UTC).year)
    except ValueError:
        raise HTTPException(422, "年度錯誤 / year must be a number") from None
    if not 2000 <= year <= 2100:
        raise HTTPException(422, "年度錯誤 / year must be 2000-2100")
    return year


def _page_url(year: int, unit: str) -> str:
    return PAGE + "?" + urlencode({"year": year, "unit": unit})


@router.get("/self-evaluation")
def self_eval_page(request: Request, s: PageSession, readers: Readers, banners: Banners):
    year = _year(request.query_params.get("year"))
    unit = request.query_params.get("unit", "")
    now = _now()
    with readers.connection() as conn:
        min_n = options.get(conn, "report.min_n")
        cur, prev = exports.self_evaluation(conn, year, unit, min_n)
        part = document.unit_part(conn, year, unit, min_n, now)
        units = document.units(conn, year)
        statuses = [(u, sub_mod.get(conn, year, u)) for u in units]
        items, default_items = items_mod.items_for(conn, year)
    if unit and unit not in units:
        units = sorted([*units, unit])
    return render(
        "self_evaluation.html",
        request,
        s,
        units=units,
        year=year,
        unit=unit,
        part=part,
        statuses=statuses,
        default_items=default_items,
        total_points=sum(i.points for i in items),
        evidence_lines=evidence_lines,
        deadline=sub_mod.deadline_text(year),
        past_deadline=now >= sub_mod.deadline(year),
        allowed=sub_mod.ALLOWED,
        max_mb=sub_mod.MAX_ATTACHMENT_BYTES // (1024 * 1024),
        headers=exports.SELF_EVAL_HEADERS,
        rows=exports.self_evaluation_rows(cur, prev),
        note=exports.significance_note(cur, prev),
        years=list(range(datetime.now(UTC).year + 1, 2019, -1)),
        qs=urlencode({"year": year, "unit": unit}),
        **banners,
    )


async def _unit_post(request: Request, session, *, limit: int = 256 * 1024, max_files: int = 0) -> Post:
    """A unit's change: any account but a tester's, CSRF checked, body capped."""
    post = await checked_post(request, session, manager=False, limit=limit, max_files=max_files)
    if post.session.user.is_tester:
        raise HTTPException(403, FORBIDDEN_ROLE)
    return post


def _form_target(form) -> tuple[int, str]:
    return _year(str(form.get("year", ""))), str(form.get("unit", "")).strip()


@router.post("/self-evaluation/narratives")
async def save_narratives(request: Request, session: MaybeSession, state: State):
    post = await _unit_post(request, session)
    form, user = post.form, post.session.user
    year, unit = _form_target(form)
    texts = {k[2:]: str(v) for k, v in form.items() if k.startswith("n_") and isinstance(v, str)}
    try:
        with state.writing() as conn:
            codes = [i.code for i in items_mod.items_for(conn, year)[0]]
            changed = sub_mod.save_narratives(
                conn, year, unit, texts, codes, user.username, _now(), manager=user.is_manager
            )
            accounts.audit(conn, user.username, "self_evaluation_narratives", f"{year} {unit}", {"items": changed})
    except sub_mod.EvaluationError as exc:
        return back(_page_url(year, unit), error=str(exc))
    return back(_page_url(year, unit), f"已儲存 saved ({len(changed)} 項 items changed)")


@router.post("/self-evaluation/attachments")
async def add_attachment(request: Request, session: MaybeSession, state: State):
    post = await _unit_post(request, session, limit=UPLOAD_LIMIT, max_files=1)
    form, user = post.form, post.session.user
    year, unit = _form_target(form)
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return back(_page_url(year, unit), error="請選擇檔案 / choose a file")
    data = await upload.read()
    try:
        with state.writing() as conn:
            codes = [i.code for i in items_mod.items_for(conn, year)[0]]
            att = sub_mod.add_attachment(
                conn,
                year,
                unit,
                str(form.get("item", "")),
                upload.filename,
                data,
                user.username,
                _now(),
                item_codes=codes,
                manager=user.is_manager,
            )
            accounts.audit(
                conn,
                user.username,
                "self_evaluation_attach",
                f"{year} {unit}",
                {"id": att.id, "item": att.item, "file": att.filename, "bytes": att.size, "sha256": att.sha256},
            )
    except sub_mod.EvaluationError as exc:
        return back(_page_url(year, unit), error=str(exc))
    return back(_page_url(year, unit), f"已附加 attached {att.filename}")


@router.get("/self-evaluation/attachments/{attachment_id}")
def get_attachment(attachment_id: int, s: ApiSession, readers: Readers):
    with readers.connection() as conn:
        found = sub_mod.attachment_data(conn, attachment_id)
    if found is None:
        raise HTTPException(404, "沒有此附件 / no such attachment")
    att, _, _, data = found
    return Response(
        data,
        media_type=att.mime,
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(att.filename)}",
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


@router.post("/self-evaluation/attachments/{attachment_id}/delete")
async def delete_attachment(attachment_id: int, request: Request, session: MaybeSession, state: State):
    post = await _unit_post(request, session)
    user = post.session.user
    year, unit = _form_target(post.form)
    try:
        with state.writing() as conn:
            att = sub_mod.remove_attachment(conn, attachment_id, user.username, _now(), manager=user.is_manager)
            accounts.audit(
                conn, user.username, "self_evaluation_detach", f"{year} {unit}", {"id": att.id, "file": att.filename}
            )
    except sub_mod.EvaluationError as exc:
        return back(_page_url(year, unit), error=str(exc))
    return back(_page_url(year, unit), f"已移除 removed {att.filename}")


@router.post("/self-evaluation/submit")
async def submit(request: Request, session: MaybeSession, state: State):
    post = await _unit_post(request, session)
    user = post.session.user
    year, unit = _form_target(post.form)
    try:
        with state.writing() as conn:
            sub = sub_mod.submit(conn, year, unit, user.username, _now(), manager=user.is_manager)
            accounts.audit(conn, user.username, "self_evaluation_submit", f"{year} {unit}", {"late": sub.late})
    except sub_mod.EvaluationError as exc:
        return back(_page_url(year, unit), error=str(exc))
    return back(_page_url(year, unit), f"已送出並鎖定 submitted and locked: {unit} {year}")


@router.post("/self-evaluation/reopen")
async def reopen(post: ManagerPost, state: State):
    user = post.session.user
    year, unit = _form_target(post.form)
    try:
        with state.writing() as conn:
            sub_mod.reopen(conn, year, unit, user.username, _now())
            accounts.audit(conn, user.username, "self_evaluation_reopen", f"{year} {unit}")
    except sub_mod.EvaluationError as exc:
        return back(_page_url(year, unit), error=str(exc))
    return back(_page_url(year, unit), f"已退回為草稿 reopened as a draft: {unit} {year}")


# -- a manager's items table ----------------------------------------------------------------------
@router.get("/self-evaluation/items")
def items_page(request: Request, s: PageSession, readers: Readers, banners: Banners):
    year = _year(request.query_params.get("year"))
    with readers.connection() as conn:
        items, default = items_mod.items_for(conn, year)
    return render(
        "evaluation_items.html",
        request,
        s,
        year=year,
        items=items,
        default=default,
        blank=3,
        evidence=EVIDENCE,
        total=sum(i.points for i in items),
        **banners,
    )


def _items_from(form) -> list[Item]:
    out = []
    for i in range(200):
        code = str(form.get(f"code_{i}", "")).strip()
        if f"code_{i}" not in form:
            break
        if not code and not str(form.get(f"title_{i}", "")).strip():
            continue  # an empty row
        try:
            points = float(str(form.get(f"points_{i}", "0")).strip() or 0)
        except ValueError:
            raise ItemError(f"{code}: 配分須為數字 / points must be a number") from None
        evidence = tuple(
            e.strip() for e in str(form.get(f"evidence_{i}", "")).replace("，", ",").split(",") if e.strip()
        )
        out.append(Item(code, str(form.get(f"section_{i}", "")), str(form.get(f"title_{i}", "")), points, evidence))
    return out


@router.post("/self-evaluation/items")
async def save_items(post: ManagerPost, state: State):
    year = _year(str(post.form.get("year", "")))
    url = f"{PAGE}/items?year={year}"
    try:
        items = _items_from(post.form)
        with state.writing() as conn:
            items_mod.set_items(conn, year, items, post.session.user.username)
            accounts.audit(
                conn,
                post.session.user.username,
                "self_evaluation_items",
                str(year),
                [{"code": i.code, "points": i.points, "evidence": list(i.evidence)} for i in items],
            )
    except ItemError as exc:
        return back(url, error=str(exc))
    return back(url, f"已儲存 {year} 年評核項目 saved {len(items)} items")


# -- the document -------------------------------------------------------------------------------
@router.get("/self-evaluation.{ext}")
def self_eval_file(ext: str, s: ApiSession, readers: Readers, year: int | None = None, unit: str = ""):
    year = _year(year)
    if ext not in evaluation_files.FORMATS:
        raise HTTPException(404, "格式須為 odt、pdf、ods 或 xlsx / format must be odt, pdf, ods or xlsx")
    with readers.connection() as conn:
        min_n = options.get(conn, "report.min_n")
        b = evaluation_files.bundle(conn, year, unit, min_n, OFFICE, _now())
        body = evaluation_files.render(conn, b, ext, lambda t, **ctx: templates.get_template(t).render(**ctx))
    fname = f"self-evaluation-{year}-{unit or 'office'}.{ext}"
    return Response(
        body,
        media_type=evaluation_files.FORMATS[ext],
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(fname)}", "Cache-Control": "no-store"},
    )
