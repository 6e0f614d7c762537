"""The figures an administrator reads, and how sure each one is.

Levels: 1 is the most satisfied button; a kiosk has L buttons (3-5).

* Happy Index: the mean on 0-100 with levels evenly spaced (level 1 = 100,
  level L = 0), as report.py defines it.
* CSAT: % of counted presses in the top two levels.
* Unhappy: the bottom two levels on a 4- or 5-button kiosk, the bottom one on a
  3-button kiosk (its middle button is "neutral", not unhappy).

95 % confidence intervals:

* CSAT is a proportion, so it gets the **Wilson score interval**. The plain
  normal ("Wald") interval misbehaves exactly where offices live: small n and
  shares near 100 % (it can claim 100 % ± 0 after 12 happy visitors, or run
  past 100 %). Wilson stays inside 0-100 and keeps close to its nominal 95 %
  coverage down to a few dozen responses.
* The Happy Index is a mean of bounded scores, so it gets the **normal
  approximation** mean ± 1.96·s/√n with the sample standard deviation s
  (kept exact from a running sum of squares in the rollups). Below the minimum
  n (default 30) no figure is shown at all, and from 30 on the t and normal
  quantiles differ by under 5 %, so the simpler normal quantile is used.

Below the minimum n every derived figure (%, Happy Index, CSAT, interval) is
replaced by 回覆數不足 / too few responses; the counts themselves are facts and
stay.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

Z95 = 1.959963984540054
DEFAULT_MIN_N = 30
TOO_FEW = "回覆數不足 too few responses"


def finite(value: float | None) -> float | None:
    """``value``, or None if it is NaN or an infinity: a figure the dashboard must never show or send
    (JSON has no infinity; a bad row stored before ingest checked its numbers)."""
    return value if value is None or math.isfinite(value) else None


def happy_points(level: int, kiosk_levels: int) -> float:
    lv = min(level, kiosk_levels)
    return 100.0 * (kiosk_levels - lv) / (kiosk_levels - 1)


def is_unhappy(level: int, kiosk_levels: int) -> bool:
    return level >= kiosk_levels - 1 if kiosk_levels >= 4 else level >= kiosk_levels


def wilson(successes: int, n: int, z: float = Z95) -> tuple[float, float] | None:
    """Wilson score interval for successes/n, as fractions; None for n = 0."""
    if n <= 0:
        return None
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def mean_interval(total: float, total_sq: float, n: int, z: float = Z95) -> tuple[float, float] | None:
    """Normal-approximation interval for a mean from its sum and sum of squares; None below n = 2."""
    if n < 2:
        return None
    mean = total / n
    var = max(0.0, (total_sq - n * mean * mean) / (n - 1))
    half = z * math.sqrt(var / n)
    return max(0.0, mean - half), min(100.0, mean + half)


@dataclass
class Figures:
    """Counts for one group; every derived figure is None below ``min_n`` (suppressed)."""

    levels: dict[int, int] = field(default_factory=dict)
    misuse: int = 0
    happy_sum: float = 0.0
    happy_sq: float = 0.0
    unhappy: int = 0
    min_n: int = DEFAULT_MIN_N

    def add(self, levels: dict[int, int], misuse: int, happy_sum: float, happy_sq: float, unhappy: int) -> None:
        if not (math.isfinite(happy_sum or 0.0) and math.isfinite(happy_sq or 0.0)):
            return  # a corrupt rollup row: left out rather than poisoning every figure it joins
        for lv, c in levels.items():
            self.levels[lv] = self.levels.get(lv, 0) + c
        self.misuse += misuse
        self.happy_sum += happy_sum
        self.happy_sq += happy_sq
        self.unhappy += unhappy

    @property
    def n(self) -> int:
        return sum(self.levels.values())

    @property
    def top2(self) -> int:
        return self.levels.get(1, 0) + self.levels.get(2, 0)

    @property
    def suppressed(self) -> bool:
        return self.n < self.min_n

    def share(self, level: int) -> float | None:
        if self.suppressed or not self.n:
            return None
        return round(100.0 * self.levels.get(level, 0) / self.n, 1)

    @property
    def happy_index(self) -> float | None:
        return None if self.suppressed or not self.n else round(self.happy_sum / self.n, 1)

    @property
    def happy_ci(self) -> tuple[float, float] | None:
        if self.suppressed:
            return None
        ci = mean_interval(self.happy_sum, self.happy_sq, self.n)
        return ci and (round(ci[0], 1), round(ci[1], 1))

    @property
    def csat(self) -> float | None:
        return None if self.suppressed or not self.n else round(100.0 * self.top2 / self.n, 1)

    @property
    def csat_ci(self) -> tuple[float, float] | None:
        if self.suppressed:
            return None
        ci = wilson(self.top2, self.n)
        return ci and (round(100 * ci[0], 1), round(100 * ci[1], 1))

    @property
    def unhappy_share(self) -> float | None:
        return None if self.suppressed or not self.n else round(100.0 * self.unhappy / self.n, 1)

    def as_dict(self, max_level: int = 5) -> dict:
        # The same figures as the properties give, with n and the suppression worked out once: a
        # dashboard at 500 windows builds this for every window, and the properties each re-add n.
        n = self.n
        shown = n >= self.min_n and n > 0
        counts = {str(lv): self.levels.get(lv, 0) for lv in range(1, max_level + 1)}
        return {
            "n": n,
            "misuse": self.misuse,
            "suppressed": n < self.min_n,
            "min_n": self.min_n,
            "levels": counts,
            "shares": {lv: round(100.0 * c / n, 1) if shown else None for lv, c in counts.items()},
            "happy_index": round(self.happy_sum / n, 1) if shown else None,
            "happy_index_ci": self.happy_ci,
            "csat": round(100.0 * self.top2 / n, 1) if shown else None,
            "csat_ci": self.csat_ci,
            "unhappy_share": round(100.0 * self.unhappy / n, 1) if shown else None,
        }


def percentile_from_histogram(buckets: dict[int, int], q: float) -> float | None:
    """The q-quantile (0-1) of values counted in whole-minute buckets, as minutes (bucket upper edge)."""
    total = sum(buckets.values())
    if not total:
        return None
    need = q * total
    run = 0
    for b in sorted(buckets):
        run += buckets[b]
        if run >= need:
            return float(b + 1)
    return float(max(buckets) + 1)


def fmt(value: float | None, suffix: str = "") -> str:
    return "—" if value is None else f"{value:.1f}{suffix}"


def fmt_ci(ci: tuple[float, float] | None) -> str:
    return "—" if ci is None else f"{ci[0]:.1f}–{ci[1]:.1f}"
