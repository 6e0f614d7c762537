"""The monthly open-data summary (the plan's 伍、四: disclose service information), for the
government open-data platform (data.gov.tw): per unit and for the whole office, counts per
rating level, CSAT with its 95 % interval, Happy Index, mean wait and case lookups.

No personal data: the rollups hold counts per hour and window only, and this summary is per
unit and month. Derived figures below the minimum n (report.min_n) are suppressed, and the cell
says why (回覆數不足 n<30) rather than holding a number; counts are facts and stay. CSV is
UTF-8 with a byte-order mark and one header row, as the platform's guidance asks; every file
comes with a data dictionary describing each column (a CSV file of its own, a sheet in the ODS).
"""

from __future__ import annotations

import csv
import io
import re
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from server_sync.collector import cells, odf
from server_sync.collector.measures import Period, measure

OFFICE_ROW = "全機關"
MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


@dataclass(frozen=True)
class Column:
    name: str  # the header (zh-TW)
    key: str  # English field name
    kind: str  # 文字 text | 整數 integer | 數值 number
    measure_unit: str
    doc: str


COLUMNS: tuple[Column, ...] = (
    Column("年月", "month", "文字 text", "", "統計月份 (臺北時間) The month, YYYY-MM, Asia/Taipei"),
    Column(
        "單位", "unit", "文字 text", "", f"業務單位;「{OFFICE_ROW}」為全機關合計 The unit; {OFFICE_ROW} = whole office"
    ),
    *(
        Column(
            f"等級{lv}次數",
            f"level_{lv}",
            "整數 integer",
            "次 presses",
            f"按下第 {lv} 級(1 = 非常滿意 … 5 = 非常不滿意)的次數,不含誤觸 Presses of level {lv} "
            "(1 = very satisfied … 5 = very dissatisfied), repeat presses left out",
        )
        for lv in range(1, 6)
    ),
    Column("有效回覆數", "responses", "整數 integer", "次 presses", "各等級次數合計 Counted responses (n)"),
    Column(
        "滿意度",
        "csat",
        "數值 number",
        "%",
        "前兩級(非常滿意、滿意)占有效回覆之百分比 Share of responses in the top two levels (CSAT)",
    ),
    Column(
        "滿意度95%下限",
        "csat_ci_low",
        "數值 number",
        "%",
        "滿意度 95% Wilson 信賴區間下限 Lower end of the 95% interval",
    ),
    Column(
        "滿意度95%上限",
        "csat_ci_high",
        "數值 number",
        "%",
        "滿意度 95% Wilson 信賴區間上限 Upper end of the 95% interval",
    ),
    Column(
        "快樂指數",
        "happy_index",
        "數值 number",
        "0-100",
        "等級平均換算為 0-100(1 級 = 100,最末級 = 0) Mean rating on 0-100 (Happy Index)",
    ),
    Column(
        "平均等候分鐘",
        "wait_mean_min",
        "數值 number",
        "分鐘 minutes",
        "抽號到叫號的平均等候時間 Mean wait, ticket to call",
    ),
    Column(
        "等候量測數",
        "waits_measured",
        "整數 integer",
        "張 tickets",
        "有量測等候時間的號碼數 Tickets whose wait was measured",
    ),
    Column(
        "案件查詢次數",
        "case_lookups",
        "整數 integer",
        "次 lookups",
        "在評分機上查詢案件進度的次數 Case-progress lookups",
    ),
    Column(
        "備註",
        "note",
        "文字 text",
        "",
        "數字被隱藏的原因 Why a figure is suppressed: 回覆數不足 = fewer responses than the minimum",
    ),
)


class MonthError(ValueError):
    pass


def parse_month(text: str) -> str:
    m = MONTH.match(text.strip())
    if not m:
        raise MonthError(f"月份須為 YYYY-MM / the month must read YYYY-MM, got {text!r}")
    return text.strip()


def _units(conn: sqlite3.Connection, period: Period) -> list[str]:
    lo, hi = period.first_day.isoformat(), period.end_day.isoformat()
    found = {u for (u,) in conn.execute("SELECT DISTINCT unit FROM admin_sat_mon WHERE month = ?", [period.first])}
    for table in ("admin_queue_hour", "admin_case_day"):
        found |= {u for (u,) in conn.execute(f"SELECT DISTINCT unit FROM {table} WHERE day >= ? AND day < ?", [lo, hi])}
    return sorted(u for u in found if u)


def rows(conn: sqlite3.Connection, month: str, min_n: int, now: datetime | None = None) -> list[list[Any]]:
    """One row per unit that had activity in ``month``, then the whole office."""
    period = Period.month(parse_month(month))
    now = now or datetime.now(UTC)
    too_few = f"回覆數不足(n<{min_n})"
    out = []
    for unit in [*_units(conn, period), ""]:
        m = measure(conn, period, unit, min_n, now)
        fig = m.satisfaction
        csat, wait = m.by_metric["csat"], m.wait_mean
        notes = []
        if csat.value is None:
            notes.append(f"滿意度與快樂指數:回覆數 {fig.n} 少於 {min_n} / CSAT and Happy Index: n below {min_n}")
        if wait.value is None:
            notes.append(f"平均等候:量測數 {wait.n} 少於 {min_n} / mean wait: fewer than {min_n} waits")
        sat = [too_few] * 4 if csat.value is None else [csat.value, *(csat.ci or ("", "")), fig.happy_index]
        out.append(
            [
                month,
                unit or OFFICE_ROW,
                *(fig.levels.get(lv, 0) for lv in range(1, 6)),
                fig.n,
                *sat,
                too_few if wait.value is None else wait.value,
                wait.n,
                m.lookups.lookups,
                "; ".join(notes),
            ]
        )
    return out


def to_csv(header: list[str], body: list[list[Any]]) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n", quoting=csv.QUOTE_NONNUMERIC)
    w.writerow(cells.row(header))
    for r in body:
        w.writerow(cells.row(r))
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


DICTIONARY_HEADERS = ["欄位名稱 column", "英文名稱 field", "資料類型 type", "計量單位 unit", "說明 description"]


def dictionary_rows() -> list[list[Any]]:
    return [[c.name, c.key, c.kind, c.measure_unit, c.doc] for c in COLUMNS]


@dataclass(frozen=True)
class Files:
    csv: bytes
    dictionary_csv: bytes
    ods: bytes


def files(conn: sqlite3.Connection, month: str, min_n: int, now: datetime | None = None) -> Files:
    body = rows(conn, month, min_n, now)
    header = [c.name for c in COLUMNS]
    ods = odf.to_ods(
        [
            odf.Sheet("data", "", header, body),
            odf.Sheet("dictionary", "", DICTIONARY_HEADERS, dictionary_rows()),
        ]
    )
    return Files(to_csv(header, body), to_csv(DICTIONARY_HEADERS, dictionary_rows()), ods)
