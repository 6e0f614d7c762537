"""The detectors, in plain Python over hourly counts: each returns the findings an alert is made of.

Counts are per window (unit, window) and office hour ('YYYY-MM-DD HH', Asia/Taipei), one count
per level (1 = 非常滿意 … L = the worst). Which statistic each uses, and why, is in docs/admin.md
"Tamper and health alerts"; the false-alarm rates measured on simulated offices are there too
(bench/bench_tamper.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from server_sync.collector.tamper.significance import chi_square, poisson_zero, run_p_value

HOUR_FMT = "%Y-%m-%d %H"


@dataclass
class WindowCounts:
    """One window's counted ratings per office hour; ``levels`` its kiosk's buttons (3-5)."""

    unit: str
    window: str
    levels: int = 5
    hours: dict[str, list[int]] = field(default_factory=dict)

    def add(self, hour: str, level: int, n: int) -> None:
        counts = self.hours.setdefault(hour, [0] * self.levels)
        if 1 <= level <= self.levels:
            counts[level - 1] += n

    @property
    def key(self) -> str:
        return f"{self.unit}\x00{self.window}"


@dataclass(frozen=True)
class Finding:
    """What an alert says: its cause key (one alert per cause), the text with the evidence, details."""

    cause: str
    unit: str
    window: str
    summary: str
    detail: dict[str, Any]
    kiosk: str = ""


def groups(levels: int) -> dict[str, tuple[int, ...]]:
    """The button groups watched: the poor end (不滿意, 非常不滿意: levels 4-5 of 5) and the good
    end (非常滿意, 滿意: 1-2), each on its own; on a three-button kiosk one button each."""
    if levels >= 4:
        return {"poor": (levels - 1, levels), "good": (1, 2)}
    return {"poor": (levels,), "good": (1,)}


GROUP_TEXT = {"poor": "不滿意類 poor-rating", "good": "滿意類 good-rating"}


def _levels_text(levels: tuple[int, ...]) -> str:
    return f"{levels[0]}–{levels[-1]}" if len(levels) > 1 else str(levels[0])


def _in_group(counts: list[int], levels: tuple[int, ...]) -> int:
    return sum(counts[lv - 1] for lv in levels if lv <= len(counts))


def hour_key(t: datetime) -> str:
    return t.strftime(HOUR_FMT)


def quiet_buttons(
    windows: Iterable[WindowCounts],
    now: datetime,
    *,
    alpha: float,
    lookback_days: int = 28,
    min_pool: int = 200,
    min_own: int = 200,
) -> list[Finding]:
    """Windows whose poor (or good) buttons have gone unpressed for more ratings in a row than the
    other windows' rate makes plausible.

    k = the window's counted ratings after the last hour in which the group was pressed; the
    rate p = the group's share of the other windows' ratings over the last ``lookback_days``
    (at least ``min_pool`` of them), or the window's own share before the run if that is lower
    (a window whose visitors are happier than the office's is not an alarm for it);
    p-value = (1 - p)^k; a finding when below ``alpha``."""
    windows = list(windows)
    start = hour_key(now - timedelta(days=lookback_days))
    end = hour_key(now)
    # Each window's (group presses, ratings) over the lookback, once; a window's pool is the others'.
    recent: dict[tuple[int, str], tuple[int, int]] = {}
    for i, w in enumerate(windows):
        in_range = [c for h, c in w.hours.items() if start <= h <= end]
        for name, lv in groups(w.levels).items():
            recent[i, name] = (sum(_in_group(c, lv) for c in in_range), sum(map(sum, in_range)))
    found = []
    for i, w in enumerate(windows):
        ordered = sorted(h for h in w.hours if h <= end)
        for name, lv in groups(w.levels).items():
            run, last_press = 0, ""
            for h in reversed(ordered):
                if _in_group(w.hours[h], lv):
                    last_press = h
                    break
                run += sum(w.hours[h])
            if run == 0:
                continue
            others = [recent[j, name] for j, o in enumerate(windows) if j != i and o.levels == w.levels]
            pool_g, pool_n = sum(g for g, _ in others), sum(n for _, n in others)
            if pool_n < min_pool or pool_g == 0:
                continue
            pooled = pool_g / pool_n
            rate, own_text = pooled, ""
            if last_press:
                own_start = hour_key(datetime.strptime(last_press, HOUR_FMT) - timedelta(days=lookback_days))
                own_g = own_n = 0
                for h, c in w.hours.items():
                    if own_start <= h <= last_press:
                        own_g += _in_group(c, lv)
                        own_n += sum(c)
                if own_n >= min_own:
                    own = own_g / own_n
                    rate = min(pooled, own)
                    own_text = f"，本窗口先前 own rate before {own:.1%} (n={own_n})"
            p = run_p_value(rate, run)
            if p >= alpha:
                continue
            since = f"{last_press}:00 之後 after" if last_press else "開始以來 since its first rating"
            summary = (
                f"{w.unit} 窗口 window {w.window}: 疑似按鈕遭遮蔽 {GROUP_TEXT[name]} buttons "
                f"({_levels_text(lv)}) unpressed for {run} ratings in a row ({since}); "
                f"其他窗口比率 other windows' rate {pooled:.1%} (n={pool_n}){own_text}; "
                f"p = (1 − {rate:.3f})^{run} = {p:.2g} < {alpha:g}"
            )
            found.append(
                Finding(
                    f"quiet:{name}:{w.key}:{last_press or 'first'}",
                    w.unit,
                    w.window,
                    summary,
                    {
                        "test": "run of ratings without the group, against the pooled rate",
                        "group": name,
                        "levels": list(lv),
                        "run": run,
                        "since_hour": last_press,
                        "pooled_rate": round(pooled, 5),
                        "pooled_n": pool_n,
                        "rate_used": round(rate, 5),
                        "p_value": p,
                        "alpha": alpha,
                    },
                )
            )
    return found


def _bins(counts: list[int], levels: int) -> list[int]:
    """good / middle / poor counts: the chi-square's three columns (sparse single levels pooled)."""
    g = groups(levels)
    good = _in_group(counts, g["good"])
    poor = _in_group(counts, g["poor"])
    return [good, sum(counts) - good - poor, poor]


def distribution_shift(
    windows: Iterable[WindowCounts],
    today: date,
    *,
    alpha: float,
    recent_days: int = 7,
    base_days: int = 28,
    min_recent: int = 100,
    min_base: int = 200,
) -> list[Finding]:
    """Windows whose ratings in the last ``recent_days`` (today included) differ from the
    ``base_days`` before: Pearson's chi-square on good / middle / poor counts, 2 × 3, df = 2."""
    recent_from = (today - timedelta(days=recent_days - 1)).isoformat()
    base_from = (today - timedelta(days=recent_days + base_days - 1)).isoformat()
    last = today.isoformat() + " 99"
    found = []
    for w in windows:
        recent = [0, 0, 0]
        base = [0, 0, 0]
        for h, c in w.hours.items():
            if h > last or h < base_from:
                continue
            target = recent if h >= recent_from else base
            for i, v in enumerate(_bins(c, w.levels)):
                target[i] += v
        if sum(recent) < min_recent or sum(base) < min_base:
            continue
        stat, df, p = chi_square([recent, base])
        if p >= alpha:
            continue
        nr, nb = sum(recent), sum(base)
        shares = ", ".join(
            f"{label} {b / nb:.1%}→{r / nr:.1%}"
            for label, b, r in zip(("滿意 good", "普通 middle", "不滿意 poor"), base, recent)
        )
        summary = (
            f"{w.unit} 窗口 window {w.window}: 評分分布突變 the ratings' distribution changed: "
            f"最近 {recent_days} 天 last {recent_days} days (n={nr}) vs 先前 {base_days} 天 the {base_days} before "
            f"(n={nb}): {shares}; χ² = {stat:.1f}, df = {df}, p = {p:.2g} < {alpha:g}"
        )
        week = today.toordinal() // recent_days
        found.append(
            Finding(
                f"shift:{w.key}:{week}",
                w.unit,
                w.window,
                summary,
                {
                    "test": "chi-square, last days vs the days before",
                    "recent": recent,
                    "base": base,
                    "chi2": round(stat, 3),
                    "df": df,
                    "p_value": p,
                    "alpha": alpha,
                    "recent_from": recent_from,
                },
            )
        )
    return found


@dataclass(frozen=True)
class OfficeHours:
    """When the office is open: weekdays (0 = Monday) and minutes from midnight, Asia/Taipei."""

    days: frozenset[int]
    start: int
    end: int

    def open_at(self, t: datetime) -> bool:
        m = t.hour * 60 + t.minute
        return t.weekday() in self.days and self.start <= m < self.end

    def open_seconds(self, a: datetime, b: datetime) -> float:
        """Seconds of office hours between ``a`` and ``b`` (both aware, office time zone)."""
        if b <= a:
            return 0.0
        total = 0.0
        day = a.date()
        while day <= b.date():
            if day.weekday() in self.days:
                midnight = datetime(day.year, day.month, day.day, tzinfo=a.tzinfo)
                lo = max(a, midnight + timedelta(minutes=self.start))
                hi = min(b, midnight + timedelta(minutes=self.end))
                total += max(0.0, (hi - lo).total_seconds())
            day += timedelta(days=1)
        return total


@dataclass(frozen=True)
class KioskSeen:
    name: str
    unit: str
    window: str
    last_seen: datetime | None  # office time; None: never synced
    created: datetime


def silent_kiosks(kiosks: Iterable[KioskSeen], now: datetime, hours: OfficeHours, minutes: float) -> list[Finding]:
    """Kiosks that have not synced for ``minutes`` of office hours, while the office is open."""
    if not hours.open_at(now):
        return []
    found = []
    for k in kiosks:
        since = k.last_seen or k.created
        quiet = hours.open_seconds(since, now) / 60
        if quiet < minutes:
            continue
        last = since.strftime("%Y-%m-%d %H:%M") if k.last_seen else "從未 never"
        found.append(
            Finding(
                f"offline:{k.name}:{since.isoformat()}",
                k.unit,
                k.window,
                f"機台 {k.name}（{k.unit} {k.window}）上班時間 {quiet:.0f} 分鐘未連線 kiosk silent for {quiet:.0f} "
                f"minutes of office hours (上次 last sync {last})",
                {"last_seen": k.last_seen.isoformat() if k.last_seen else None, "office_minutes": round(quiet)},
                kiosk=k.name,
            )
        )
    return found


def idle_windows(
    windows: Iterable[WindowCounts],
    now: datetime,
    hours: OfficeHours,
    *,
    alpha: float,
    lookback_days: int = 28,
    min_ratings: int = 100,
) -> list[Finding]:
    """Windows with no rating at all for longer, in office hours, than their own rate allows:
    expected = ratings per office hour over ``lookback_days`` × office hours since the last
    rating's hour; P(none) = e^-expected (Poisson); a finding when below ``alpha``."""
    if not hours.open_at(now):
        return []
    start = now - timedelta(days=lookback_days)
    start_key, now_key = hour_key(start), hour_key(now)
    open_hours = hours.open_seconds(start, now) / 3600
    found = []
    for w in windows:
        seen = [h for h, c in w.hours.items() if sum(c) and h <= now_key]
        n = sum(sum(w.hours[h]) for h in seen if h >= start_key)
        if not seen or n < min_ratings or open_hours <= 0:
            continue
        last = max(seen)
        after = datetime.strptime(last, HOUR_FMT).replace(tzinfo=now.tzinfo) + timedelta(hours=1)
        gap = hours.open_seconds(after, now) / 3600
        expected = n / open_hours * gap
        p = poisson_zero(expected)
        if p >= alpha:
            continue
        found.append(
            Finding(
                f"idle:{w.key}:{last}",
                w.unit,
                w.window,
                f"{w.unit} 窗口 window {w.window}: 上班時間 {gap:.1f} 小時無人評分 no rating for {gap:.1f} office hours "
                f"(最後 last {last}:00); 平常每小時 usually {n / open_hours:.1f}/h, 預期 expected {expected:.1f}; "
                f"P(0) = e^−{expected:.1f} = {p:.2g} < {alpha:g}",
                {"last_hour": last, "office_hours": round(gap, 2), "expected": round(expected, 2), "p_value": p},
            )
        )
    return found
