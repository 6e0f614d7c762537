"""Annual targets: a manager's page to set them, the dashboard's comparison, and the public page
and ODS of the year's targets (no login: the plan asks the office to publish its annual plan on
its website before the end of January)."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from server_sync.collector import odf, options, targets
from server_sync.collector.admin import accounts
from server_sync.collector.admin import queries as q
from server_sync.collector.admin.deps import OFFICE, Banners, ManagerPost, PageSession, State, back, render
from server_sync.collector.deps import Readers
from server_sync.collector.evaluation.document import units as known_units
from server_sync.collector.measures import Period, measure
from server_sync.wire.tz import OFFICE_TZ

router = APIRouter()  # under /admin
public = APIRouter()  # at the site's root, no login
OFFICE_LABEL = "全機關 whole office"


def _year(text) -> int:
    try:
        year = int(text or datetime.now(OFFICE_TZ).year)
    except ValueError:
        raise HTTPException(422, "年度錯誤 / year must be a number") from None
    if not 2000 <= year <= 2100:
        raise HTTPException(422, "年度錯誤 / year must be 2000-2100")
    return year


def dashboard_rows(conn, f: q.Filter, min_n: int) -> tuple[int, list[targets.Row], bool]:
    """The targets of the filter's unit (or the office) for the year its range ends in, against that
    year's measured figures: (year, rows, whether the targets are the bundled defaults)."""
    year = (f.date_to or datetime.now(OFFICE_TZ).date()).year
    tgts, default = targets.effective(conn, year, f.unit)
    m = measure(conn, Period.year(year), f.unit, min_n, datetime.now(UTC))
    return year, targets.compare(tgts, m.by_metric), default


@router.get("/targets")
def targets_page(request: Request, s: PageSession, readers: Readers, banners: Banners):
    year = _year(request.query_params.get("year"))
    with readers.connection() as conn:
        values = targets.stored(conn, year)
        units = sorted({*known_units(conn, year), *(u for u in targets.units_with_targets(conn, year) if u)})
        min_n = options.get(conn, "report.min_n")
        now = datetime.now(UTC)
        judged = {}
        for u in ["", *units]:
            tgts, _ = targets.effective(conn, year, u)
            judged[u] = {
                r.target.metric.key: r
                for r in targets.compare(tgts, measure(conn, Period.year(year), u, min_n, now).by_metric)
            }
    return render(
        "targets.html",
        request,
        s,
        year=year,
        metrics=list(targets.METRICS.values()),
        values=values,
        units=units,
        judged=judged,
        is_default=not values,
        years=list(range(datetime.now(OFFICE_TZ).year + 1, 2019, -1)),
        **banners,
    )


@router.post("/targets")
async def save_targets(post: ManagerPost, state: State):
    form, user = post.form, post.session.user
    year = _year(str(form.get("year", "")))
    unit = str(form.get("unit", "")).strip()
    url = f"/admin/targets?year={year}"
    try:
        if form.get("defaults"):
            with state.writing() as conn:
                changed = targets.adopt_defaults(conn, year, user.username)
                accounts.audit(conn, user.username, "targets_defaults", str(year), changed)
            return back(url, f"已採用預設目標 the bundled targets are {year}'s office-wide targets")
        values = {m.key: targets.parse_threshold(m, str(form.get(f"t_{m.key}", ""))) for m in targets.METRICS.values()}
        with state.writing() as conn:
            changed = targets.set_targets(conn, year, unit, values, user.username)
            accounts.audit(conn, user.username, "targets_set", f"{year} {unit or '*'}", changed)
    except targets.TargetError as exc:
        return back(url, error=str(exc))
    return back(url, f"已儲存 {unit or OFFICE_LABEL} {year} 年目標 saved ({len(changed)} changed)")


# -- published --------------------------------------------------------------------------------------
def published_rows(conn, year: int) -> list[list[str]]:
    """[unit, metric, target] for every target a manager set for ``year``, the office's first."""
    values = targets.stored(conn, year)
    out = []
    for unit in sorted({u for u, _ in values}, key=lambda u: (u != "", u)):
        for m in targets.METRICS.values():
            if (unit, m.key) in values:
                out.append([unit or OFFICE_LABEL, m.label, m.phrase(values[(unit, m.key)])])
    return out


def _set_at(conn, year: int) -> str:
    row = conn.execute("SELECT max(set_at) FROM annual_targets WHERE year = ?", [year]).fetchone()
    if not row or not row[0]:
        return ""
    return datetime.fromisoformat(row[0]).astimezone(OFFICE_TZ).strftime("%Y-%m-%d")


PUBLIC_HEADERS = ["單位 unit", "指標 metric", "目標 target"]
HOW = (
    "判定方式:以 95% 信賴區間與目標比較,區間全部達標為「達成」,全部未達為「未達成」,區間跨越目標或樣本數不足為「尚無法判定」。"
    " How targets are judged: against the measured figure's 95% interval; met when the whole interval meets the"
    " target, not met when none of it does, cannot tell yet when it straddles the target or n is too small."
)


@public.get("/public/targets/{year}.ods")
def public_targets_ods(year: int, readers: Readers):
    year = _year(year)
    with readers.connection() as conn:
        rows = published_rows(conn, year)
    body = odf.to_ods(
        [odf.Sheet("targets", f"{OFFICE} {year} 年度服務品質量化指標 annual targets", PUBLIC_HEADERS, rows)], [HOW]
    )
    return Response(
        body,
        media_type=odf.ODS_MIME,
        headers={"Content-Disposition": f'attachment; filename="targets-{year}.ods"', "Cache-Control": "no-cache"},
    )


@public.get("/public/targets/{year}")
def public_targets(request: Request, year: int, readers: Readers):
    year = _year(year)
    with readers.connection() as conn:
        rows = published_rows(conn, year)
        set_at = _set_at(conn, year)
    return render("targets_public.html", request, None, year=year, rows=rows, set_at=set_at, how=HOW)
