"""The annual self-evaluation: the page, and the same figures as PDF or XLSX."""

from __future__ import annotations

from datetime import date
from urllib.parse import quote, urlencode

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from server_sync.collector import options
from server_sync.collector.admin import exports
from server_sync.collector.admin import queries as q
from server_sync.collector.admin.deps import OFFICE, ApiSession, PageSession, render, templates
from server_sync.collector.deps import Readers

router = APIRouter()


@router.get("/self-evaluation")
def self_eval_page(request: Request, s: PageSession, readers: Readers):
    with readers.connection() as conn:
        units = q.choices(conn)["units"]
        min_n = options.get(conn, "report.min_n")
        year = int(request.query_params.get("year") or date.today().year)
        unit = request.query_params.get("unit", "")
        cur, prev = exports.self_evaluation(conn, year, unit, min_n)
    return render(
        "self_evaluation.html",
        request,
        s,
        units=units,
        year=year,
        unit=unit,
        headers=exports.SELF_EVAL_HEADERS,
        rows=exports.self_evaluation_rows(cur, prev),
        note=exports.significance_note(cur, prev),
        years=list(range(date.today().year, 2019, -1)),
        qs=urlencode({"year": year, "unit": unit}),
    )


@router.get("/self-evaluation.{ext}")
def self_eval_file(ext: str, s: ApiSession, readers: Readers, year: int | None = None, unit: str = ""):
    year = year or date.today().year
    if not 2000 <= year <= 2100:
        raise HTTPException(422, "年度錯誤 / year must be 2000-2100")
    with readers.connection() as conn:
        min_n = options.get(conn, "report.min_n")
        if ext == "pdf":
            body = exports.self_evaluation_pdf(
                conn, year, unit, min_n, OFFICE, lambda t, **ctx: templates.get_template(t).render(**ctx)
            )
            mime = "application/pdf"
        elif ext == "xlsx":
            body = exports.self_evaluation_xlsx(conn, year, unit, min_n, OFFICE)
            mime = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        else:
            raise HTTPException(404, "格式須為 pdf 或 xlsx / format must be pdf or xlsx")
    fname = f"self-evaluation-{year}-{unit or 'office'}.{ext}"
    return Response(
        body,
        media_type=mime,
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(fname)}", "Cache-Control": "no-store"},
    )
