"""The margin of error beside a share, as Taiwanese surveys state it: 在 95% 信心水準下，抽樣誤差約 ±x 個百分點.

Surveys quote the normal approximation's half-width z·√(p(1−p)/n). At the shares offices see
most (CSAT near 100 %, a level nobody pressed) that formula claims ±0 after a dozen happy
visitors, so the margin quoted here is the wider side of the Wilson score interval the pages
already show (stats.wilson): for mid shares and a few hundred responses the two agree to a
tenth of a point (p = 50 %, n = 1,000: ±3.1 either way), and it is never zero. Below the
minimum n (a suppressed figure) there is no margin either.
"""

from __future__ import annotations

from server_sync.collector.stats import Figures, wilson

PHRASE_ZH = "在 95% 信心水準下，抽樣誤差約 ±{m} 個百分點"
PHRASE_EN = "margin of error ±{m} percentage points at 95% confidence"
NOTE = (
    "抽樣誤差：在 95% 信心水準下，各百分比的抽樣誤差（±百分點）依其回覆數與比例計算（Wilson 區間較寬的一側）。"
    " Margin of error: each share's ± percentage points at 95% confidence, from its n and the share"
    " (the wider side of its Wilson interval)."
)


def margin_points(successes: int, n: int) -> float | None:
    """The 95 % margin, in percentage points to one decimal, of the share ``successes``/``n``."""
    if n <= 0 or not 0 <= successes <= n:
        return None
    ci = wilson(successes, n)
    if ci is None:
        return None
    p = successes / n
    return round(100.0 * max(p - ci[0], ci[1] - p), 1)


def phrase(margin: float | None) -> str:
    """The sentence beside a headline share, zh-TW then English; empty without a margin."""
    if margin is None:
        return ""
    m = f"{margin:.1f}"
    return f"{PHRASE_ZH.format(m=m)} · {PHRASE_EN.format(m=m)}"


def short(margin: float | None) -> str:
    """'±3.1' for a table cell (the table's note says what it is); '—' without a margin."""
    return "—" if margin is None else f"±{margin:.1f}"


# -- the shares of a Figures (none when it is suppressed) ----------------------------------------


def csat(fig: Figures) -> float | None:
    return None if fig.suppressed else margin_points(fig.top2, fig.n)


def level(fig: Figures, lv: int) -> float | None:
    return None if fig.suppressed else margin_points(fig.levels.get(lv, 0), fig.n)


def unhappy(fig: Figures) -> float | None:
    return None if fig.suppressed else margin_points(fig.unhappy, fig.n)


def share_of(count: int, total: int, min_n: int) -> float | None:
    """A share that is not a Figures (a reason's, a no-show rate): no margin below ``min_n``."""
    return None if total < min_n else margin_points(count, total)
