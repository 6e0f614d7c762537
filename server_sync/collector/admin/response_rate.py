"""The response rate where tickets exist: counted ratings per ticket served, per unit and window,
per service and per period of the dashboard's trend.

A ticket served is one called (its first call) less those that did not come (no-shows). Ratings
are the counted presses (misuse excluded) of the same window (or service) on the days it served
tickets. A visitor may rate without a ticket, so a rate can pass 100 %; a margin is given only
up to 100 % and from the minimum n of tickets on.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

from server_sync.collector import labels, margins
from server_sync.collector.admin import exports
from server_sync.collector.admin import queries as q


@dataclass(frozen=True)
class Rate:
    key: tuple[str, ...]
    ratings: int
    served: int

    @property
    def rate(self) -> float | None:
        return round(100.0 * self.ratings / self.served, 1) if self.served else None

    def margin(self, min_n: int) -> float | None:
        if self.served < min_n or self.ratings > self.served:
            return None
        return margins.margin_points(self.ratings, self.served)


@dataclass(frozen=True)
class ResponseRates:
    total: Rate
    windows: list[Rate]  # key (unit, window)
    services: list[Rate]  # key (service,)
    periods: list[Rate]  # key (period,), the trend's day, week or month


def _week(day: str) -> str:
    y, w, _ = date.fromisoformat(day).isocalendar()
    return f"{y}-W{w:02d}"


PERIOD_OF: dict[str, Callable[[str], str]] = {"day": lambda d: d, "week": _week, "month": lambda d: d[:7]}


def _filters(f: q.Filter) -> tuple[str, list]:
    """The filter's days and unit/window/service as a WHERE clause over a table with a ``day`` column."""
    where, params = [], []
    if f.date_from:
        where.append("day >= ?")
        params.append(f.date_from.isoformat())
    if f.date_to:
        where.append("day < ?")
        params.append((f.date_to + timedelta(days=1)).isoformat())
    for col, value in (("unit", f.unit), ("window", f.window), ("service", f.service)):
        if value:
            where.append(f"{col} = ?")
            params.append(value)
    return (" WHERE " + " AND ".join(where)) if where else "", params


def _paired(conn: sqlite3.Connection, f: q.Filter, by: list[str]) -> dict[tuple, tuple[int, int]]:
    """(counted ratings, tickets served) per group of ``by`` columns and day, for the days that group
    served tickets. One query: the ratings are read only for those days (none at all where no ticket
    was served), so a fleet without a dispenser costs nothing and 500 windows cost their served days."""
    where, params = _filters(f)
    cols = ", ".join([*by, "day"])
    sql = (
        f"WITH served AS (SELECT {cols}, sum(called) - sum(no_show) AS s FROM admin_queue_hour{where}"
        f" GROUP BY {cols} HAVING s > 0),"
        f" rated AS (SELECT {cols}, sum(l1 + l2 + l3 + l4 + l5) AS r FROM admin_sat_day{where}"
        f" AND ({cols}) IN (SELECT {cols} FROM served) GROUP BY {cols})"
        f" SELECT {cols}, coalesce(r, 0), s FROM served LEFT JOIN rated USING ({cols})"
    )
    if not where:
        sql = sql.replace(" AND (", " WHERE (", 1)
    return {tuple(r[:-2]): (r[-2], r[-1]) for r in conn.execute(sql, params + params)}


def _sum_by(pairs: dict[tuple, tuple[int, int]], key) -> list[Rate]:
    out: dict[tuple, list[int]] = {}
    for k, (ratings, served) in pairs.items():
        acc = out.setdefault(key(k), [0, 0])
        acc[0] += ratings
        acc[1] += served
    return [Rate(k, r, s) for k, (r, s) in sorted(out.items())]


def response_rates(conn: sqlite3.Connection, f: q.Filter, min_n: int) -> ResponseRates:
    """Ratings count only on the days their window (or service) served tickets: a window without
    a ticket system, or a day the dispenser was off, says nothing about the rate."""

    windows = _paired(conn, f, ["unit", "window"])  # key (unit, window, day)
    period = PERIOD_OF[f.trend]
    return ResponseRates(
        total=_sum_by(windows, lambda k: ())[0] if windows else Rate((), 0, 0),
        windows=_sum_by(windows, lambda k: k[:2]),
        services=_sum_by(_paired(conn, f, ["unit", "window", "service"]), lambda k: k[2:3]),
        periods=_sum_by(windows, lambda k: (period(k[2]),)),
    )


def table(rates: ResponseRates, min_n: int, names: labels.Names) -> exports.Table:
    """Every rate as one export table: the total, then per unit and window, service and period."""
    head = ["分組 group", "單位 unit", "窗口 window", "服務 service", "期間 period"]
    tail = ["評分 ratings", "服務完成 tickets served", "回覆率 response rate %", exports.MARGIN_HEAD]

    def row(group: str, r: Rate, unit="", window="", service="", period="") -> list:
        margin = r.margin(min_n)
        return [group, unit, window, service, period, r.ratings, r.served, r.rate, "" if margin is None else margin]

    rows = [row("合計 total", rates.total)]
    rows += [row("窗口 window", r, unit=r.key[0], window=r.key[1]) for r in rates.windows]
    rows += [row("服務 service", r, service=" ".join(names.service(r.key[0])).strip()) for r in rates.services]
    rows += [row("期間 period", r, period=r.key[0]) for r in rates.periods]
    return exports.Table("responses", "回覆率 Response rate (ratings per ticket served)", head + tail, rows)


def as_json(rates: ResponseRates, min_n: int) -> dict:
    def one(r: Rate) -> dict:
        return {"ratings": r.ratings, "served": r.served, "rate": r.rate, "margin": r.margin(min_n)}

    return {
        "total": one(rates.total),
        "windows": [{"unit": r.key[0], "window": r.key[1], **one(r)} for r in rates.windows],
        "services": [{"service": r.key[0], **one(r)} for r in rates.services],
        "periods": [{"period": r.key[0], **one(r)} for r in rates.periods],
    }
