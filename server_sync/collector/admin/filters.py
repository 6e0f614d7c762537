"""The dashboard's filter (dates, unit, window, service, trend) from a request's query parameters."""

from __future__ import annotations

from datetime import date

from server_sync.collector.admin import queries as q


def parse_filter(params) -> tuple[q.Filter, str | None]:
    """A Filter from query parameters; on a bad value, the default filter and a bilingual error."""
    default = q.Filter.default()
    try:
        d_from = date.fromisoformat(params["from"]) if params.get("from") else None
        d_to = date.fromisoformat(params["to"]) if params.get("to") else None
    except ValueError:
        return default, "日期格式須為 YYYY-MM-DD / dates must be YYYY-MM-DD"
    if not params.get("from") and not params.get("to") and not params.get("all"):
        d_from, d_to = default.date_from, default.date_to
    if d_from and d_to and d_from > d_to:
        return default, "開始日期晚於結束日期 / the start date is after the end date"
    trend = params.get("trend") or "month"
    if trend not in q.TRENDS:
        return default, "趨勢須為 day, week 或 month / trend must be day, week or month"
    return q.Filter(
        d_from,
        d_to,
        (params.get("unit") or "").strip(),
        (params.get("window") or "").strip(),
        (params.get("service") or "").strip(),
        trend,
    ), None
