"""Scores of telephone-courtesy tests per unit and year, and the bands the office names them by.

A test's score (0-100, the sheet's points normalised) is computed once when it is recorded
(courtesy/sheet.py) and stored with it, so a later change of the sheet leaves old results as
they were. The self-evaluation reads ``yearly_scores``.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

NO_DATA = "尚無資料"

# (lowest score, band), highest first: ≥ 90 優良, 80-89 良好, 70-79 普通, < 70 待改進.
BANDS: tuple[tuple[float, str], ...] = ((90.0, "優良"), (80.0, "良好"), (70.0, "普通"), (float("-inf"), "待改進"))
BAND_EN = {"優良": "excellent", "良好": "good", "普通": "fair", "待改進": "needs improvement", NO_DATA: "no data"}


@dataclass(frozen=True)
class CourtesyYear:
    """One unit's tests in one year: mean score (None without tests), how many, the band."""

    mean_score: float | None
    tests: int
    band: str


def band_for(score: float | None) -> str:
    if score is None:
        return NO_DATA
    for lowest, band in BANDS:
        if score >= lowest:
            return band
    return BANDS[-1][1]


def _has_tests_table(conn: sqlite3.Connection) -> bool:
    # A database the courtesy migration has not reached yet has no tests, not an error.
    return (
        conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'courtesy_tests'").fetchone()
        is not None
    )


def yearly_scores(
    conn: sqlite3.Connection, year: int, units: list[str] | tuple[str, ...] | None = None
) -> dict[str, CourtesyYear]:
    """Unit → its year's courtesy result (calendar year of the call, Asia/Taipei).

    Units with tests are listed; each of ``units`` is listed too, as 尚無資料 when it has none.
    Voided tests do not count.
    """
    out: dict[str, CourtesyYear] = {}
    if _has_tests_table(conn):
        rows = conn.execute(
            "SELECT unit, avg(score), count(*) FROM courtesy_tests"
            " WHERE called_on >= ? AND called_on < ? AND voided_at IS NULL GROUP BY unit ORDER BY unit",
            [f"{year:04d}-01-01", f"{year + 1:04d}-01-01"],
        ).fetchall()
        for unit, mean, n in rows:
            mean = round(float(mean), 1)
            out[unit] = CourtesyYear(mean, int(n), band_for(mean))
    for unit in units or ():
        out.setdefault(unit, CourtesyYear(None, 0, NO_DATA))
    return out
