"""The self-evaluation as one document: per unit, each item with its points, the measured
evidence, the unit's narrative and its attachments; for the whole office (unit ''), the
office-wide evidence first and then every unit, which is what the 行政室 hands on to the Central
Election Commission. odf.py and the admin exports lay it out as ODT, ODS, PDF or XLSX.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from server_sync.collector import odf
from server_sync.collector.evaluation import evidence as evidence_mod
from server_sync.collector.evaluation import items as items_mod
from server_sync.collector.evaluation import submission as sub_mod

OFFICE_WIDE = "全機關 whole office"


@dataclass
class ItemPart:
    item: items_mod.Item
    evidence: list[str]
    narrative: str
    attachments: list[sub_mod.Attachment]


@dataclass
class UnitPart:
    unit: str  # '' for the office-wide evidence
    submission: sub_mod.Submission | None
    items: list[ItemPart]
    evidence: evidence_mod.Evidence

    @property
    def label(self) -> str:
        return self.unit or OFFICE_WIDE

    @property
    def status(self) -> str:
        return "" if self.submission is None else self.submission.status_label


def units(conn: sqlite3.Connection, year: int) -> list[str]:
    """Every unit the collector knows: kiosks serve it, ratings name it, or it started an evaluation."""
    found = {u for (u,) in conn.execute("SELECT DISTINCT unit FROM kiosks WHERE unit != ''")}
    found |= {u for (u,) in conn.execute("SELECT DISTINCT unit FROM admin_sat_mon WHERE unit != ''")}
    found |= set(sub_mod.units_started(conn, year))
    return sorted(found)


def unit_part(conn: sqlite3.Connection, year: int, unit: str, min_n: int, now: datetime) -> UnitPart:
    its, _ = items_mod.items_for(conn, year)
    ev = evidence_mod.gather(conn, year, unit, min_n, now)
    sub = sub_mod.get(conn, year, unit) if unit else None
    parts = []
    for it in its:
        lines = [line for kind in it.evidence for line in evidence_mod.lines(ev, kind)]
        narrative = sub.narratives.get(it.code, "") if sub else ""
        atts = [a for a in sub.attachments if a.item == it.code] if sub else []
        parts.append(ItemPart(it, lines, narrative, atts))
    return UnitPart(unit, sub, parts, ev)


def parts(
    conn: sqlite3.Connection,
    year: int,
    unit: str,
    min_n: int,
    now: datetime,
    progress: Callable[[int], Any] | None = None,
) -> list[UnitPart]:
    """One unit's part, or (unit '') the office's evidence and then every unit's part."""
    wanted = [unit] if unit else ["", *units(conn, year)]
    out = []
    for u in wanted:
        out.append(unit_part(conn, year, u, min_n, now))
        if progress:
            progress(1)
    return out


def _attachment_text(a: sub_mod.Attachment) -> str:
    return f"{a.filename} ({a.size:,} bytes, sha256 {a.sha256[:12]}…)"


def blocks(year: int, unit_parts: list[UnitPart]) -> list[odf.Block]:
    """The items part of the ODT (the figures part comes from the admin exports)."""
    out: list[odf.Block] = []
    for up in unit_parts:
        out.append(odf.Heading(f"{up.label} — 評核項目 evaluation items", 1))
        sub = up.submission
        if sub is not None:
            who = f"; 送出 submitted {sub.submitted_local} {sub.submitted_by}" if sub.submitted else ""
            out.append(odf.Para(f"狀態 status: {sub.status_label}{who}; 期限 deadline {sub_mod.deadline_text(year)}"))
        total = sum(p.item.points for p in up.items)
        out.append(
            odf.Grid(
                ["代碼 code", "計畫章節 section", "評核項目 item", "配分 points"],
                [[p.item.code, p.item.section, p.item.title, f"{p.item.points:g}"] for p in up.items]
                + [["", "", "合計 total", f"{total:g}"]],
                widths=[1.2, 2.2, 6.5, 1.3],
            )
        )
        for p in up.items:
            out.append(odf.Heading(f"{p.item.code} {p.item.title}({p.item.points:g} 分 points)", 2))
            if p.evidence:
                out.append(odf.Para("系統量測佐證 measured evidence:"))
                out.append(odf.Para("\n".join("・" + line for line in p.evidence)))
            if up.unit:
                out.append(odf.Para("單位說明 the unit's narrative:"))
                out.append(odf.Para(p.narrative or "(未填 not written)"))
            if p.attachments:
                out.append(odf.Para("附件 attachments: " + "; ".join(_attachment_text(a) for a in p.attachments)))
    return out


ITEM_HEADERS = [
    "單位 unit",
    "狀態 status",
    "代碼 code",
    "計畫章節 section",
    "評核項目 item",
    "配分 points",
    "系統量測佐證 measured evidence",
    "單位說明 narrative",
    "附件 attachments",
]


def item_rows(unit_parts: list[UnitPart]) -> list[list[Any]]:
    return [
        [
            up.label,
            up.status,
            p.item.code,
            p.item.section,
            p.item.title,
            p.item.points,
            "\n".join(p.evidence),
            p.narrative,
            "\n".join(_attachment_text(a) for a in p.attachments),
        ]
        for up in unit_parts
        for p in up.items
    ]


def target_rows(unit_parts: list[UnitPart]) -> list[list[Any]]:
    out = []
    for up in unit_parts:
        for r in up.evidence.targets:
            m = r.measure
            out.append(
                [
                    up.label,
                    r.target.metric.label,
                    r.target.metric.phrase(r.target.threshold),
                    m.value,
                    m.ci[0] if m.ci else None,
                    m.ci[1] if m.ci else None,
                    m.n,
                    r.verdict.label,
                    r.verdict.reason,
                ]
            )
    return out


TARGET_HEADERS = [
    "單位 unit",
    "指標 metric",
    "目標 target",
    "量測值 measured",
    "95%下限 CI low",
    "95%上限 CI high",
    "n",
    "判定 verdict",
    "說明 why",
]
