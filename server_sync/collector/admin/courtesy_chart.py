"""The telephone-courtesy trend as inline SVG, in the dashboard's style (admin/charts.py):
one line per unit of its monthly mean score, with the bands' thresholds (90, 80, 70) drawn."""

from __future__ import annotations

from html import escape

from server_sync.collector.admin.charts import FONT
from server_sync.collector.courtesy.store import MonthCell

UNIT_COLOURS = ["#1f4e99", "#d73027", "#1a9850", "#984ea3", "#ff7f00", "#4d4d4d", "#a65628", "#f781bf"]


def trend_svg(months: list[str], by_unit: dict[str, dict[str, MonthCell]], width: int = 760, height: int = 260) -> str:
    left, right, top, bottom = 40, 150, 12, 40
    pw, ph = width - left - right, height - top - bottom
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width * 1.5:.0f}" role="img" '
        f'aria-label="電話禮貌趨勢 telephone-courtesy trend" {FONT} font-size="11">'
    ]
    if not by_unit or not months:
        out.append('<text x="10" y="30" font-size="14">無資料 no data</text></svg>')
        return "".join(out)
    lo = min(50.0, min(c.mean for cells in by_unit.values() for c in cells.values()) // 10 * 10)

    def y_of(v: float) -> float:
        return top + ph - ph * (v - lo) / (100 - lo)

    step = pw / len(months)
    bands = {90: "優良", 80: "良好", 70: "普通"}
    for v in range(int(lo), 101, 10):
        band = bands.get(v, "")
        y = y_of(v)
        out.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{left + pw}" y2="{y:.1f}" stroke="#ccc" stroke-dasharray="3,3"/>'
            f'<text x="4" y="{y + 4:.1f}" fill="#555">{v:g}</text>'
        )
        if band:
            out.append(f'<text x="{left + pw - 2}" y="{y - 3:.1f}" text-anchor="end" fill="#999">{band}</text>')
    for i, m in enumerate(months):
        out.append(
            f'<text x="{left + step * (i + 0.5):.1f}" y="{height - bottom + 16}" text-anchor="middle">{escape(m[5:])}</text>'
        )
    for k, (unit, cells) in enumerate(sorted(by_unit.items())):
        colour = UNIT_COLOURS[k % len(UNIT_COLOURS)]
        pts = []
        for i, m in enumerate(months):
            cell = cells.get(m)
            if cell is None:
                continue
            cx, cy = left + step * (i + 0.5), y_of(cell.mean)
            pts.append(f"{cx:.1f},{cy:.1f}")
            out.append(
                f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="3.5" fill="{colour}"><title>{escape(unit)} {m}: '
                f"{cell.mean:g} ({cell.band}, n={cell.tests})</title></circle>"
            )
        if len(pts) > 1:
            out.append(f'<polyline points="{" ".join(pts)}" fill="none" stroke="{colour}" stroke-width="2"/>')
        ly = top + 14 + 16 * k
        out.append(
            f'<rect x="{width - right + 10}" y="{ly - 9}" width="12" height="10" fill="{colour}"/>'
            f'<text x="{width - right + 26}" y="{ly}">{escape(unit)}</text>'
        )
    out.append(
        f'<text x="{left}" y="{height - 6}" fill="#555">各單位每月平均分數 monthly mean score per unit (0–100)</text></svg>'
    )
    return "".join(out)
