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


def _served(conn: sqlite3.Connection, f: q.Filter, by: list[str]) -> dict[tuple, int]:
    """Tickets served per group of ``by`` columns of admin_queue_hour ("day" among them)."""
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
    cols = ", ".join(by)
    sql = (
        f"SELECT {cols + ', ' if by else ''}sum(called) - sum(no_show) FROM admin_queue_hour"
        + (" WHERE " + " AND ".join(where) if where else "")
        + (f" GROUP BY {cols}" if by else "")
    )
    return {tuple(r[:-1]): max(0, r[-1] or 0) for r in conn.execute(sql, params)}


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

    def paired(by: list[str]) -> dict[tuple, tuple[int, int]]:
        served = _served(conn, f, [*by, "day"])
        rated = q.satisfaction(conn, f, [*by, "day"], min_n=min_n, days_only=True)
        return {k: (rated[k].n if k in rated else 0, s) for k, s in served.items() if s > 0}

    windows = paired(["unit", "window"])  # key (unit, window, day)
    period = PERIOD_OF[f.trend]
    return ResponseRates(
        total=_sum_by(windows, lambda k: ())[0] if windows else Rate((), 0, 0),
        windows=_sum_by(windows, lambda k: k[:2]),
        services=_sum_by(paired(["unit", "window", "service"]), lambda k: k[2:3]),
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
