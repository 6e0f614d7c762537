"""The statistical tests the detectors use, in plain Python (no SciPy on the collector)."""

from __future__ import annotations

import math


def run_p_value(rate: float, run: int) -> float:
    """P(at least ``run`` ratings in a row without a press in a group pressed at ``rate``).

    Ratings are independent under the null, each in the group with probability ``rate``; the
    run since the group's last press is then geometric: P(R >= k) = (1 - rate)^k."""
    if run <= 0 or rate <= 0:
        return 1.0
    if rate >= 1:
        return 0.0
    return math.exp(run * math.log1p(-rate))


def chi_square(rows: list[list[int]]) -> tuple[float, int, float]:
    """Pearson's chi-square test of independence on a table of counts: (statistic, df, p-value).

    Columns empty in every row are left out; df = (rows - 1)(columns - 1)."""
    cols = [j for j in range(len(rows[0])) if any(r[j] for r in rows)]
    rows = [[r[j] for j in cols] for r in rows]
    rows = [r for r in rows if sum(r)]
    if len(rows) < 2 or len(cols) < 2:
        return 0.0, 0, 1.0
    total = sum(map(sum, rows))
    col_sums = [sum(r[j] for r in rows) for j in range(len(cols))]
    stat = 0.0
    for r in rows:
        n = sum(r)
        for j, observed in enumerate(r):
            expected = n * col_sums[j] / total
            stat += (observed - expected) ** 2 / expected
    df = (len(rows) - 1) * (len(cols) - 1)
    return stat, df, chi_square_sf(stat, df)


def chi_square_sf(x: float, df: int) -> float:
    """The chi-square distribution's upper tail P(X >= x): Q(df/2, x/2), by its series for
    small x and continued fraction for large (Numerical Recipes' gammq)."""
    if x <= 0:
        return 1.0
    a, z = df / 2.0, x / 2.0
    gln = math.lgamma(a)
    if z < a + 1:
        term = total = 1.0 / a
        ap = a
        for _ in range(1000):
            ap += 1
            term *= z / ap
            total += term
            if abs(term) < abs(total) * 1e-15:
                break
        return max(0.0, 1.0 - total * math.exp(-z + a * math.log(z) - gln))
    tiny = 1e-300
    b = z + 1 - a
    c, d = 1 / tiny, 1 / b
    h = d
    for i in range(1, 1000):
        an = -i * (i - a)
        b += 2
        d = an * d + b
        d = tiny if abs(d) < tiny else d
        c = b + an / c
        c = tiny if abs(c) < tiny else c
        d = 1 / d
        delta = d * c
        h *= delta
        if abs(delta - 1) < 1e-15:
            break
    return min(1.0, math.exp(-z + a * math.log(z) - gln) * h)


def poisson_zero(expected: float) -> float:
    """P(no event at all) when ``expected`` are expected: e^-expected."""
    return math.exp(-max(0.0, expected))
