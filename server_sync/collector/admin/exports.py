"""Every dashboard table as CSV, XLSX and ODS; the annual self-evaluation's figures part.

CSV is UTF-8 with a byte-order mark, which is what makes Excel on a Taiwanese
office PC open Chinese text correctly. Suppressed figures (below the minimum n)
are written as 回覆數不足, never as a number. The PDF is laid out from HTML by
WeasyPrint, which embeds (subsets of) the Noto Sans CJK TC font through
fontconfig, so it prints right on a PC without CJK fonts.

Every cell of every format goes through ``cells.cell`` (OWASP's CSV-injection guard): text
from a kiosk or an upload never becomes a formula, CSV quotes every text cell, and XLSX
stores text as text.
"""

from __future__ import annotations

import csv
import io
import sqlite3
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from server_sync.collector import cells, margins, odf
from server_sync.collector.admin import charts
from server_sync.collector.admin import queries as q
from server_sync.collector.evaluation.evidence import NO_PREVIOUS
from server_sync.collector.stats import TOO_FEW, Figures
from server_sync.collector.timestamps import office_time, office_zone_heading

SUPPRESSED = "回覆數不足"
MARGIN_HEAD = "抽樣誤差 margin ±pp (95%)"  # margins.py: 在 95% 信心水準下，抽樣誤差約 ±x 個百分點


@dataclass
class Table:
    name: str  # file name stem, e.g. "levels"
    title: str  # zh-TW and English
    headers: list[str]
    rows: list[list[Any]]


def _num(value):
    return SUPPRESSED if value is None else value


def _ci(ci):
    return (SUPPRESSED, SUPPRESSED) if ci is None else ci


def _reason_margin(d: q.Dashboard, r: dict) -> float | None:
    return margins.share_of(r["n"], sum(x["n"] for x in d.reasons), d.min_n)


def fig_cells(fig: Figures, max_level: int) -> list[Any]:
    hi_lo, hi_hi = _ci(fig.happy_ci)
    cs_lo, cs_hi = _ci(fig.csat_ci)
    return [fig.levels.get(lv, 0) for lv in range(1, max_level + 1)] + [
        fig.n,
        _num(fig.happy_index),
        hi_lo,
        hi_hi,
        _num(fig.csat),
        cs_lo,
        cs_hi,
        _num(margins.csat(fig)),
        fig.misuse,
    ]


def fig_headers(max_level: int) -> list[str]:
    return [f"等級{lv} level {lv}" for lv in range(1, max_level + 1)] + [
        "有效數 n",
        "快樂指數 Happy Index",
        "快樂指數95%下限 HI CI low",
        "快樂指數95%上限 HI CI high",
        "滿意度 CSAT %",
        "滿意度95%下限 CSAT CI low",
        "滿意度95%上限 CSAT CI high",
        MARGIN_HEAD,
        "誤觸 misuse",
    ]


def dashboard_tables(d: q.Dashboard, fleet: list[dict] | None = None) -> dict[str, Table]:
    ml = d.max_level
    lv = Table(
        "levels",
        "各等級分布 Responses by level",
        ["等級 level", "次數 count", "百分比 %", MARGIN_HEAD],
        [
            [i, d.total.levels.get(i, 0), _num(d.total.share(i)), _num(margins.level(d.total, i))]
            for i in range(1, ml + 1)
        ]
        + [["有效數 n", d.total.n, "", ""], ["誤觸(未計) misuse (not counted)", d.total.misuse, "", ""]],
    )
    summary = Table(
        "summary",
        "滿意度摘要 Satisfaction summary",
        ["篩選 filter", *fig_headers(ml)],
        [[d.filter.label(), *fig_cells(d.total, ml)]],
    )
    tables = {
        "summary": summary,
        "levels": lv,
        "trend": Table(
            "trend",
            "趨勢 Trend",
            [f"期間 period ({d.filter.trend})", *fig_headers(ml)],
            [[p, *fig_cells(f, ml)] for p, f in d.trend],
        ),
        "heatmap": Table(
            "heatmap",
            "星期×時段 Weekday × hour",
            ["星期 weekday", "時 hour", "有效數 n", "快樂指數 Happy Index"],
            [[q.WEEKDAYS[dow], hod, f.n, _num(f.happy_index)] for (dow, hod), f in sorted(d.heat.items())],
        ),
        "units": Table(
            "units",
            "單位排名 Ranking of units",
            ["名次 rank", "單位 unit", *fig_headers(ml)],
            [[i + 1, k[0], *fig_cells(f, ml)] for i, (k, f) in enumerate(d.rank_units)],
        ),
        "windows": Table(
            "windows",
            "窗口排名 Ranking of windows",
            ["名次 rank", "單位 unit", "窗口 window", *fig_headers(ml)],
            [[i + 1, k[0], k[1], *fig_cells(f, ml)] for i, (k, f) in enumerate(d.rank_windows)],
        ),
        "services": Table(
            "services",
            "服務排名 Ranking of services",
            ["名次 rank", "服務 service", "英文名稱 English name", "代碼 code", *fig_headers(ml)],
            [[i + 1, *d.names.service(k[0]), k[0], *fig_cells(f, ml)] for i, (k, f) in enumerate(d.rank_services)],
        ),
        "reasons": Table(
            "reasons",
            "追問原因 Follow-up reasons",
            ["原因 reason", "英文名稱 English name", "代碼 code", "次數 count", "百分比 %", MARGIN_HEAD],
            [
                [*d.names.reason(r["reason"]), r["reason"], r["n"], r["share"], _num(_reason_margin(d, r))]
                for r in d.reasons
            ],
        ),
    }
    qt = d.queues["total"]
    qcols = [
        "issued",
        "called",
        "no_show",
        "no_show_rate",
        "wait_mean_min",
        "wait_p90_min",
        "service_mean_min",
        "service_p90_min",
        "tickets_per_hour",
        "estimate_mae_min",
        "estimate_in_band",
    ]
    qheads = [
        "發號 issued",
        "叫號 called",
        "未到 no-show",
        "未到率 no-show %",
        "平均等候 mean wait (min)",
        "等候P90 p90 wait (min)",
        "平均服務 mean service (min)",
        "服務P90 p90 service (min)",
        "每小時發號 tickets/hour",
        "預估誤差 estimate MAE (min)",
        "落在預估區間 in band %",
    ]
    tables["queues"] = Table(
        "queues",
        "叫號與等候 Queues",
        ["服務 service", *qheads, "英文名稱 English name", "代碼 code"],
        [["合計 total", *[qt[c] for c in qcols], "total", ""]]
        + [
            [d.names.service(s["service"])[0], *[s[c] for c in qcols], d.names.service(s["service"])[1], s["service"]]
            for s in d.queues["services"]
        ],
    )
    c = d.cases
    tables["cases"] = Table(
        "cases",
        "案件查詢 Case lookups",
        ["項目 item", "次數 count"],
        [
            ["查詢 lookups", c["lookups"]],
            ["查無/驗證錯誤 not found", c["not_found"]],
            ["鎖定 lockouts", c["locked"]],
            ["限速 rate-limited", c["rate_limited"]],
            ["查到 found", c["found"]],
        ],
    )
    if fleet is not None:
        tables["fleet"] = fleet_table(fleet)
    return tables


def fleet_table(rows: list[dict]) -> Table:
    return Table(
        "fleet",
        "機台 Fleet",
        [
            "機台 kiosk",
            "狀態 status",
            f"最後同步 last sync ({office_zone_heading()})",
            "待傳 backlog",
            "時差 clock offset (s)",
            "版本 version",
            "靜默 silent (h)",
        ],
        [
            [
                r["kiosk"],
                r["status"],
                office_time(r["last_seen"], seconds=True, labelled=False, empty=""),
                r["backlog"],
                r["clock_offset"],
                r["software_version"] or "",
                r.get("silent_hours"),
            ]
            for r in rows
        ],
    )


def alerts_table(rows: list[dict]) -> Table:
    return Table(
        "alerts",
        "通報與處理紀錄 Alerts and how they were handled",
        [
            "編號 id",
            f"發出 raised ({office_zone_heading()})",
            f"發生 happened ({office_zone_heading()})",
            "單位 unit",
            "窗口 window",
            "機台 kiosk",
            "內容 summary",
            "處理人 acknowledged by",
            f"處理時間 acknowledged at ({office_zone_heading()})",
            "處理說明 what was done",
        ],
        [
            [
                a["id"],
                office_time(a["raised_at"], seconds=True, labelled=False, empty=""),
                a["event_time"] or "",
                a["unit"],
                a["window"],
                a["kiosk"],
                a["summary"],
                a["ack_by"] or "",
                office_time(a["ack_at"], seconds=True, labelled=False, empty=""),
                a["ack_note"] or "",
            ]
            for a in rows
        ],
    )


def audit_table(rows: list[dict]) -> Table:
    return Table(
        "audit",
        "操作紀錄 Audit log",
        [f"時間 at ({office_zone_heading()})", "帳號 user", "動作 action", "對象 target", "內容 detail"],
        [
            [office_time(r["at"], seconds=True, labelled=False), r["user"], r["action"], r["target"], r["detail"]]
            for r in rows
        ],
    )


def to_csv(table: Table) -> bytes:
    buf = io.StringIO()
    # Every text cell quoted, numbers bare (OWASP: a quoted cell cannot split into new cells).
    w = csv.writer(buf, lineterminator="\r\n", quoting=csv.QUOTE_NONNUMERIC)
    w.writerow(cells.row(table.headers))
    for row in table.rows:
        w.writerow(cells.row(row))
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def _append_text(ws, values) -> None:
    """A sheet row of inert cells, text stored as text (data type 's'), never as a formula."""
    values = cells.row(values)
    ws.append(values)
    for col, value in enumerate(values, start=1):
        if isinstance(value, str):
            ws.cell(row=ws.max_row, column=col).data_type = "s"


def to_xlsx(tables: list[Table], notes: list[str] | None = None) -> bytes:
    # Loaded only when a spreadsheet is asked for: openpyxl takes a while to import.
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    wb = Workbook()
    wb.remove(wb.active)
    for t in tables:
        ws = wb.create_sheet(t.name[:31])
        _append_text(ws, [t.title])
        ws["A1"].font = Font(bold=True, size=13)
        _append_text(ws, t.headers)
        for cell in ws[2]:
            cell.font = Font(bold=True)
            cell.alignment = Alignment(wrap_text=True, vertical="top")
        for row in t.rows:
            _append_text(ws, row)
        for i, h in enumerate(t.headers, start=1):
            width = max([len(str(h)) * 0.9] + [len(str(r[i - 1])) * 1.6 for r in t.rows[:200] if i - 1 < len(r)])
            ws.column_dimensions[ws.cell(row=2, column=i).column_letter].width = min(60, max(8, width))
        ws.freeze_panes = "A3"
    if notes:
        ws = wb.create_sheet("notes")
        for line in notes:
            _append_text(ws, [line])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def to_ods(tables: list[Table], notes: list[str] | None = None) -> bytes:
    """The same sheets as ``to_xlsx``, as ODF (odf.py: text cells are string cells, never formulas)."""
    return odf.to_ods(tables, notes)


# -- the annual self-evaluation ------------------------------------------------------


@dataclass
class YearFigures:
    year: int
    dash: q.Dashboard
    alerts: int
    alerts_acked: int
    median_ack_hours: float | None


def _alert_counts(conn: sqlite3.Connection, year: int, unit: str) -> tuple[int, int, float | None]:
    rows = conn.execute(
        "SELECT raised_at, ack_at FROM alerts WHERE substr(raised_at, 1, 4) = ? AND (? = '' OR unit = ?)",
        [str(year), unit, unit],
    ).fetchall()
    hours = sorted((datetime.fromisoformat(a) - datetime.fromisoformat(r)).total_seconds() / 3600 for r, a in rows if a)
    median = round(hours[len(hours) // 2], 1) if hours else None
    return len(rows), sum(1 for _, a in rows if a), median


def year_figures(conn, year: int, unit: str, min_n: int) -> YearFigures:
    f = q.Filter(date(year, 1, 1), date(year, 12, 31), unit=unit, trend="month")
    n, acked, median = _alert_counts(conn, year, unit)
    return YearFigures(year, q.dashboard(conn, f, min_n), n, acked, median)


def _delta(a, b):
    if a is None or b is None:
        return None
    return round(a - b, 1)


def self_evaluation_rows(cur: YearFigures, prev: YearFigures) -> list[list[Any]]:
    """[item, previous year, this year, change] for the self-evaluation."""
    c, p = cur.dash, prev.dash
    cq, pq = c.queues["total"], p.queues["total"]
    rows = [
        ["有效回覆數 responses (n)", p.total.n, c.total.n, c.total.n - p.total.n],
        [
            "快樂指數 Happy Index (0–100)",
            _num(p.total.happy_index),
            _num(c.total.happy_index),
            _num(_delta(c.total.happy_index, p.total.happy_index)),
        ],
        ["快樂指數 95% 信賴區間 Happy Index 95% CI", _fmt_ci(p.total.happy_ci), _fmt_ci(c.total.happy_ci), ""],
        ["滿意度 CSAT % (top two)", _num(p.total.csat), _num(c.total.csat), _num(_delta(c.total.csat, p.total.csat))],
        ["滿意度 95% 信賴區間 CSAT 95% CI", _fmt_ci(p.total.csat_ci), _fmt_ci(c.total.csat_ci), ""],
        [
            "滿意度抽樣誤差 CSAT margin ±pp (95%)",
            _num(margins.csat(p.total)),
            _num(margins.csat(c.total)),
            "",
        ],
    ]
    for lv in range(1, c.max_level + 1):
        rows.append(
            [
                f"等級{lv} level {lv} %",
                _num(p.total.share(lv)),
                _num(c.total.share(lv)),
                _num(_delta(c.total.share(lv), p.total.share(lv))),
            ]
        )
    rows += [
        ["誤觸(未計) misuse presses (not counted)", p.total.misuse, c.total.misuse, c.total.misuse - p.total.misuse],
        [
            "追問原因筆數 follow-up reasons",
            sum(r["n"] for r in p.reasons),
            sum(r["n"] for r in c.reasons),
            sum(r["n"] for r in c.reasons) - sum(r["n"] for r in p.reasons),
        ],
        ["發號 tickets issued", pq["issued"], cq["issued"], cq["issued"] - pq["issued"]],
        [
            "平均等候 mean wait (min)",
            pq["wait_mean_min"],
            cq["wait_mean_min"],
            _delta(cq["wait_mean_min"], pq["wait_mean_min"]),
        ],
        [
            "等候P90 p90 wait (min)",
            pq["wait_p90_min"],
            cq["wait_p90_min"],
            _delta(cq["wait_p90_min"], pq["wait_p90_min"]),
        ],
        ["未到率 no-show %", pq["no_show_rate"], cq["no_show_rate"], _delta(cq["no_show_rate"], pq["no_show_rate"])],
        ["案件查詢 case lookups", p.cases["lookups"], c.cases["lookups"], c.cases["lookups"] - p.cases["lookups"]],
        ["通報 alerts", prev.alerts, cur.alerts, cur.alerts - prev.alerts],
        ["已處理通報 alerts acknowledged", prev.alerts_acked, cur.alerts_acked, cur.alerts_acked - prev.alerts_acked],
        [
            "處理時間中位數 median hours to acknowledge",
            prev.median_ack_hours,
            cur.median_ack_hours,
            _delta(cur.median_ack_hours, prev.median_ack_hours),
        ],
    ]
    return _without_change_from_nothing(rows, p.total.n == 0, pq["issued"] == 0, p.cases["lookups"] == 0)


_TICKET_ITEMS = ("發號", "平均等候", "等候P90", "未到率")


def _without_change_from_nothing(rows: list[list[Any]], no_ratings: bool, no_tickets: bool, no_lookups: bool):
    """A change from a year that had nothing to compare (no responses, tickets or lookups) is no
    change: the column says so instead of "+2014"."""
    for row in rows:
        item = str(row[0])
        empty = (
            no_tickets if item.startswith(_TICKET_ITEMS) else no_lookups if item.startswith("案件查詢") else no_ratings
        )
        if empty and row[3] != "":
            row[3] = NO_PREVIOUS
    return rows


def _fmt_ci(ci):
    return SUPPRESSED if ci is None else f"{ci[0]:.1f}–{ci[1]:.1f}"


def significance_note(cur: YearFigures, prev: YearFigures) -> str:
    a, b = cur.dash.total.csat_ci, prev.dash.total.csat_ci
    if a is None or b is None:
        return "任一年回覆數不足,無法比較 too few responses in one of the years to compare."
    if a[0] > b[1]:
        return "今年滿意度高於去年,兩年信賴區間不重疊 CSAT rose; the two years' intervals do not overlap."
    if a[1] < b[0]:
        return "今年滿意度低於去年,兩年信賴區間不重疊 CSAT fell; the two years' intervals do not overlap."
    return "兩年信賴區間重疊,差異可能只是抽樣變動 The intervals overlap: the change may be chance."


def self_evaluation(conn, year: int, unit: str, min_n: int) -> tuple[YearFigures, YearFigures]:
    return year_figures(conn, year, unit, min_n), year_figures(conn, year - 1, unit, min_n)


SELF_EVAL_HEADERS = ["項目 item", "去年 previous year", "今年 this year", "增減 change"]


def self_evaluation_tables(conn, year: int, unit: str, min_n: int, office: str) -> tuple[list[Table], list[str]]:
    """The year-on-year figures as sheets, and their notes (the self-evaluation's figures part)."""
    cur, prev = self_evaluation(conn, year, unit, min_n)
    head = [f"{h} ({y})" if y else h for h, y in zip(SELF_EVAL_HEADERS, (None, year - 1, year, None))]
    main = Table(
        "self-evaluation",
        f"{office} {unit or '全機關 whole office'} {year} 年度服務滿意度自評 annual self-evaluation",
        head,
        self_evaluation_rows(cur, prev),
    )
    ml = cur.dash.max_level
    months = Table(
        "months",
        f"{year} 每月 by month",
        ["月份 month", *fig_headers(ml)],
        [[p, *fig_cells(f, ml)] for p, f in cur.dash.trend],
    )
    windows = Table(
        "windows",
        f"{year} 窗口 by window",
        ["單位 unit", "窗口 window", *fig_headers(ml)],
        [[k[0], k[1], *fig_cells(f, ml)] for k, f in cur.dash.rank_windows],
    )
    reasons = Table(
        "reasons",
        f"{year} 追問原因 follow-up reasons",
        ["原因 reason", "英文名稱 English name", "代碼 code", "次數 count", "百分比 %"],
        [[*cur.dash.names.reason(r["reason"]), r["reason"], r["n"], r["share"]] for r in cur.dash.reasons],
    )
    notes = [
        significance_note(cur, prev),
        f"信賴區間: 滿意度用 Wilson 區間, 快樂指數用常態近似; 回覆數少於 {min_n} 時不列數字 ({TOO_FEW}).",
        "CI: Wilson score interval for CSAT, normal approximation for the Happy Index.",
        "時間為臺北時間 Times are Asia/Taipei.",
    ]
    return [main, months, windows, reasons], notes


def self_evaluation_pdf(conn, year: int, unit: str, min_n: int, office: str, render_html, **extra) -> bytes:
    """render_html(template, **context) -> str (the admin pages' Jinja2 environment); ``extra``: the
    items part (admin/evaluation_files.py)."""
    from weasyprint import HTML  # heavy (Pango, fonts): loaded only when a PDF is asked for

    cur, prev = self_evaluation(conn, year, unit, min_n)
    # Text copied out of the PDF into a spreadsheet is as inert as the XLSX's (None prints as —).
    rows = [[v if v is None else cells.cell(v) for v in r] for r in self_evaluation_rows(cur, prev)]
    html = render_html(
        "self_evaluation_pdf.html",
        office=office,
        unit=cells.cell(unit),
        year=year,
        min_n=min_n,
        headers=SELF_EVAL_HEADERS,
        rows=rows,
        cur=cur,
        prev=prev,
        note=significance_note(cur, prev),
        trend_svg=charts.trend_svg(cur.dash.trend, width=680, height=220),
        levels_svg=charts.levels_svg(cur.dash.total, cur.dash.max_level, width=680),
        **extra,
    )
    return HTML(string=html).write_pdf()
