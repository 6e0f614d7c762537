"""What an administrator reads: the satisfaction report, the fleet, the stored events.

The report reads only the rollups (ingest.py keeps them in step with the events,
in the same transaction): counts per hour, and the same summed per day and per
month, so its cost follows the rows it prints and the span asked for, never the
number of events. Only the window group reads rows per window; the others read
the per-unit copies, so neither grows with the number of windows.
Days and hours are the office's: Asia/Taipei, on corrected time.

Per group: the count at each level, n (presses counted), the Happy Index (the
mean on 0-100 with levels evenly spaced: on a kiosk with L buttons level 1 = 100
and level L = 0), CSAT (% of counted presses in the top two levels). Misuse
presses (a repeat within the kiosk's repeat window) are left out of all of
these and shown in a column of their own.
"""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from server_sync.collector import cells as cells_mod
from server_sync.collector import margins
from server_sync.collector.rollup import UNIT_OF
from server_sync.collector.timestamps import iso_or

GROUPS = {
    # group-by: (column headers, json keys)
    "unit": (["單位 unit"], ["unit"]),
    "window": (["單位 unit", "窗口 window"], ["unit", "window"]),
    "day": (["日期 day"], ["day"]),
    "hour": (["時段 hour"], ["hour"]),
}
TOTAL_LABEL = "合計 total"


@dataclass
class Row:
    key: tuple
    levels: dict[int, int] = field(default_factory=dict)
    n: int = 0
    misuse: int = 0
    happy_sum: float = 0.0
    top2: int = 0

    def add(self, level: int, misuse: bool, count: int, kiosk_levels: int) -> None:
        if misuse:
            self.misuse += count
            return
        self.levels[level] = self.levels.get(level, 0) + count
        self.n += count
        lv = min(level, kiosk_levels)
        self.happy_sum += count * 100.0 * (kiosk_levels - lv) / (kiosk_levels - 1)
        if level <= 2:
            self.top2 += count

    @property
    def happy_index(self) -> float | None:
        return round(self.happy_sum / self.n, 1) if self.n else None

    @property
    def csat(self) -> float | None:
        return round(100.0 * self.top2 / self.n, 1) if self.n else None


@dataclass
class Report:
    group_by: str
    date_from: date | None
    date_to: date | None
    max_level: int
    rows: list[Row]
    total: Row

    def records(self) -> list[dict[str, Any]]:
        """Rows as dicts with stable English keys (the JSON format)."""
        keys = GROUPS[self.group_by][1]
        out = []
        for row in [*self.rows, self.total]:
            rec: dict[str, Any] = dict(zip(keys, row.key))
            for lv in range(1, self.max_level + 1):
                rec[f"level_{lv}"] = row.levels.get(lv, 0)
            # csat_margin: 在 95% 信心水準下，抽樣誤差約 ±x 個百分點 (margins.py)
            rec.update(
                n=row.n,
                happy_index=row.happy_index,
                csat=row.csat,
                csat_margin=margins.margin_points(row.top2, row.n),
                misuse=row.misuse,
            )
            out.append(rec)
        return out


def _month_start(d: date) -> date:
    return d.replace(day=1)


def _next_month(d: date) -> date:
    return (d.replace(day=28) + timedelta(days=4)).replace(day=1)


def _hour_bound(d: date | None) -> str | None:
    return None if d is None else f"{d.isoformat()} 00"


def _day_bound(d: date | None) -> str | None:
    return None if d is None else d.isoformat()


def _month_bound(d: date | None) -> str | None:
    return None if d is None else d.isoformat()[:7]


def plan(
    date_from: date | None, date_to: date | None, group_by: str, source: str = "auto"
) -> list[tuple[str, str, str | None, str | None]]:
    """Which rollup rows answer the report: [(table, period column, from, to)], bounds
    inclusive-exclusive as period strings, None for open. Hours for group-by hour, days
    for group-by day; for unit and window whole months from the monthly rollups and
    the days at either end from the daily ones. source="hour" reads hours only."""
    end = date_to + timedelta(days=1) if date_to else None  # exclusive
    if group_by == "hour" or source == "hour":
        return [("rollups", "hour", _hour_bound(date_from), _hour_bound(end))]
    if group_by == "day":
        return [("rollups_day", "day", _day_bound(date_from), _day_bound(end))]
    # Whole months inside [date_from, end).
    m_lo = None if date_from is None else (date_from if date_from.day == 1 else _next_month(date_from))
    m_hi = None if end is None else _month_start(end)
    if m_lo is not None and m_hi is not None and m_lo >= m_hi:
        return [("rollups_day", "day", _day_bound(date_from), _day_bound(end))]
    parts = [("rollups_month", "month", _month_bound(m_lo), _month_bound(m_hi))]
    # m_lo is None only when date_from is, m_hi only when end is.
    if date_from is not None and m_lo is not None and date_from < m_lo:
        parts.append(("rollups_day", "day", _day_bound(date_from), _day_bound(m_lo)))
    if end is not None and m_hi is not None and m_hi < end:
        parts.append(("rollups_day", "day", _day_bound(m_hi), _day_bound(end)))
    return parts


def _group_exprs(group_by: str, period: str) -> list[str]:
    if group_by == "unit":
        return ["unit"]
    if group_by == "window":
        return ["unit", "window"]
    if group_by == "day":
        return ["day"] if period == "day" else ["substr(hour, 1, 10)"]
    return ["hour || ':00'"]


def report(
    conn: sqlite3.Connection,
    *,
    date_from: date | None = None,
    date_to: date | None = None,
    group_by: str = "unit",
    source: str = "auto",
) -> Report:
    """The satisfaction report over whole office days [date_from, date_to] (either may be open)."""
    if group_by not in GROUPS:
        raise ValueError(f"group_by must be one of {', '.join(GROUPS)}")
    kiosk_levels = dict(conn.execute("SELECT id, levels FROM kiosks"))
    max_level = max(kiosk_levels.values(), default=5)
    if group_by == "window":
        windows, window_total = _by_window(conn, plan(date_from, date_to, group_by, source))
        return Report(group_by, date_from, date_to, max_level, windows, window_total)
    # The other groups read the per-unit rollups, which carry the kiosks' button count ("scale").
    scale = "levels"
    selects, params = [], []
    k = 0
    for table, period, lo, hi in plan(date_from, date_to, group_by, source):
        table = UNIT_OF[table]
        exprs = _group_exprs(group_by, period)
        k = len(exprs)
        where = []
        if lo is not None:
            where.append(f"{period} >= ?")
            params.append(lo)
        if hi is not None:
            where.append(f"{period} < ?")
            params.append(hi)
        selects.append(
            f"SELECT {', '.join(f'{e} AS g{i}' for i, e in enumerate(exprs))}, {scale} AS scale, level, misuse, n"
            f" FROM {table}" + (" WHERE " + " AND ".join(where) if where else "")
        )
    gcols = ", ".join(f"g{i}" for i in range(k))
    sql = (
        f"SELECT {gcols}, scale, level, misuse, sum(n) FROM ({' UNION ALL '.join(selects)})"
        f" GROUP BY {gcols}, scale, level, misuse ORDER BY {gcols}"
    )
    rows: dict[tuple, Row] = {}
    total = Row((TOTAL_LABEL,) + ("",) * (k - 1))
    for rec in conn.execute(sql, params):
        key = tuple(rec[:k])
        by, level, misuse, count = rec[k:]
        L = by
        row = rows.get(key)
        if row is None:
            row = rows[key] = Row(key)
        row.add(level, bool(misuse), count, L)
        total.add(level, bool(misuse), count, L)
        max_level = max(max_level, level)
    return Report(group_by, date_from, date_to, max_level, list(rows.values()), total)


# The window group reads the dashboard's per-window rollups: one row per window and day (or month)
# holding every level's count and the Happy Index's sum on that kiosk's scale, where the report's
# own hold one row per kiosk, level and misuse (ten times as many for 500 windows).
_WINDOW_SOURCE = {"rollups": ("admin_sat_hour", "day", 10), "rollups_day": ("admin_sat_day", "day", 10)}
_WINDOW_SOURCE["rollups_month"] = ("admin_sat_mon", "month", 7)


def _by_window(conn: sqlite3.Connection, parts) -> tuple[list[Row], Row]:
    selects, params = [], []
    for table, _, lo, hi in parts:
        source, col, cut = _WINDOW_SOURCE[table]
        where = []
        if lo is not None:  # hour bounds are whole days ('YYYY-MM-DD 00'): the day is the bound
            where.append(f"{col} >= ?")
            params.append(lo[:cut])
        if hi is not None:
            where.append(f"{col} < ?")
            params.append(hi[:cut])
        selects.append(
            f"SELECT unit, window, l1, l2, l3, l4, l5, misuse, happy_sum FROM {source}"
            + (" WHERE " + " AND ".join(where) if where else "")
        )
    sql = (
        "SELECT unit, window, sum(l1), sum(l2), sum(l3), sum(l4), sum(l5), sum(misuse), sum(happy_sum)"
        f" FROM ({' UNION ALL '.join(selects)}) GROUP BY unit, window ORDER BY unit, window"
    )
    rows = []
    total = Row((TOTAL_LABEL, ""))
    for unit, window, *counts, misuse, happy_sum in conn.execute(sql, params):
        row = Row((unit, window))
        for target in (row, total):
            for lv, c in enumerate(counts, start=1):
                if c:
                    target.levels[lv] = target.levels.get(lv, 0) + c
            target.n += sum(counts)
            target.top2 += counts[0] + counts[1]
            target.misuse += misuse
            target.happy_sum += happy_sum
        if row.n or row.misuse:
            rows.append(row)
    return rows, total


def _headers(rep: Report) -> list[str]:
    return [
        *GROUPS[rep.group_by][0],
        *[f"等級{lv} level {lv}" for lv in range(1, rep.max_level + 1)],
        "有效數 n",
        "快樂指數 Happy Index",
        "滿意度 CSAT %",
        "抽樣誤差 margin ±pp (95%)",
        "誤觸 misuse",
    ]


def _cells(rep: Report) -> list[list[str]]:
    keys = GROUPS[rep.group_by][1]
    out = []
    for rec in rep.records():
        out.append(
            [str(rec[k]) for k in keys]
            + [str(rec[f"level_{lv}"]) for lv in range(1, rep.max_level + 1)]
            + [
                str(rec["n"]),
                "-" if rec["happy_index"] is None else f"{rec['happy_index']:.1f}",
                "-" if rec["csat"] is None else f"{rec['csat']:.1f}",
                "-" if rec["csat_margin"] is None else f"±{rec['csat_margin']:.1f}",
                str(rec["misuse"]),
            ]
        )
    return out


def sheet(rep: Report) -> tuple[str, list[str], list[list[Any]]]:
    """Title, headers and rows with numbers as numbers (None for a figure with no responses),
    for a spreadsheet (the ODS report)."""
    keys = GROUPS[rep.group_by][1]
    rows = [
        [rec[k] for k in keys]
        + [rec[f"level_{lv}"] for lv in range(1, rep.max_level + 1)]
        + [rec["n"], rec["happy_index"], rec["csat"], rec["csat_margin"], rec["misuse"]]
        for rec in rep.records()
    ]
    span = f"{rep.date_from or '…'} – {rep.date_to or '…'}"
    return f"滿意度報表 Satisfaction report {span} (Asia/Taipei)", _headers(rep), rows


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _pad(text: str, width: int, right: bool) -> str:
    gap = " " * (width - _width(text))
    return gap + text if right else text + gap


def table(headers: list[str], rows: list[list[str]], numeric_from: int = 0) -> str:
    widths = [max([_width(h)] + [_width(r[i]) for r in rows]) for i, h in enumerate(headers)]

    def line(cells):
        return "  ".join(_pad(c, widths[i], i >= numeric_from) for i, c in enumerate(cells)).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(headers), rule, *(line(r) for r in rows)]) + "\n"


def render(rep: Report, fmt: str) -> str:
    if fmt == "json":
        return (
            json.dumps(
                {
                    "group_by": rep.group_by,
                    "from": rep.date_from and rep.date_from.isoformat(),
                    "to": rep.date_to and rep.date_to.isoformat(),
                    "timezone": "Asia/Taipei",
                    "rows": rep.records(),
                },
                ensure_ascii=False,
                indent=1,
            )
            + "\n"
        )
    headers, cells = _headers(rep), _cells(rep)
    if fmt == "csv":
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n", quoting=csv.QUOTE_ALL)
        w.writerow(headers)
        keys = len(GROUPS[rep.group_by][1])  # unit, window...: a kiosk's text, made inert (cells.py)
        w.writerows(cells_mod.row(r[:keys]) + r[keys:] for r in cells)
        return buf.getvalue()
    span = f"{rep.date_from or '…'} – {rep.date_to or '…'}"
    title = (
        f"滿意度報表 Satisfaction report  {span} (Asia/Taipei)\n"
        "等級1 = 最滿意 most satisfied; 快樂指數 Happy Index 0-100; "
        "滿意度 CSAT = % in the top two levels; 誤觸 misuse presses are not counted.\n\n"
    )
    return title + table(headers, cells, numeric_from=len(GROUPS[rep.group_by][0]))


# -- the fleet -----------------------------------------------------------------------


def fleet(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    rows = conn.execute("""
        SELECT k.name, k.levels, k.revoked_at, k.last_seen, k.last_store_id, s.acked_seq, s.max_seq,
               k.backlog, k.software_version, k.clock_offset, k.unit, k.window, k.refused, k.dropped, k.refused_at
        FROM kiosks k LEFT JOIN streams s ON s.kiosk = k.id AND s.store_id = k.last_store_id
        ORDER BY k.name""").fetchall()
    # refused: events answered 429 (too fast); dropped: acknowledged past the per-hour cap (volume.py).
    return [
        {
            "kiosk": r[0],
            "levels": r[1],
            "status": "revoked" if r[2] else "active",
            "last_seen": r[3],
            "store_id": r[4],
            "acked_seq": r[5],
            "max_seq": r[6],
            "backlog": r[7],
            "software_version": r[8],
            "clock_offset": r[9],
            "unit": r[10],
            "window": r[11],
            "refused": r[12],
            "dropped": r[13],
            "refused_at": r[14],
        }
        for r in rows
    ]


def fleet_table(rows: list[dict[str, Any]]) -> str:
    headers = [
        "機台 kiosk",
        "單位 unit",
        "窗口 window",
        "狀態 status",
        "最後連線 last seen (UTC)",
        "已確認 acked seq",
        "最大序號 max seq",
        "待傳 backlog",
        "版本 version",
        "時差 clock offset s",
        "拒收 refused",
        "捨棄 dropped",
    ]

    def s(v):
        return "-" if v is None else str(v)

    cells = [
        [
            r["kiosk"],
            r["unit"] or "-",
            r["window"] or "-",
            "啟用 active" if r["status"] == "active" else "已撤銷 revoked",
            s(r["last_seen"]),
            s(r["acked_seq"]),
            s(r["max_seq"]),
            s(r["backlog"]),
            s(r["software_version"] or None),
            s(r["clock_offset"]),
            s(r["refused"]),
            s(r["dropped"]),
        ]
        for r in rows
    ]
    return table(headers, cells, numeric_from=5).rstrip("\n")


# -- events --------------------------------------------------------------------------


def iter_events(
    conn: sqlite3.Connection, *, kiosk: str | None = None, type: str | None = None
) -> Iterator[dict[str, Any]]:
    sql = (
        "SELECT e.id, e.seq, e.type, e.kiosk_id, e.unit, e.window, e.level, e.misuse, e.ref,"
        " e.recorded_at, e.boot_id, e.monotonic, e.detail, k.name, e.store_id, e.corrected_at,"
        " e.time_suspect, e.received_at FROM events e JOIN kiosks k ON k.id = e.kiosk"
    )
    where, params = [], []
    if kiosk:
        where.append("k.name = ?")
        params.append(kiosk)
    if type:
        where.append("e.type = ?")
        params.append(type)
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY e.pk"
    for r in conn.execute(sql, params):
        out = {
            "id": r[0],
            "seq": r[1],
            "type": r[2],
            "kiosk_id": r[3],
            "unit": r[4],
            "window": r[5],
            "level": r[6],
            "misuse": bool(r[7]),
            "ref": r[8],
            "recorded_at": r[9],
            "boot_id": r[10],
            "monotonic": r[11],
        }
        if r[12]:
            out.update({k: v for k, v in json.loads(r[12]).items() if k not in out})
        out.update(
            kiosk=r[13], store_id=r[14], corrected_at=iso_or(r[15], r[9]), time_suspect=bool(r[16]), received_at=r[17]
        )
        yield out
