"""The dashboard's figures for one filter, read from the rollups only (never the events table).

A span of days is answered like report.py answers it (``report.plan``): whole
months from admin_sat_month, the days at either end from admin_sat_hour, so a
year reads about a thousand rows per window however many ratings it holds.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from server_sync.collector import labels
from server_sync.collector import report as report_mod
from server_sync.collector.stats import DEFAULT_MIN_N, Figures, finite, percentile_from_histogram
from server_sync.wire.tz import OFFICE_TZ

WEEKDAYS = ["一 Mon", "二 Tue", "三 Wed", "四 Thu", "五 Fri", "六 Sat", "日 Sun"]
SUMS = "sum(l1), sum(l2), sum(l3), sum(l4), sum(l5), sum(misuse), sum(happy_sum), sum(happy_sq), sum(unhappy)"
_DOW_FROM_DAY = "((CAST(strftime('%w', day) AS INTEGER) + 6) % 7)"
EXPR = {
    "admin_sat_month": {
        "unit": "unit",
        "window": "window",
        "service": "service",
        "hod": "hod",
        "dow": "dow",
        "month": "month",
    },
    "admin_sat_hour": {
        "unit": "unit",
        "window": "window",
        "service": "service",
        "hod": "hod",
        "dow": _DOW_FROM_DAY,
        "month": "substr(day, 1, 7)",
        "day": "day",
    },
    "admin_sat_mon": {"unit": "unit", "window": "window", "service": "service", "month": "month"},
    "admin_sat_day": {
        "unit": "unit",
        "window": "window",
        "service": "service",
        "dow": _DOW_FROM_DAY,
        "month": "substr(day, 1, 7)",
        "day": "day",
    },
}
TRENDS = ("day", "week", "month")


@dataclass(frozen=True)
class Filter:
    date_from: date | None = None
    date_to: date | None = None
    unit: str = ""
    window: str = ""
    service: str = ""
    trend: str = "month"

    @classmethod
    def default(cls, today: date | None = None) -> Filter:
        today = today or datetime.now(OFFICE_TZ).date()  # the office's today, not the server's
        return cls(today - timedelta(days=364), today)

    def label(self) -> str:
        parts = [f"{self.date_from or '…'} – {self.date_to or '…'}"]
        if self.unit:
            parts.append(f"單位 unit {self.unit}")
        if self.window:
            parts.append(f"窗口 window {self.window}")
        if self.service:
            parts.append(f"服務 service {self.service}")
        return ", ".join(parts)

    def query(self) -> dict[str, str]:
        q = {
            "from": self.date_from.isoformat() if self.date_from else "",
            "to": self.date_to.isoformat() if self.date_to else "",
            "unit": self.unit,
            "window": self.window,
            "service": self.service,
            "trend": self.trend,
        }
        return {k: v for k, v in q.items() if v}


def _where(f: Filter, period: str | None, lo, hi, params: list, *, day_col: str = "day") -> str:
    where = []
    if period is not None:
        col = period if period != "day" else day_col
        if lo is not None:
            where.append(f"{col} >= ?")
            params.append(lo)
        if hi is not None:
            where.append(f"{col} < ?")
            params.append(hi)
    for col, value in (("unit", f.unit), ("window", f.window), ("service", f.service)):
        if value:
            where.append(f"{col} = ?")
            params.append(value)
    return (" WHERE " + " AND ".join(where)) if where else ""


def satisfaction(
    conn: sqlite3.Connection, f: Filter, group: list[str], *, min_n: int = DEFAULT_MIN_N, days_only: bool = False
) -> dict[tuple, Figures]:
    """Figures per group key (a tuple of the ``group`` columns' values; () for the total)."""
    parts = report_mod.plan(f.date_from, f.date_to, "day" if days_only else "unit")
    out: dict[tuple, Figures] = {}
    hourly = "hod" in group  # only the heat-map needs the hour of day: read the small tables otherwise
    # Rows per window only when the figure looks at windows: the per-unit copies otherwise (rollup.py).
    unit_level = "window" not in group and not f.window
    for table, period, lo, hi in parts:
        if table == "rollups_month":
            table = "admin_sat_month" if hourly else "admin_sat_mon"
        else:
            table = "admin_sat_hour" if hourly else "admin_sat_day"
        exprs = [EXPR[table][g] for g in group]
        if unit_level:
            table += "_unit"
        params: list = []
        sql = (
            f"SELECT {''.join(e + ', ' for e in exprs)}{SUMS} FROM {table}"
            + _where(f, period, lo, hi, params)
            + (f" GROUP BY {', '.join(exprs)}" if exprs else "")
        )
        k = len(exprs)
        for rec in conn.execute(sql, params):
            if rec[k] is None and rec[k + 5] is None:  # no rows at all under an aggregate without GROUP BY
                continue
            key = tuple(rec[:k])
            fig = out.get(key)
            if fig is None:
                fig = out[key] = Figures(min_n=min_n)
            l1, l2, l3, l4, l5, mis, hs, hq, un = rec[k:]
            fig.add({1: l1, 2: l2, 3: l3, 4: l4, 5: l5}, mis, hs, hq, un)
    return out


def _week(day: str) -> str:
    y, w, _ = date.fromisoformat(day).isocalendar()
    return f"{y}-W{w:02d}"


def trend(conn, f: Filter, min_n: int) -> list[tuple[str, Figures]]:
    if f.trend == "month":
        data = satisfaction(conn, f, ["month"], min_n=min_n)
        return sorted(((k[0], v) for k, v in data.items()))
    days = satisfaction(conn, f, ["day"], min_n=min_n, days_only=True)
    if f.trend == "day":
        return sorted(((k[0], v) for k, v in days.items()))
    weeks: dict[str, Figures] = {}
    for (day,), fig in days.items():
        wk = weeks.setdefault(_week(day), Figures(min_n=min_n))
        wk.add(fig.levels, fig.misuse, fig.happy_sum, fig.happy_sq, fig.unhappy)
    return sorted(weeks.items())


def heatmap(conn, f: Filter, min_n: int) -> dict[tuple[int, int], Figures]:
    return {(k[0], k[1]): v for k, v in satisfaction(conn, f, ["dow", "hod"], min_n=min_n).items()}


def ranking(conn, f: Filter, by: list[str], min_n: int) -> list[tuple[tuple, Figures]]:
    data = satisfaction(conn, f, by, min_n=min_n)
    # Figures below the minimum n cannot be ranked honestly: they go last, by n.
    return sorted(data.items(), key=lambda kv: (kv[1].suppressed, -(kv[1].happy_index or 0), -kv[1].n))


def _day_bounds(f: Filter) -> tuple[str | None, str | None]:
    lo = None if f.date_from is None else f.date_from.isoformat()
    hi = None if f.date_to is None else (f.date_to + timedelta(days=1)).isoformat()
    return lo, hi


def reasons(conn, f: Filter) -> list[dict[str, Any]]:
    lo, hi = _day_bounds(f)
    params: list = []
    rows = conn.execute(
        "SELECT reason, sum(n) FROM admin_reason_day"
        + _where(f, "day", lo, hi, params)
        + " GROUP BY reason ORDER BY sum(n) DESC, reason",
        params,
    ).fetchall()
    total = sum(n for _, n in rows)
    return [{"reason": r, "n": n, "share": round(100.0 * n / total, 1) if total else None} for r, n in rows]


QUEUE_SUMS = (
    "sum(issued), sum(called), sum(no_show), sum(wait_n), sum(wait_sum), sum(service_n),"
    " sum(service_sum), sum(est_n), sum(est_err_sum), sum(band_n), sum(in_band),"
    " sum(issued > 0)"
)


def _queue_figures(rec, hist_wait: dict, hist_service: dict) -> dict[str, Any]:
    issued, called, no_show, wait_n, wait_sum, svc_n, svc_sum, est_n, est_err, band_n, in_band, hours = [
        x or 0 for x in rec
    ]
    # A sum poisoned by a non-finite row (stored before ingest checked numbers) shows as no figure.
    if finite(wait_sum) is None:
        wait_n = 0
    if finite(svc_sum) is None:
        svc_n = 0
    if finite(est_err) is None:
        est_n = 0
    return {
        "issued": issued,
        "called": called,
        "no_show": no_show,
        "no_show_rate": round(100.0 * no_show / called, 1) if called else None,
        "wait_mean_min": round(wait_sum / wait_n / 60, 1) if wait_n else None,
        "wait_p90_min": percentile_from_histogram(hist_wait, 0.9),
        "service_mean_min": round(svc_sum / svc_n / 60, 1) if svc_n else None,
        "service_p90_min": percentile_from_histogram(hist_service, 0.9),
        "tickets_per_hour": round(issued / hours, 1) if hours else None,
        "estimate_mae_min": round(est_err / est_n / 60, 1) if est_n else None,
        "estimate_in_band": round(100.0 * in_band / band_n, 1) if band_n else None,
        "waits_measured": wait_n,
    }


def queues(conn, f: Filter) -> dict[str, Any]:
    """Totals and per service. Tickets per hour counts the hours in which a ticket was issued."""
    lo, hi = _day_bounds(f)
    hists: dict[tuple, dict] = {}
    params: list = []
    for service, metric, minute, n in conn.execute(
        "SELECT service, metric, minute, sum(n) FROM admin_queue_hist"
        + _where(f, "day", lo, hi, params)
        + " GROUP BY service, metric, minute",
        params,
    ):
        for key in ((service, metric), ("", "*" + metric)):
            h = hists.setdefault(key, {})
            h[minute] = h.get(minute, 0) + n
    params = []
    # Hours with tickets are counted per (day, hour) across windows, so group those first.
    total_rec = conn.execute(
        f"SELECT {QUEUE_SUMS.replace('sum(issued > 0)', 'count(DISTINCT CASE WHEN issued > 0 THEN day || hod END)')}"
        " FROM admin_queue_hour" + _where(f, "day", lo, hi, params),
        params,
    ).fetchone()
    total = _queue_figures(total_rec, hists.get(("", "*wait"), {}), hists.get(("", "*service"), {}))
    params = []
    per_service = []
    for rec in conn.execute(
        f"SELECT service, {QUEUE_SUMS.replace('sum(issued > 0)', 'count(DISTINCT CASE WHEN issued > 0 THEN day || hod END)')}"
        " FROM admin_queue_hour" + _where(f, "day", lo, hi, params) + " GROUP BY service ORDER BY service",
        params,
    ):
        per_service.append(
            {
                "service": rec[0],
                **_queue_figures(rec[1:], hists.get((rec[0], "wait"), {}), hists.get((rec[0], "service"), {})),
            }
        )
    return {"total": total, "services": per_service}


def case_lookups(conn, f: Filter) -> dict[str, int]:
    lo, hi = _day_bounds(f)
    params: list = []
    f2 = Filter(f.date_from, f.date_to, f.unit, f.window, "")  # lookups have no service
    counts = dict(
        conn.execute(
            "SELECT result, sum(n) FROM admin_case_day" + _where(f2, "day", lo, hi, params) + " GROUP BY result", params
        ).fetchall()
    )
    return {
        "lookups": sum(counts.values()),
        "found": counts.get("found", 0),
        "not_found": counts.get("not_found", 0),
        "locked": counts.get("locked", 0),
        "rate_limited": counts.get("rate_limited", 0),
    }


def choices(conn) -> dict[str, list[str]]:
    """Units, windows and services seen, for the filter's drop-downs."""
    units, windows, services = set(), set(), set()
    for u, w, s in conn.execute("SELECT DISTINCT unit, window, service FROM admin_sat_mon"):
        units.add(u)
        windows.add(w)
        services.add(s)
    for (s,) in conn.execute("SELECT DISTINCT service FROM admin_queue_hour"):
        services.add(s)
    return {
        "units": sorted(units),
        "windows": sorted(windows, key=lambda w: (len(w), w)),
        "services": sorted(s for s in services if s),
    }


def levels_of(conn) -> int:
    return max([r[0] for r in conn.execute("SELECT DISTINCT levels FROM kiosks")], default=5)


@dataclass
class Dashboard:
    filter: Filter
    min_n: int
    max_level: int
    total: Figures
    trend: list
    heat: dict
    rank_units: list
    rank_windows: list
    rank_services: list
    reasons: list
    queues: dict
    cases: dict
    extra: dict = field(default_factory=dict)
    names: labels.Names = field(default_factory=labels.Names)  # what the pages call each code


def dashboard(conn, f: Filter, min_n: int) -> Dashboard:
    total = satisfaction(conn, f, [], min_n=min_n).get((), Figures(min_n=min_n))
    return Dashboard(
        filter=f,
        min_n=min_n,
        max_level=levels_of(conn),
        total=total,
        trend=trend(conn, f, min_n),
        heat=heatmap(conn, f, min_n),
        rank_units=ranking(conn, f, ["unit"], min_n),
        rank_windows=ranking(conn, f, ["unit", "window"], min_n),
        rank_services=ranking(conn, f, ["service"], min_n),
        reasons=reasons(conn, f),
        queues=queues(conn, f),
        cases=case_lookups(conn, f),
        names=labels.names(conn),
    )


def _fig_json(fig: Figures, max_level: int) -> dict:
    return fig.as_dict(max_level)


def dashboard_json(d: Dashboard) -> dict[str, Any]:
    ml = d.max_level
    return {
        "filter": {**d.filter.query(), "label": d.filter.label()},
        "min_n": d.min_n,
        "timezone": "Asia/Taipei",
        "total": _fig_json(d.total, ml),
        "trend": [{"period": p, **_fig_json(fig, ml)} for p, fig in d.trend],
        "heatmap": [
            {"weekday": dow, "hour": hod, "n": fig.n, "happy_index": fig.happy_index}
            for (dow, hod), fig in sorted(d.heat.items())
        ],
        "ranking": {
            "units": [{"unit": k[0], **_fig_json(v, ml)} for k, v in d.rank_units],
            "windows": [{"unit": k[0], "window": k[1], **_fig_json(v, ml)} for k, v in d.rank_windows],
            "services": [
                {"service": k[0], "name": list(d.names.service(k[0])), **_fig_json(v, ml)} for k, v in d.rank_services
            ],
        },
        "reasons": [{**r, "name": list(d.names.reason(r["reason"]))} for r in d.reasons],
        "queues": d.queues,
        "case_lookups": d.cases,
    }
