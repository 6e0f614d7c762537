"""Telephone-courtesy tests (電話禮貌測試): the tester's form and own tests, the reports, the sheet.

Who sees what (docs/admin.md "Telephone courtesy"): a tester the form and the tests they
recorded, nothing else; a viewer the reports and exports; a manager all that plus voiding a
test and changing the sheet. Every write is a CSRF-checked POST and goes into the audit log.
"""

from __future__ import annotations

import json
from datetime import datetime
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from server_sync.collector import odf
from server_sync.collector.admin import accounts, exports
from server_sync.collector.admin.courtesy_chart import trend_svg
from server_sync.collector.admin.deps import (
    AnyPageSession,
    AnyPost,
    ApiSession,
    Banners,
    ManagerPageSession,
    ManagerPost,
    PageSession,
    State,
    back,
    render,
)
from server_sync.collector.courtesy import sheet as sheetmod
from server_sync.collector.courtesy import store
from server_sync.collector.courtesy.scores import BAND_EN, yearly_scores
from server_sync.collector.deps import Readers, Writer

router = APIRouter()
OFFICE_TZ = ZoneInfo("Asia/Taipei")
HOME = "/admin/courtesy"
FORBIDDEN_VIEWER = "檢視者不能填寫測試 / a viewer reads the reports; testers and managers record tests"
EXPORT_MIMES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "ods": odf.ODS_MIME,
}


def _today(writer) -> datetime:
    return datetime.fromtimestamp(writer.clock(), OFFICE_TZ)


def _kind(value: str | None) -> str:
    return value if value in sheetmod.KINDS else "unit"


@router.get("/courtesy")
def form_page(request: Request, s: AnyPageSession, readers: Readers, writer: Writer, banners: Banners):
    """The form (testers and managers) and the tests this account recorded."""
    if not (s.user.is_tester or s.user.is_manager):
        return RedirectResponse(f"{HOME}/report", status_code=303)
    kind = _kind(request.query_params.get("kind"))
    now = _today(writer)
    with readers.connection() as conn:
        _, sheet = store.current_sheet(conn)
        mine = store.tests(conn, tester=s.user.username, limit=200)
        units = store.units(conn, s.user.username)
    return render(
        "courtesy_form.html",
        request,
        s,
        kind=kind,
        kinds={k: sheet[k]["label"] for k in sheetmod.KINDS},
        part=sheet[kind],
        marks=sheetmod.MARK_LABELS,
        auto=sheetmod.AUTO_SPEED,
        units=units,
        now=now.strftime("%Y-%m-%dT%H:%M"),
        mine=mine,
        band_en=BAND_EN,
        **banners,
    )


def _int_or_none(text: str, what: str) -> int | None:
    text = text.strip()
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        raise sheetmod.SheetError(f"{what}須為整數 must be a whole number") from None


def _float_or_none(text: str, what: str) -> float | None:
    text = text.strip()
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        raise sheetmod.SheetError(f"{what}須為數字 must be a number") from None


@router.post("/courtesy/tests")
async def add_test(post: AnyPost, state: State, writer: Writer):
    s, form = post.session, post.form
    if not (s.user.is_tester or s.user.is_manager):
        raise HTTPException(403, FORBIDDEN_VIEWER)
    kind = _kind(str(form.get("kind", "")))
    try:
        test = store.NewTest(
            unit=str(form.get("unit", "")),
            kind=kind,
            called_at=str(form.get("called_at", "")),
            rings=_int_or_none(str(form.get("rings", "")), "鈴響聲數 rings "),
            seconds=_float_or_none(str(form.get("seconds", "")), "接聽秒數 seconds "),
            marks={k[5:]: str(v) for k, v in form.items() if k.startswith("mark_")},
            notes=str(form.get("notes", "")),
        )
        with state.writing() as conn:
            tid = store.record(conn, test, s.user.username, clock=writer.clock)
            row = store.get(conn, tid)
            accounts.audit(
                conn,
                s.user.username,
                "add_courtesy_test",
                str(tid),
                {"unit": test.unit.strip(), "kind": kind, "called_at": test.called_at, "score": row["score"]},
            )
    except sheetmod.SheetError as exc:
        return back(f"{HOME}?kind={kind}", error=str(exc))
    return back(f"{HOME}?kind={kind}", f"已記錄測試 #{tid}：{row['score']:g} 分 {row['band']} test {tid} recorded")


@router.post("/courtesy/tests/{test_id}/void")
async def void_test(test_id: int, post: ManagerPost, state: State, writer: Writer):
    s = post.session
    try:
        with state.writing() as conn:
            store.void(conn, test_id, s.user.username, clock=writer.clock)
            accounts.audit(conn, s.user.username, "void_courtesy_test", str(test_id))
    except sheetmod.SheetError as exc:
        return back(f"{HOME}/report", error=str(exc))
    return back(f"{HOME}/report", f"已作廢測試 #{test_id} test {test_id} voided")


def _year(request: Request, writer) -> int:
    text = request.query_params.get("year") or str(_today(writer).year)
    try:
        year = int(text)
    except ValueError:
        raise HTTPException(422, "年度錯誤 / year must be 2000-2100") from None
    if not 2000 <= year <= 2100:
        raise HTTPException(422, "年度錯誤 / year must be 2000-2100")
    return year


def _months(year: int) -> list[str]:
    return [f"{year:04d}-{m:02d}" for m in range(1, 13)]


@router.get("/courtesy/report")
def report_page(request: Request, s: PageSession, readers: Readers, writer: Writer, banners: Banners):
    year = _year(request, writer)
    months = _months(year)
    with readers.connection() as conn:
        by_unit = store.monthly(conn, months[0], months[-1])
        yearly = yearly_scores(conn, year)
        rows = store.tests(conn, first=f"{year:04d}-01-01", last=f"{year:04d}-12-31", limit=2000)
    return render(
        "courtesy_report.html",
        request,
        s,
        year=year,
        years=list(range(_today(writer).year, 2019, -1)),
        months=months,
        by_unit=by_unit,
        yearly=yearly,
        chart=trend_svg(months, by_unit),
        tests=rows,
        band_en=BAND_EN,
        qs=urlencode({"year": year}),
        **banners,
    )


def report_tables(conn, year: int) -> list[exports.Table]:
    """The report as tables: unit × month means, and every test of the year."""
    months = _months(year)
    by_unit = store.monthly(conn, months[0], months[-1])
    yearly = yearly_scores(conn, year)
    monthly_rows = []
    for unit in sorted(by_unit):
        y = yearly[unit]
        row: list = [unit]
        for m in months:
            cell = by_unit[unit].get(m)
            row += [cell.mean, cell.tests] if cell else ["", 0]
        monthly_rows.append([*row, y.mean_score, y.tests, y.band])
    headers = ["單位 unit"]
    for m in months:
        headers += [f"{m} 平均 mean", f"{m} 次數 tests"]
    headers += ["全年平均 year mean", "全年次數 year tests", "等第 band"]
    test_rows = [
        [
            t["id"],
            t["called_at"].replace("T", " "),
            t["unit"],
            t["kind"],
            t["rings"] if t["rings"] is not None else "",
            t["seconds"] if t["seconds"] is not None else "",
            t["earned"],
            t["possible"],
            t["score"],
            t["band"],
            t["tester"],
            "作廢 void" if t["voided"] else "",
            t["notes"],
        ]
        for t in store.tests(conn, first=f"{year:04d}-01-01", last=f"{year:04d}-12-31", limit=100_000)
    ]
    return [
        exports.Table(
            "courtesy-monthly", f"電話禮貌測試每月平均 {year} telephone courtesy by month", headers, monthly_rows
        ),
        exports.Table(
            "courtesy-tests",
            f"電話禮貌測試紀錄 {year} telephone-courtesy tests",
            [
                "#",
                "時間 called at (Asia/Taipei)",
                "單位 unit",
                "對象 kind",
                "鈴響 rings",
                "秒數 seconds",
                "得分 earned",
                "適用配分 possible",
                "分數 score (0-100)",
                "等第 band",
                "測試員 tester",
                "狀態 status",
                "備註 notes",
            ],
            test_rows,
        ),
    ]


@router.get("/courtesy/export/{name}.{ext}")
def export(request: Request, name: str, ext: str, s: ApiSession, readers: Readers, writer: Writer):
    if ext not in EXPORT_MIMES:
        raise HTTPException(404, "格式須為 csv、xlsx 或 ods / format must be csv, xlsx or ods")
    year = _year(request, writer)
    with readers.connection() as conn:
        tables = report_tables(conn, year)
    if name != "all":
        tables = [t for t in tables if t.name == name]
        if not tables:
            raise HTTPException(404, f"沒有此表 / no table {name!r}")
    if ext == "csv":
        if len(tables) != 1:
            raise HTTPException(404, "CSV 一次一張表 / CSV holds one table: use .xlsx or .ods for all")
        body = exports.to_csv(tables[0])
    elif ext == "xlsx":
        body = exports.to_xlsx(tables)
    else:
        body = odf.to_ods(tables)
    return Response(
        body,
        media_type=EXPORT_MIMES[ext],
        headers={
            "Content-Disposition": f'attachment; filename="kiosk-{name}-{year}.{ext}"',
            "Cache-Control": "no-store",
        },
    )


@router.get("/courtesy/sheet")
def sheet_page(request: Request, s: ManagerPageSession, readers: Readers, banners: Banners):
    with readers.connection() as conn:
        sheet_id, sheet = store.current_sheet(conn)
    text = json.dumps(sheet, ensure_ascii=False, indent=2)
    return render(
        "courtesy_sheet.html",
        request,
        s,
        sheet=sheet,
        sheet_id=sheet_id,
        text=text,
        default_text=json.dumps(sheetmod.DEFAULT_SHEET, ensure_ascii=False, indent=2),
        **banners,
    )


@router.post("/courtesy/sheet")
async def save_sheet(post: ManagerPost, state: State, writer: Writer):
    s, form = post.session, post.form
    try:
        if form.get("reset"):
            sheet = sheetmod.DEFAULT_SHEET
        else:
            try:
                sheet = json.loads(str(form.get("sheet", "")))
            except ValueError:
                raise sheetmod.SheetError("評分表須為 JSON / the sheet must be JSON") from None
        with state.writing() as conn:
            sid = store.save_sheet(conn, sheet, s.user.username, clock=writer.clock)
            accounts.audit(conn, s.user.username, "save_courtesy_sheet", str(sid), {"reset": bool(form.get("reset"))})
    except sheetmod.SheetError as exc:
        return back(f"{HOME}/sheet", error=str(exc))
    return back(f"{HOME}/sheet", f"已儲存評分表第 {sid} 版 sheet version {sid} saved")
