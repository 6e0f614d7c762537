"""The year's evaluation items (提升服務品質評核項目表): code, the plan's section, title, points, and
which measured evidence the collector fills in for it.

A manager defines each year's items; a year nobody defined uses the bundled table for this
office, built from the plan's sections 伍、一 to 伍、五 (100 points). Once a unit has submitted its
evaluation for a year, that year's items are fixed: changing them would change what the unit
signed.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime

# Evidence the collector can fill in (evidence.py says what each shows).
EVIDENCE = {
    "satisfaction": "滿意度與趨勢 satisfaction and its trend",
    "waits": "等候時間 waits",
    "alerts": "通報與處理時間 alerts and handling times",
    "lookups": "案件查詢 case lookups",
    "courtesy": "電話禮貌測試 telephone-courtesy tests",
    "targets": "年度目標達成 annual targets met",
    "reasons": "民眾意見(追問原因) visitors' reasons",
}


@dataclass(frozen=True)
class Item:
    code: str
    section: str
    title: str
    points: float
    evidence: tuple[str, ...] = ()


DEFAULT_ITEMS: tuple[Item, ...] = (
    Item("1-1", "伍、一、(一)", "服務場所與設施 Service places and facilities", 5),
    Item(
        "1-2",
        "伍、一、(二)",
        "專業便民的服務形象:民眾滿意度 A professional image: visitor satisfaction",
        10,
        ("satisfaction",),
    ),
    Item("1-3", "伍、一、(三)", "主動導引服務與等候 Guidance and waiting", 15, ("waits", "targets")),
    Item("1-4", "伍、一、(三)", "電話服務品質(電話禮貌) Telephone courtesy", 15, ("courtesy",)),
    Item("2-1", "伍、二、(二)", "案件處理進度公開查詢 Case-progress lookup", 10, ("lookups",)),
    Item("3-1", "伍、三、(一)", "民眾抱怨處理機制 Complaint handling", 15, ("alerts",)),
    Item("3-2", "伍、三、(四)", "民眾意見納入改進 Opinions folded into improvement", 10, ("reasons",)),
    Item("4-1", "伍、四", "公開服務資訊 Information disclosure (open data, published targets)", 10),
    Item("5-1", "伍、五", "創新服務 Innovation", 10),
)


class ItemError(ValueError):
    pass


def create_tables(db) -> None:
    """Part of the m502 migration (db.py)."""
    db.execute("""CREATE TABLE eval_items (
                    year INTEGER NOT NULL,
                    position INTEGER NOT NULL,
                    code TEXT NOT NULL,
                    section TEXT NOT NULL,
                    title TEXT NOT NULL,
                    points REAL NOT NULL,
                    evidence TEXT NOT NULL,            -- JSON list of keys of items.EVIDENCE
                    set_by TEXT NOT NULL,
                    set_at TEXT NOT NULL,
                    PRIMARY KEY (year, code)) WITHOUT ROWID""")


def items_for(conn: sqlite3.Connection, year: int) -> tuple[list[Item], bool]:
    """The year's items, and whether they are the bundled default table."""
    rows = conn.execute(
        "SELECT code, section, title, points, evidence FROM eval_items WHERE year = ? ORDER BY position", [year]
    ).fetchall()
    if not rows:
        return list(DEFAULT_ITEMS), True
    return [Item(c, s, t, p, tuple(json.loads(e))) for c, s, t, p, e in rows], False


def check(items: list[Item]) -> list[Item]:
    """The items cleaned, or ItemError naming the first problem."""
    seen: set[str] = set()
    out = []
    for i, it in enumerate(items, start=1):
        code, title = it.code.strip()[:16], it.title.strip()[:200]
        if not code or not title:
            raise ItemError(f"第 {i} 項缺少代碼或名稱 / item {i}: a code and a title are needed")
        if code in seen:
            raise ItemError(f"代碼重複 / code {code!r} twice")
        seen.add(code)
        if not 0 <= it.points <= 100:
            raise ItemError(f"{code}: 配分須在 0 至 100 / points must be 0 to 100")
        unknown = [e for e in it.evidence if e not in EVIDENCE]
        if unknown:
            raise ItemError(f"{code}: 沒有此佐證 unknown evidence {unknown[0]!r}; known: {', '.join(EVIDENCE)}")
        out.append(Item(code, it.section.strip()[:40], title, float(it.points), tuple(dict.fromkeys(it.evidence))))
    if not out:
        raise ItemError("至少需要一項 / at least one item")
    return out


def set_items(conn: sqlite3.Connection, year: int, items: list[Item], by: str, now: datetime | None = None) -> None:
    """Replace the year's items (refused once a unit has submitted that year)."""
    if conn.execute("SELECT 1 FROM eval_submissions WHERE year = ? AND status = 'submitted'", [year]).fetchone():
        raise ItemError(
            f"{year} 年已有單位送出自評,評核項目已鎖定 / a unit has submitted its {year} evaluation: the items are locked"
        )
    items = check(items)
    at = (now or datetime.now(UTC)).isoformat(timespec="seconds")
    conn.execute("DELETE FROM eval_items WHERE year = ?", [year])
    for pos, it in enumerate(items):
        conn.execute(
            "INSERT INTO eval_items VALUES (?,?,?,?,?,?,?,?,?)",
            [year, pos, it.code, it.section, it.title, it.points, json.dumps(list(it.evidence)), by, at],
        )
