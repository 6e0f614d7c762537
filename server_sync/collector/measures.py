"""What the collector measured for one unit (or the whole office) over whole months: each figure
with its n and its 95 % interval. Annual targets (targets.py), the self-evaluation's evidence
(evaluation/evidence.py) and the open-data summary (opendata.py) read these.

Read from the dashboard's rollups (admin_tables.py), never the events table, so a year costs a
few hundred rows. Intervals, and why (stats.py says more):

* CSAT, alerts acknowledged in time, lookups answered: proportions, Wilson score interval.
* Happy Index: normal approximation from the rollups' exact sum of squares.
* Mean wait: normal approximation; the spread comes from the whole-minute histogram of waits
  (each wait taken at its minute's midpoint: off by at most half a minute, which widens the
  interval by a negligible 1/12 min² of variance), the mean itself from the exact sum.
* p90 wait: the distribution-free interval for a quantile: the order statistics at ranks
  n·0.9 ∓ 1.96·√(n·0.9·0.1), read off the same histogram (a minute's upper edge, as
  stats.percentile_from_histogram reads the p90 itself).

Alerts acknowledged "within 1 working day": by the end of the first working day (Monday to
Friday, office time) after the day the alert was raised. Public holidays are not known to the
collector and count as working days. An alert still open whose deadline has not passed is not
counted either way yet.
"""

from __future__ import annotations

import math
import sqlite3
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from server_sync.collector.stats import Z95, Figures, percentile_from_histogram, wilson
from server_sync.wire.tz import OFFICE_TZ


@dataclass(frozen=True)
class Measure:
    """One measured figure: value and interval are None when n is below ``min_n`` (or 0)."""

    value: float | None
    ci: tuple[float, float] | None
    n: int
    min_n: int

    @property
    def too_few(self) -> bool:
        return self.n < max(1, self.min_n)


@dataclass(frozen=True)
class Period:
    """Whole months, first and last inclusive, as 'YYYY-MM'."""

    first: str
    last: str

    @classmethod
    def year(cls, year: int) -> Period:
        return cls(f"{year:04d}-01", f"{year:04d}-12")

    @classmethod
    def month(cls, month: str) -> Period:
        return cls(month, month)

    @property
    def first_day(self) -> date:
        return date.fromisoformat(self.first + "-01")

    @property
    def end_day(self) -> date:
        """The day after the last month (exclusive bound)."""
        y, m = int(self.last[:4]), int(self.last[5:7])
        return date(y + (m == 12), m % 12 + 1, 1)


def _unit_sql(unit: str, params: list) -> str:
    if not unit:
        return ""
    params.append(unit)
    return " AND unit = ?"


def satisfaction(conn: sqlite3.Connection, period: Period, unit: str, min_n: int) -> Figures:
    params: list = [period.first, period.last]
    sql = (
        "SELECT sum(l1), sum(l2), sum(l3), sum(l4), sum(l5), sum(misuse), sum(happy_sum), sum(happy_sq),"
        " sum(unhappy) FROM admin_sat_mon WHERE month >= ? AND month <= ?" + _unit_sql(unit, params)
    )
    l1, l2, l3, l4, l5, mis, hs, hq, un = (x or 0 for x in conn.execute(sql, params).fetchone())
    fig = Figures(min_n=min_n)
    fig.add({1: l1, 2: l2, 3: l3, 4: l4, 5: l5}, mis, hs, hq, un)
    return fig


def _days(period: Period) -> list:
    return [period.first_day.isoformat(), period.end_day.isoformat()]


def _wait_histogram(conn: sqlite3.Connection, period: Period, unit: str) -> dict[int, int]:
    params = _days(period)
    sql = (
        "SELECT minute, sum(n) FROM admin_queue_hist WHERE day >= ? AND day < ? AND metric = 'wait'"
        + _unit_sql(unit, params)
        + " GROUP BY minute"
    )
    return {int(m): int(n) for m, n in conn.execute(sql, params)}


def _rank_value(buckets: dict[int, int], rank: float) -> float:
    """The value at 1-based ``rank`` of the sorted sample (a minute's upper edge)."""
    run = 0
    for b in sorted(buckets):
        run += buckets[b]
        if run >= rank:
            return float(b + 1)
    return float(max(buckets) + 1)


def waits(conn: sqlite3.Connection, period: Period, unit: str, min_n: int) -> tuple[Measure, Measure]:
    """Mean and p90 wait in minutes, each with its interval."""
    params = _days(period)
    wait_n, wait_sum = conn.execute(
        "SELECT sum(wait_n), sum(wait_sum) FROM admin_queue_hour WHERE day >= ? AND day < ?" + _unit_sql(unit, params),
        params,
    ).fetchone()
    wait_n = int(wait_n or 0)
    hist = _wait_histogram(conn, period, unit)
    if wait_n < max(1, min_n) or wait_sum is None or not math.isfinite(wait_sum):
        return Measure(None, None, wait_n, min_n), Measure(None, None, sum(hist.values()), min_n)
    mean = wait_sum / wait_n / 60
    # Spread from the histogram (midpoints), centred on the exact mean.
    hn = sum(hist.values())
    sq = sum(n * (m + 0.5) ** 2 for m, n in hist.items())
    var = max(0.0, (sq - hn * mean * mean) / (hn - 1)) if hn > 1 else 0.0
    half = Z95 * math.sqrt(var / wait_n)
    mean_m = Measure(round(mean, 1), (round(max(0.0, mean - half), 1), round(mean + half, 1)), wait_n, min_n)
    if hn < max(1, min_n):
        return mean_m, Measure(None, None, hn, min_n)
    p90 = percentile_from_histogram(hist, 0.9)
    spread = Z95 * math.sqrt(hn * 0.9 * 0.1)
    lo_rank, hi_rank = max(1.0, math.floor(hn * 0.9 - spread)), min(float(hn), math.ceil(hn * 0.9 + spread))
    p90_m = Measure(p90, (_rank_value(hist, lo_rank), _rank_value(hist, hi_rank)), hn, min_n)
    return mean_m, p90_m


def share(successes: int, n: int, min_n: int) -> Measure:
    """A proportion in %, with its Wilson interval."""
    if n < max(1, min_n):
        return Measure(None, None, n, min_n)
    ci = wilson(successes, n)
    assert ci is not None
    return Measure(round(100.0 * successes / n, 1), (round(100 * ci[0], 1), round(100 * ci[1], 1)), n, min_n)


@dataclass(frozen=True)
class Lookups:
    lookups: int
    answered: int  # found or not found: the kiosk gave an answer, not a lockout or a rate limit
    found: int


def lookups(conn: sqlite3.Connection, period: Period, unit: str) -> Lookups:
    params = _days(period)
    counts = dict(
        conn.execute(
            "SELECT result, sum(n) FROM admin_case_day WHERE day >= ? AND day < ?"
            + _unit_sql(unit, params)
            + " GROUP BY result",
            params,
        ).fetchall()
    )
    found, not_found = int(counts.get("found", 0)), int(counts.get("not_found", 0))
    return Lookups(int(sum(counts.values())), found + not_found, found)


def ack_deadline(raised: datetime) -> datetime:
    """The end of the first working day (Mon-Fri, office time) after the day ``raised`` falls on."""
    day = raised.astimezone(OFFICE_TZ).date() + timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return datetime.combine(day + timedelta(days=1), time(0), OFFICE_TZ)


@dataclass(frozen=True)
class AlertFigures:
    raised: int
    acknowledged: int
    in_time: int  # acknowledged by the deadline
    decided: int  # acknowledged, or open past the deadline
    median_ack_hours: float | None


def _parse(text: str) -> datetime:
    at = datetime.fromisoformat(text)
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def alerts(conn: sqlite3.Connection, period: Period, unit: str, now: datetime) -> AlertFigures:
    """Alerts raised in the period (office days), for the unit or every unit."""
    lo = datetime.combine(period.first_day, time(0), OFFICE_TZ)
    hi = datetime.combine(period.end_day, time(0), OFFICE_TZ)
    params: list = [(lo - timedelta(days=1)).astimezone(UTC).isoformat()[:10], hi.astimezone(UTC).isoformat()[:10]]
    rows = conn.execute(
        "SELECT raised_at, ack_at FROM alerts WHERE substr(raised_at, 1, 10) >= ? AND substr(raised_at, 1, 10) <= ?"
        + _unit_sql(unit, params),
        params,
    ).fetchall()
    raised = acked = in_time = decided = 0
    hours: list[float] = []
    for r, a in rows:
        at = _parse(r)
        if not lo <= at < hi:
            continue
        raised += 1
        deadline = ack_deadline(at)
        if a:
            ack = _parse(a)
            acked += 1
            decided += 1
            in_time += ack <= deadline
            hours.append((ack - at).total_seconds() / 3600)
        elif now >= deadline:
            decided += 1
    hours.sort()
    median = round(hours[len(hours) // 2], 1) if hours else None
    return AlertFigures(raised, acked, in_time, decided, median)


def happy(fig: Figures) -> Measure:
    return Measure(fig.happy_index, fig.happy_ci, fig.n, fig.min_n)


def csat(fig: Figures) -> Measure:
    return Measure(fig.csat, fig.csat_ci, fig.n, fig.min_n)


@dataclass(frozen=True)
class Measured:
    """A unit's (or the office's) figures for a period; ``by_metric`` is what targets compare."""

    unit: str
    period: Period
    satisfaction: Figures
    wait_mean: Measure
    wait_p90: Measure
    alerts: AlertFigures
    lookups: Lookups
    by_metric: dict[str, Measure]


ALERTS_MIN_N = 10  # alerts are few: a share of in-time acknowledgements is judged from 10 on


def measure(
    conn: sqlite3.Connection, period: Period, unit: str, min_n: int, now: datetime, *, alerts_min_n: int = ALERTS_MIN_N
) -> Measured:
    """Every figure of ``unit`` ('' = the whole office) in ``period``; ``now`` decides open alerts."""
    fig = satisfaction(conn, period, unit, min_n)
    mean, p90 = waits(conn, period, unit, min_n)
    al = alerts(conn, period, unit, now)
    lk = lookups(conn, period, unit)
    by_metric = {
        "csat": csat(fig),
        "happy_index": happy(fig),
        "wait_mean": mean,
        "wait_p90": p90,
        "ack_1wd": share(al.in_time, al.decided, alerts_min_n),
        "lookups_answered": share(lk.answered, lk.lookups, min_n),
    }
    return Measured(unit, period, fig, mean, p90, al, lk, by_metric)
