"""The dashboard page and its data API."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse

from server_sync.collector import alerts as alerts_mod
from server_sync.collector import options
from server_sync.collector.admin import charts, response_rate
from server_sync.collector.admin import queries as q
from server_sync.collector.admin.deps import ApiSession, PageSession, render
from server_sync.collector.admin.filters import parse_filter
from server_sync.collector.admin.routes import targets
from server_sync.collector.deps import Readers

router = APIRouter()


@router.get("")
@router.get("/")
def dashboard_page(request: Request, s: PageSession, readers: Readers):
    f, error = parse_filter(request.query_params)
    with readers.connection() as conn:
        min_n = options.get(conn, "report.min_n")
        d, choices = q.dashboard(conn, f, min_n), q.choices(conn)
        rates = response_rate.response_rates(conn, f, min_n)
        targets_year, target_rows, targets_default = targets.dashboard_rows(conn, f, min_n)
        open_alerts = alerts_mod.list_alerts(conn, open_only=True, limit=20)
    return render(
        "dashboard.html",
        request,
        s,
        d=d,
        f=f,
        error=error,
        choices=choices,
        open_alerts=open_alerts,
        rates=rates,
        targets_year=targets_year,
        target_rows=target_rows,
        targets_default=targets_default,
        qs=urlencode(f.query()),
        levels_svg=charts.levels_svg(d.total, d.max_level, width=760),
        trend_svg=charts.trend_svg(d.trend),
        heat_svg=charts.heatmap_svg(d.heat, q.WEEKDAYS),
    )


@router.get("/api/dashboard")
def dashboard_api(request: Request, s: ApiSession, readers: Readers):
    f, error = parse_filter(request.query_params)
    if error:
        raise HTTPException(422, error)
    with readers.connection() as conn:
        min_n = options.get(conn, "report.min_n")
        d, rates = q.dashboard(conn, f, min_n), response_rate.response_rates(conn, f, min_n)
    return JSONResponse({**q.dashboard_json(d), "response_rates": response_rate.as_json(rates, min_n)})
