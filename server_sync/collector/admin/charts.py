"""Charts drawn on the server as inline SVG: no JavaScript, nothing fetched, prints and goes into the PDF.

Text in the SVG uses the page's font (Noto Sans CJK TC), so labels may be Chinese.
"""

from __future__ import annotations

from html import escape

from server_sync.collector.stats import Figures

LEVEL_COLOURS = ["#1a9850", "#91cf60", "#d9d98a", "#fc8d59", "#d73027"]
FONT = "font-family=\"'Noto Sans CJK TC','Noto Sans TC',sans-serif\""


def svg_open(width: int, height: int, label: str, font_size: int) -> str:
    """A chart's opening tag: shown at 1.5 times its viewBox, named for screen readers, in the page's font."""
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width * 1.5:.0f}" role="img" '
        f'aria-label="{label}" {FONT} font-size="{font_size}">'
    )


def _colour_for(hi: float) -> str:
    """Red (0) through yellow (50) to green (100)."""
    hi = max(0.0, min(100.0, hi))
    if hi < 50:
        r, g = 215, int(48 + (217 - 48) * hi / 50)
    else:
        r, g = int(215 - (215 - 26) * (hi - 50) / 50), int(217 - (217 - 152) * (hi - 50) / 50)
    return f"#{r:02x}{g:02x}40"


def levels_svg(fig: Figures, max_level: int, width: int = 600, height: int = 46) -> str:
    n = fig.n
    parts = [svg_open(width, height, "各等級分布 responses by level", 13)]
    if not n:
        parts.append('<text x="4" y="26">無資料 no data</text></svg>')
        return "".join(parts)
    x = 0.0
    for lv in range(1, max_level + 1):
        c = fig.levels.get(lv, 0)
        w = width * c / n
        if w <= 0:
            continue
        parts.append(
            f'<rect x="{x:.1f}" y="4" width="{w:.1f}" height="{height - 8}" fill="{LEVEL_COLOURS[lv - 1]}">'
            f"<title>等級 level {lv}: {c}</title></rect>"
        )
        if w > 34:
            parts.append(f'<text x="{x + w / 2:.1f}" y="{height / 2 + 5:.0f}" text-anchor="middle">{lv}: {c}</text>')
        x += w
    parts.append("</svg>")
    return "".join(parts)


def trend_svg(points: list[tuple[str, Figures]], width: int = 760, height: int = 240) -> str:
    """Bars: responses per period; line and band: Happy Index with its 95 % interval (suppressed periods: no dot)."""
    left, right, top, bottom = 44, 44, 12, 40
    pw, ph = width - left - right, height - top - bottom
    out = [svg_open(width, height, "趨勢 trend", 11)]
    if not points:
        out.append('<text x="10" y="30" font-size="14">無資料 no data</text></svg>')
        return "".join(out)
    nmax = max(f.n for _, f in points) or 1
    step = pw / len(points)
    bw = max(1.0, step * 0.6)
    out.append(f'<line x1="{left}" y1="{top + ph}" x2="{left + pw}" y2="{top + ph}" stroke="#888"/>')
    for v in (0, 50, 100):
        y = top + ph - ph * v / 100
        out.append(
            f'<text x="{width - right + 4}" y="{y + 4:.1f}" fill="#1f4e99">{v}</text>'
            f'<line x1="{left}" y1="{y:.1f}" x2="{left + pw}" y2="{y:.1f}" stroke="#ddd" stroke-dasharray="3,3"/>'
        )
    out.append(f'<text x="4" y="{top + 8}" fill="#777">n {nmax}</text>')
    line, band_hi, band_lo = [], [], []
    label_every = max(1, len(points) // 12)
    for i, (period, fig) in enumerate(points):
        cx = left + step * (i + 0.5)
        h = ph * fig.n / nmax
        out.append(
            f'<rect x="{cx - bw / 2:.1f}" y="{top + ph - h:.1f}" width="{bw:.1f}" height="{h:.1f}" fill="#c9d6ea">'
            f"<title>{escape(period)}: n={fig.n}, 快樂指數 HI={fig.happy_index if fig.happy_index is not None else '回覆數不足'}</title></rect>"
        )
        if i % label_every == 0:
            out.append(f'<text x="{cx:.1f}" y="{height - bottom + 16}" text-anchor="middle">{escape(period)}</text>')
        if fig.happy_index is not None:
            y = top + ph - ph * fig.happy_index / 100
            line.append(f"{cx:.1f},{y:.1f}")
            ci = fig.happy_ci
            if ci:
                band_hi.append(f"{cx:.1f},{top + ph - ph * ci[1] / 100:.1f}")
                band_lo.append(f"{cx:.1f},{top + ph - ph * ci[0] / 100:.1f}")
            out.append(f'<circle cx="{cx:.1f}" cy="{y:.1f}" r="3" fill="#1f4e99"/>')
    if len(band_hi) > 1:
        out.append(f'<polygon points="{" ".join(band_hi + band_lo[::-1])}" fill="#1f4e99" fill-opacity="0.15"/>')
    if len(line) > 1:
        out.append(f'<polyline points="{" ".join(line)}" fill="none" stroke="#1f4e99" stroke-width="2"/>')
    out.append(
        f'<text x="{left}" y="{height - 6}" fill="#555">長條 bars: 回覆數 responses; 線 line: 快樂指數 Happy Index '
        f"(陰影 shade: 95% CI)</text></svg>"
    )
    return "".join(out)


def heatmap_svg(heat: dict[tuple[int, int], Figures], weekdays: list[str], width: int = 760) -> str:
    """Weekday rows x hour columns; colour = Happy Index, grey with n when too few responses."""
    hours = sorted({h for _, h in heat}) or list(range(8, 18))
    hours = list(range(min(hours), max(hours) + 1))
    days = sorted({d for d, _ in heat} | set(range(5)))
    cw = (width - 70) / len(hours)
    ch = 30
    height = 24 + ch * len(days) + 8
    out = [svg_open(width, height, "星期×時段 weekday × hour", 11)]
    for j, h in enumerate(hours):
        out.append(f'<text x="{70 + cw * (j + 0.5):.1f}" y="16" text-anchor="middle">{h:02d}</text>')
    for i, d in enumerate(days):
        y = 24 + ch * i
        out.append(f'<text x="4" y="{y + ch / 2 + 4:.0f}">{escape(weekdays[d])}</text>')
        for j, h in enumerate(hours):
            fig = heat.get((d, h))
            x = 70 + cw * j
            if fig is None or not fig.n:
                fill, label = "#f4f4f4", ""
            elif fig.happy_index is None:
                fill, label = "#dddddd", f"n{fig.n}"
            else:
                fill, label = _colour_for(fig.happy_index), f"{fig.happy_index:.0f}"
            tip = (
                "" if fig is None else f"<title>{escape(weekdays[d])} {h:02d}:00 n={fig.n} HI={fig.happy_index}</title>"
            )
            out.append(f'<rect x="{x:.1f}" y="{y}" width="{cw - 2:.1f}" height="{ch - 2}" fill="{fill}">{tip}</rect>')
            if label and cw > 24:
                out.append(
                    f'<text x="{x + cw / 2 - 1:.1f}" y="{y + ch / 2 + 3:.0f}" text-anchor="middle">{label}</text>'
                )
    out.append("</svg>")
    return "".join(out)
