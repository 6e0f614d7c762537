"""Telephone-courtesy tests and sheet versions in the collector's database.

Times a tester types are the office's (Asia/Taipei); ``clock`` is the collector's wall clock
(unix seconds), used only for when a row was written.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from server_sync.collector.courtesy import sheet as sheetmod
from server_sync.collector.courtesy.scores import band_for

MAX_NOTES = 2000
MAX_RINGS = 100
MAX_SECONDS = 600.0


@dataclass(frozen=True)
class NewTest:
    """A test as the form gives it."""

    unit: str
    kind: str
    called_at: str  # 'YYYY-MM-DDTHH:MM', Asia/Taipei
    rings: int | None
    seconds: float | None
    marks: dict[str, str]
    notes: str


def _iso(clock: Callable[[], float]) -> str:
    return datetime.fromtimestamp(clock(), UTC).isoformat(timespec="seconds")


def current_sheet(conn: sqlite3.Connection) -> tuple[int | None, dict[str, Any]]:
    """The sheet in use: (its version id, the sheet); (None, the default) until a manager saves one."""
    row = conn.execute("SELECT id, sheet FROM courtesy_sheets ORDER BY id DESC LIMIT 1").fetchone()
    if row is None:
        return None, sheetmod.validate(sheetmod.DEFAULT_SHEET)
    return row[0], json.loads(row[1])


def sheet_by_id(conn: sqlite3.Connection, sheet_id: int | None) -> dict[str, Any]:
    if sheet_id is None:
        return sheetmod.validate(sheetmod.DEFAULT_SHEET)
    row = conn.execute("SELECT sheet FROM courtesy_sheets WHERE id = ?", [sheet_id]).fetchone()
    return json.loads(row[0]) if row else sheetmod.validate(sheetmod.DEFAULT_SHEET)


def save_sheet(conn: sqlite3.Connection, sheet: Any, by: str, clock: Callable[[], float] = time.time) -> int:
    """Validate and store a new version of the sheet; its id (SheetError if invalid)."""
    checked = sheetmod.validate(sheet)
    cur = conn.execute(
        "INSERT INTO courtesy_sheets (sheet, created_at, created_by) VALUES (?,?,?)",
        [json.dumps(checked, ensure_ascii=False), _iso(clock), by],
    )
    assert cur.lastrowid is not None
    return cur.lastrowid


def _called_at(text: str) -> str:
    try:
        when = datetime.strptime(text.strip(), "%Y-%m-%dT%H:%M")
    except ValueError:
        raise sheetmod.SheetError("日期時間格式錯誤 date and time as YYYY-MM-DD HH:MM") from None
    return when.strftime("%Y-%m-%dT%H:%M")


def record(conn: sqlite3.Connection, test: NewTest, tester: str, clock: Callable[[], float] = time.time) -> int:
    """Score ``test`` on the current sheet and store it; its id (SheetError names what is wrong)."""
    unit = test.unit.strip()
    if not unit or len(unit) > 64:
        raise sheetmod.SheetError("請填寫受測單位（64 字內） name the unit tested (at most 64 characters)")
    if test.rings is not None and not 0 <= test.rings <= MAX_RINGS:
        raise sheetmod.SheetError(f"鈴響聲數須為 0–{MAX_RINGS} rings must be 0 to {MAX_RINGS}")
    if test.seconds is not None and not 0 <= test.seconds <= MAX_SECONDS:
        raise sheetmod.SheetError(f"接聽秒數須為 0–{MAX_SECONDS:g} seconds must be 0 to {MAX_SECONDS:g}")
    called_at = _called_at(test.called_at)
    sheet_id, sheet = current_sheet(conn)
    result = sheetmod.score(sheet, test.kind, test.marks, test.rings, test.seconds)
    item_ids = {item["id"] for item in sheet[test.kind]["items"]}
    marks = {k: v for k, v in test.marks.items() if k in item_ids}
    cur = conn.execute(
        "INSERT INTO courtesy_tests (sheet_id, unit, kind, called_at, called_on, rings, seconds, marks, earned,"
        " possible, score, notes, tester, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        [
            sheet_id,
            unit,
            test.kind,
            called_at,
            called_at[:10],
            test.rings,
            test.seconds,
            json.dumps(marks),
            result.earned,
            result.possible,
            result.rounded,
            test.notes.strip()[:MAX_NOTES],
            tester,
            _iso(clock),
        ],
    )
    assert cur.lastrowid is not None
    return cur.lastrowid


def void(conn: sqlite3.Connection, test_id: int, by: str, clock: Callable[[], float] = time.time) -> None:
    """Leave a test out of every figure (a manager's correction; the row stays, audited)."""
    cur = conn.execute(
        "UPDATE courtesy_tests SET voided_at = ?, voided_by = ? WHERE id = ? AND voided_at IS NULL",
        [_iso(clock), by, test_id],
    )
    if cur.rowcount == 0:
        raise sheetmod.SheetError(f"測試 #{test_id} 不存在或已作廢 test {test_id} does not exist or is already void")


_COLUMNS = (
    "id, unit, kind, called_at, rings, seconds, marks, earned, possible, score, notes, tester, voided_at, sheet_id"
)


def _test_row(r: tuple) -> dict[str, Any]:
    return {
        "id": r[0],
        "unit": r[1],
        "kind": r[2],
        "called_at": r[3],
        "rings": r[4],
        "seconds": r[5],
        "marks": json.loads(r[6]),
        "earned": r[7],
        "possible": r[8],
        "score": r[9],
        "band": band_for(r[9]),
        "notes": r[10],
        "tester": r[11],
        "voided": r[12] is not None,
        "sheet_id": r[13],
    }


def get(conn: sqlite3.Connection, test_id: int) -> dict[str, Any]:
    return _test_row(conn.execute(f"SELECT {_COLUMNS} FROM courtesy_tests WHERE id = ?", [test_id]).fetchone())


def tests(
    conn: sqlite3.Connection,
    *,
    tester: str | None = None,
    first: str = "0000-00-00",
    last: str = "9999-99-99",
    unit: str = "",
    limit: int = 10_000,
) -> list[dict[str, Any]]:
    """Tests called on ``first`` .. ``last`` (YYYY-MM-DD), newest first; only ``tester``'s if given."""
    sql = f"SELECT {_COLUMNS} FROM courtesy_tests WHERE called_on >= ? AND called_on <= ?"
    args: list[Any] = [first, last]
    if tester is not None:
        sql += " AND tester = ?"
        args.append(tester)
    if unit:
        sql += " AND unit = ?"
        args.append(unit)
    rows = conn.execute(sql + " ORDER BY called_at DESC, id DESC LIMIT ?", [*args, limit]).fetchall()
    return [_test_row(r) for r in rows]


@dataclass(frozen=True)
class MonthCell:
    mean: float
    tests: int
    band: str


def monthly(conn: sqlite3.Connection, first_month: str, last_month: str) -> dict[str, dict[str, MonthCell]]:
    """unit → month ('YYYY-MM') → mean score, tests and band; voided tests left out."""
    out: dict[str, dict[str, MonthCell]] = {}
    for unit, month, mean, n in conn.execute(
        "SELECT unit, substr(called_on, 1, 7) AS m, avg(score), count(*) FROM courtesy_tests"
        " WHERE voided_at IS NULL AND m >= ? AND m <= ? GROUP BY unit, m ORDER BY unit, m",
        [first_month, last_month],
    ):
        mean = round(float(mean), 1)
        out.setdefault(unit, {})[month] = MonthCell(mean, int(n), band_for(mean))
    return out


def units(conn: sqlite3.Connection, tester: str) -> list[str]:
    """Units to offer on the form: those kiosks serve and those ``tester`` tested before."""
    rows = conn.execute(
        "SELECT unit FROM kiosks WHERE unit != '' AND revoked_at IS NULL"
        " UNION SELECT unit FROM courtesy_tests WHERE tester = ?",
        [tester],
    ).fetchall()
    return sorted({r[0] for r in rows})
