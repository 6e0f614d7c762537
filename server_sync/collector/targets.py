"""Annual quantitative targets (量化指標, the plan's 陸、一、(三)): per year, office-wide and per unit.

A manager sets each year's targets; a unit without its own value for a metric has the office's.
A year nobody has set yet shows the bundled default set (marked as such), and the public page
lists only what a manager set. A target is judged against the measured figure's 95 % interval
(measures.py), never the bare value, so a year of 40 responses cannot claim a CSAT of 86 % beats
85 %:

* 達成 met: the whole interval is on the target's good side;
* 未達成 not met: the whole interval is on the wrong side;
* 尚無法判定 cannot tell yet: the interval straddles the target, or n is below the minimum.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime

from server_sync.collector.measures import Measure


@dataclass(frozen=True)
class Metric:
    key: str
    zh: str
    en: str
    direction: str  # ">=" (at least) or "<=" (at most)
    unit: str  # what the number is in: "%", "分 min", "" (0-100 index)
    default: float
    upper: float  # largest threshold a manager may set

    @property
    def label(self) -> str:
        return f"{self.zh} {self.en}"

    def phrase(self, threshold: float) -> str:
        sign = "≥" if self.direction == ">=" else "≤"
        return f"{sign} {threshold:g}{(' ' + self.unit) if self.unit and self.unit != '%' else self.unit}"


METRICS: dict[str, Metric] = {
    m.key: m
    for m in (
        Metric("csat", "滿意度", "satisfaction (CSAT)", ">=", "%", 85, 100),
        Metric("happy_index", "快樂指數", "Happy Index", ">=", "", 75, 100),
        Metric("wait_mean", "平均等候", "mean wait", "<=", "分 min", 10, 600),
        Metric("wait_p90", "等候 P90", "p90 wait", "<=", "分 min", 20, 600),
        Metric("ack_1wd", "通報 1 個工作天內處理", "alerts acknowledged within 1 working day", ">=", "%", 90, 100),
        Metric("lookups_answered", "案件查詢有回應", "case lookups answered", ">=", "%", 95, 100),
    )
}

MET, NOT_MET, UNDECIDED = "met", "not_met", "undecided"
VERDICT_LABEL = {MET: "達成 met", NOT_MET: "未達成 not met", UNDECIDED: "尚無法判定 cannot tell yet"}


class TargetError(ValueError):
    pass


@dataclass(frozen=True)
class Target:
    metric: Metric
    threshold: float
    unit: str  # whose value it is: '' for the office's, else the unit's own


@dataclass(frozen=True)
class Verdict:
    code: str
    reason: str

    @property
    def label(self) -> str:
        return VERDICT_LABEL[self.code]


def create_tables(db) -> None:
    """The m501 migration (db.py)."""
    db.execute("""CREATE TABLE annual_targets (
                    year INTEGER NOT NULL,
                    unit TEXT NOT NULL,                -- '' = the whole office
                    metric TEXT NOT NULL,              -- a key of targets.METRICS
                    threshold REAL NOT NULL,
                    set_by TEXT NOT NULL,
                    set_at TEXT NOT NULL,
                    PRIMARY KEY (year, unit, metric)) WITHOUT ROWID""")


def judge(metric: Metric, threshold: float, m: Measure) -> Verdict:
    if m.too_few or m.value is None or m.ci is None:
        return Verdict(UNDECIDED, f"樣本不足 n = {m.n} < {m.min_n}")
    lo, hi = m.ci
    good_all = lo >= threshold if metric.direction == ">=" else hi <= threshold
    bad_all = hi < threshold if metric.direction == ">=" else lo > threshold
    if good_all:
        return Verdict(MET, "")
    if bad_all:
        return Verdict(NOT_MET, "")
    return Verdict(UNDECIDED, "信賴區間跨越目標 the interval straddles the target")


def stored(conn: sqlite3.Connection, year: int) -> dict[tuple[str, str], float]:
    """(unit, metric) → threshold, as a manager set them for ``year``."""
    return {
        (u, m): t
        for u, m, t in conn.execute("SELECT unit, metric, threshold FROM annual_targets WHERE year = ?", [year])
        if m in METRICS
    }


def effective(conn: sqlite3.Connection, year: int, unit: str) -> tuple[list[Target], bool]:
    """The targets that hold for ``unit`` ('' = office) in ``year``, and whether they are the
    bundled defaults (nobody set any for that year)."""
    values = stored(conn, year)
    if not values:
        return [Target(m, m.default, "") for m in METRICS.values()], True
    out = []
    for m in METRICS.values():
        if unit and (unit, m.key) in values:
            out.append(Target(m, values[(unit, m.key)], unit))
        elif ("", m.key) in values:
            out.append(Target(m, values[("", m.key)], ""))
    return out, False


def units_with_targets(conn: sqlite3.Connection, year: int) -> list[str]:
    return [u for (u,) in conn.execute("SELECT DISTINCT unit FROM annual_targets WHERE year = ? ORDER BY unit", [year])]


def parse_threshold(metric: Metric, text: str) -> float | None:
    """A form's value: blank for none, else a number within the metric's range."""
    text = text.strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise TargetError(f"{metric.label}: 須為數字 must be a number, got {text[:20]!r}") from None
    if not 0 <= value <= metric.upper:
        raise TargetError(f"{metric.label}: 須在 0 至 {metric.upper:g} must be 0 to {metric.upper:g}")
    return value


def set_targets(
    conn: sqlite3.Connection,
    year: int,
    unit: str,
    values: dict[str, float | None],
    by: str,
    now: datetime | None = None,
) -> dict[str, float | None]:
    """Set (a number) or clear (None) ``unit``'s targets for ``year``; what changed, for the audit log."""
    if not 2000 <= year <= 2100:
        raise TargetError("年度錯誤 / year must be 2000-2100")
    unit = unit.strip()[:64]
    at = (now or datetime.now(UTC)).isoformat(timespec="seconds")
    before = stored(conn, year)
    changed: dict[str, float | None] = {}
    for key, value in values.items():
        if key not in METRICS:
            raise TargetError(f"沒有此指標 unknown metric {key!r}")
        if before.get((unit, key)) == value:
            continue
        if value is None:
            if (unit, key) in before:
                conn.execute("DELETE FROM annual_targets WHERE year = ? AND unit = ? AND metric = ?", [year, unit, key])
                changed[key] = None
            continue
        conn.execute(
            "INSERT INTO annual_targets VALUES (?,?,?,?,?,?) ON CONFLICT (year, unit, metric) DO UPDATE SET"
            " threshold = excluded.threshold, set_by = excluded.set_by, set_at = excluded.set_at",
            [year, unit, key, value, by, at],
        )
        changed[key] = value
    return changed


def adopt_defaults(conn: sqlite3.Connection, year: int, by: str, now: datetime | None = None) -> dict:
    """The bundled set as the office's targets for ``year`` (a unit's own values stay)."""
    return set_targets(conn, year, "", {m.key: m.default for m in METRICS.values()}, by, now)


@dataclass(frozen=True)
class Row:
    """One target beside what was measured, as the dashboard and the self-evaluation show it."""

    target: Target
    measure: Measure
    verdict: Verdict


def compare(targets: list[Target], by_metric: dict[str, Measure]) -> list[Row]:
    return [
        Row(t, by_metric[t.metric.key], judge(t.metric, t.threshold, by_metric[t.metric.key]))
        for t in targets
        if t.metric.key in by_metric
    ]
