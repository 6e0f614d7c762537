"""The self-evaluation as files: ODT, ODS, PDF and XLSX, each holding the items part (evaluation/
document.py: items, points, evidence, narratives, attachments, targets) and the year-on-year
figures part (exports.py). The web page and `kiosk-collector self-evaluation` both use this.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from server_sync.collector import cells, odf
from server_sync.collector.admin import exports
from server_sync.collector.evaluation import document
from server_sync.collector.evaluation import submission as sub_mod

FORMATS = {
    "odt": odf.ODT_MIME,
    "ods": odf.ODS_MIME,
    "pdf": "application/pdf",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


@dataclass
class Bundle:
    year: int
    unit: str
    office: str
    min_n: int
    parts: list[document.UnitPart]
    figure_tables: list[exports.Table]
    notes: list[str]

    @property
    def title(self) -> str:
        who = self.unit or "全機關(彙整) whole office, consolidated"
        return f"{self.office} {who} {self.year} 年度提升服務品質自評 self-evaluation"


def bundle(
    conn: sqlite3.Connection,
    year: int,
    unit: str,
    min_n: int,
    office: str,
    now: datetime,
    progress: Callable[[int], Any] | None = None,
) -> Bundle:
    parts = document.parts(conn, year, unit, min_n, now, progress)
    tables, notes = exports.self_evaluation_tables(conn, year, unit, min_n, office)
    return Bundle(year, unit, office, min_n, parts, tables, notes)


def steps(conn: sqlite3.Connection, year: int, unit: str) -> int:
    """How many parts ``bundle`` reads (for a progress bar)."""
    return 1 if unit else 1 + len(document.units(conn, year))


def _item_tables(b: Bundle) -> list[exports.Table]:
    return [
        exports.Table(
            "items",
            f"{b.year} 評核項目與佐證 evaluation items and evidence (期限 deadline {sub_mod.deadline_text(b.year)})",
            document.ITEM_HEADERS,
            document.item_rows(b.parts),
        ),
        exports.Table(
            "targets", f"{b.year} 年度目標 annual targets", document.TARGET_HEADERS, document.target_rows(b.parts)
        ),
    ]


def _sheets(b: Bundle) -> list[exports.Table]:
    main, *rest = b.figure_tables
    return [main, *_item_tables(b), *rest]


def to_ods(b: Bundle) -> bytes:
    return odf.to_ods(_sheets(b), b.notes)


def to_xlsx(b: Bundle) -> bytes:
    return exports.to_xlsx(_sheets(b), b.notes)


def to_odt(b: Bundle) -> bytes:
    main = b.figure_tables[0]
    blocks: list[odf.Block] = [
        odf.Para(f"臺北時間 Asia/Taipei · 回覆數少於 {b.min_n} 時不列數字 ({exports.SUPPRESSED})", True)
    ]
    blocks += document.blocks(b.year, b.parts)
    blocks.append(odf.Heading("年度目標 Annual targets", 1))
    blocks.append(odf.Grid(document.TARGET_HEADERS, document.target_rows(b.parts)))
    blocks.append(odf.Heading(main.title, 1))
    blocks.append(odf.Grid(main.headers, main.rows))
    blocks += [odf.Para(n, True) for n in b.notes]
    blocks.append(odf.Para("單位主管 Head of unit: ____________________  日期 Date: ____________"))
    return odf.to_odt(b.title, blocks)


def to_pdf(conn: sqlite3.Connection, b: Bundle, render_html: Callable[..., str]) -> bytes:
    def inert(rows: list[list[Any]]) -> list[list[Any]]:
        return [[v if v is None else cells.cell(v) for v in r] for r in rows]

    return exports.self_evaluation_pdf(
        conn,
        b.year,
        b.unit,
        b.min_n,
        b.office,
        render_html,
        parts=b.parts,
        title=b.title,
        deadline=sub_mod.deadline_text(b.year),
        target_headers=document.TARGET_HEADERS,
        target_rows=inert(document.target_rows(b.parts)),
    )


def render(conn: sqlite3.Connection, b: Bundle, fmt: str, render_html: Callable[..., str]) -> bytes:
    if fmt == "odt":
        return to_odt(b)
    if fmt == "ods":
        return to_ods(b)
    if fmt == "xlsx":
        return to_xlsx(b)
    if fmt == "pdf":
        return to_pdf(conn, b, render_html)
    raise ValueError(fmt)
