"""The measured evidence the collector fills in beside each evaluation item.

For a unit (or, with unit '', the whole office) and a year: satisfaction with its interval and
last year's beside it (and whether the change is more than chance), waits, alerts and how fast
they were acknowledged, case lookups, telephone-courtesy test scores (courtesy/scores.py), the
annual targets met, and the reasons visitors gave most. Each kind of evidence is a few lines of
text, zh-TW then English, as the document prints them.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime

from server_sync.collector import targets as targets_mod
from server_sync.collector.courtesy.scores import BAND_EN, NO_DATA, CourtesyYear, band_for, yearly_scores
from server_sync.collector.measures import Measure, Measured, Period, measure
from server_sync.collector.stats import TOO_FEW

# What a year-on-year figure says when the previous year had no responses at all.
NO_PREVIOUS = "無前一年資料 no data for the previous year"


@dataclass(frozen=True)
class Evidence:
    year: int
    unit: str
    cur: Measured
    prev: Measured
    courtesy: CourtesyYear
    targets: list[targets_mod.Row]
    targets_default: bool
    reasons: list[tuple[str, int]]


def _office_courtesy(scores: dict[str, CourtesyYear]) -> CourtesyYear:
    tests = sum(c.tests for c in scores.values() if c.mean_score is not None)
    if not tests:
        return CourtesyYear(None, 0, NO_DATA)
    mean = round(sum(c.mean_score * c.tests for c in scores.values() if c.mean_score is not None) / tests, 1)
    return CourtesyYear(mean, tests, band_for(mean))


def top_reasons(conn: sqlite3.Connection, period: Period, unit: str, limit: int = 5) -> list[tuple[str, int]]:
    params: list = [period.first_day.isoformat(), period.end_day.isoformat()]
    sql = "SELECT reason, sum(n) FROM admin_reason_day WHERE day >= ? AND day < ?"
    if unit:
        sql += " AND unit = ?"
        params.append(unit)
    sql += " GROUP BY reason ORDER BY sum(n) DESC, reason LIMIT ?"
    return [(r, int(n)) for r, n in conn.execute(sql, [*params, limit])]


def gather(conn: sqlite3.Connection, year: int, unit: str, min_n: int, now: datetime) -> Evidence:
    cur = measure(conn, Period.year(year), unit, min_n, now)
    prev = measure(conn, Period.year(year - 1), unit, min_n, now)
    scores = yearly_scores(conn, year, [unit] if unit else None)
    courtesy = scores[unit] if unit else _office_courtesy(scores)
    tgts, default = targets_mod.effective(conn, year, unit)
    return Evidence(
        year,
        unit,
        cur,
        prev,
        courtesy,
        targets_mod.compare(tgts, cur.by_metric),
        default,
        top_reasons(conn, Period.year(year), unit),
    )


def _v(m: Measure, suffix: str = "") -> str:
    if m.value is None:
        return f"{TOO_FEW} (n = {m.n})"
    ci = f"; 95% 信賴區間 CI {m.ci[0]:g}–{m.ci[1]:g}" if m.ci else ""
    return f"{m.value:g}{suffix} (n = {m.n}{ci})"


def _last_year(m: Measure, suffix: str = "") -> str:
    """Last year's figure; a year without any response is said so, not shown as a figure."""
    return NO_PREVIOUS if m.n == 0 else _v(m, suffix)


def _change(cur: Measure, prev: Measure) -> str:
    if prev.n == 0:
        return f"與去年比較：{NO_PREVIOUS}"
    if cur.ci is None or prev.ci is None or cur.value is None or prev.value is None:
        return "與去年比較:任一年樣本不足 / against last year: too few responses in one of the years"
    delta = round(cur.value - prev.value, 1)
    if cur.ci[0] > prev.ci[1] or cur.ci[1] < prev.ci[0]:
        word = "上升 up" if delta > 0 else "下降 down"
        return f"與去年比較 {word} {delta:+g},兩年區間不重疊 / the intervals do not overlap"
    return f"與去年比較 {delta:+g},區間重疊,差異可能只是抽樣變動 / the intervals overlap: may be chance"


def lines(ev: Evidence, kind: str) -> list[str]:
    """The evidence of ``kind`` (a key of items.EVIDENCE) as printable lines."""
    c, p = ev.cur, ev.prev
    if kind == "satisfaction":
        return [
            f"滿意度 CSAT {ev.year}: {_v(c.by_metric['csat'], '%')}; {ev.year - 1}: {_last_year(p.by_metric['csat'], '%')}",
            _change(c.by_metric["csat"], p.by_metric["csat"]),
            f"快樂指數 Happy Index {ev.year}: {_v(c.by_metric['happy_index'])}; "
            f"{ev.year - 1}: {_last_year(p.by_metric['happy_index'])}",
        ]
    if kind == "waits":
        return [
            f"平均等候 mean wait: {_v(c.wait_mean, ' 分 min')}; 去年 last year {_last_year(p.wait_mean, ' 分 min')}",
            f"等候 P90 p90 wait: {_v(c.wait_p90, ' 分 min')}; 去年 last year {_last_year(p.wait_p90, ' 分 min')}",
        ]
    if kind == "alerts":
        a = c.alerts
        return [
            f"通報 alerts: {a.raised}; 已處理 acknowledged {a.acknowledged}; "
            f"處理時間中位數 median {'—' if a.median_ack_hours is None else a.median_ack_hours} 小時 hours",
            f"1 個工作天內處理 within 1 working day: {a.in_time} / {a.decided} = {_v(c.by_metric['ack_1wd'], '%')}",
        ]
    if kind == "lookups":
        lk = c.lookups
        return [
            f"案件查詢 case lookups: {lk.lookups}; 查到 found {lk.found}; 有回應 answered {lk.answered} "
            f"({_v(c.by_metric['lookups_answered'], '%')}); 去年 last year {p.lookups.lookups}",
        ]
    if kind == "courtesy":
        ct = ev.courtesy
        if ct.mean_score is None:
            return [f"電話禮貌測試 telephone-courtesy tests: {NO_DATA} / none recorded in {ev.year}"]
        return [
            f"電話禮貌測試 telephone-courtesy tests: {ct.tests} 次 tests, 平均 mean {ct.mean_score:g} 分 points, "
            f"{ct.band} {BAND_EN.get(ct.band, '')}"
        ]
    if kind == "targets":
        met = sum(r.verdict.code == targets_mod.MET for r in ev.targets)
        head = f"年度目標 annual targets: 達成 met {met} / {len(ev.targets)}" + (
            " (預設目標 the bundled defaults: none set for this year)" if ev.targets_default else ""
        )
        return [head] + [
            f"{r.target.metric.label} {r.target.metric.phrase(r.target.threshold)}: {_v(r.measure)} → {r.verdict.label}"
            for r in ev.targets
        ]
    if kind == "reasons":
        if not ev.reasons:
            return ["追問原因 follow-up reasons: 無 none"]
        return ["最常見的追問原因 the reasons given most: " + "; ".join(f"{r} {n}" for r, n in ev.reasons)]
    return []
