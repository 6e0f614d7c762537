"""Tables as CSV, XLSX or ODS files: the dashboard's, the fleet, the alerts and (managers only) the audit log."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from server_sync.collector import alerts as alerts_mod
from server_sync.collector import odf, options
from server_sync.collector.admin import accounts, exports, response_rate
from server_sync.collector.admin import queries as q
from server_sync.collector.admin.deps import FORBIDDEN_ROLE, ApiSession
from server_sync.collector.admin.filters import parse_filter
from server_sync.collector.admin.routes.fleet import fleet_rows
from server_sync.collector.deps import Readers

router = APIRouter()


def tables_for(request: Request, s, readers, name: str) -> list[exports.Table]:
    if name == "audit":
        if not s.user.is_manager:
            raise HTTPException(403, FORBIDDEN_ROLE)
        with readers.connection() as conn:
            return [exports.audit_table(accounts.audit_rows(conn, 100_000))]
    with readers.connection() as conn:
        if name == "fleet":
            return [exports.fleet_table(fleet_rows(conn))]
        if name == "alerts":
            return [exports.alerts_table(alerts_mod.list_alerts(conn, limit=100_000))]
        f, error = parse_filter(request.query_params)
        if error:
            raise HTTPException(422, error)
        d = q.dashboard(conn, f, options.get(conn, "report.min_n"))
        tables = exports.dashboard_tables(d)
        rates = response_rate.response_rates(conn, f, d.min_n)
        tables["responses"] = response_rate.table(rates, d.min_n, d.names)
    if name == "all":
        return list(tables.values())
    if name not in tables:
        raise HTTPException(404, f"沒有此表 / no table {name!r}")
    return [tables[name]]


@router.get("/export/{name}.{ext}")
def export(request: Request, name: str, ext: str, s: ApiSession, readers: Readers):
    if ext not in ("csv", "xlsx", "ods"):
        raise HTTPException(404, "格式須為 csv、xlsx 或 ods / format must be csv, xlsx or ods")
    tables = tables_for(request, s, readers, name)
    stamp = date.today().isoformat()
    if ext == "csv":
        if len(tables) != 1:
            raise HTTPException(404, "CSV 一次一張表 / CSV holds one table: use .xlsx or .ods for all")
        body, mime = exports.to_csv(tables[0]), "text/csv; charset=utf-8"
    elif ext == "ods":
        body, mime = exports.to_ods(tables), odf.ODS_MIME
    else:
        body = exports.to_xlsx(tables)
        mime = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return Response(
        body,
        media_type=mime,
        headers={
            "Content-Disposition": f'attachment; filename="kiosk-{name}-{stamp}.{ext}"',
            "Cache-Control": "no-store",
        },
    )
