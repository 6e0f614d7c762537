"""Simulated offices for the tamper detectors: seeded, on a clock given by the caller (no dates here).

An office has ``windows`` windows open Monday to Friday 08:00-17:00 (Asia/Taipei); each office
hour a window gets Poisson(``per_hour``) ratings, its levels drawn from its own probabilities,
themselves drawn around the office's (Dirichlet), so windows differ as real ones do.
``tampered`` = (window index, first office day, levels removed): from that day on, visitors who
would press those levels cannot, and leave without rating (the 2013 covers)."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from server_sync.collector.tamper.detect import WindowCounts, hour_key

OFFICE_TZ = ZoneInfo("Asia/Taipei")
BASE = (0.40, 0.32, 0.16, 0.07, 0.05)  # 非常滿意 … 非常不滿意: 12 % poor, as a busy counter might see
OPEN, CLOSE = 8, 17


def poisson(rng: random.Random, lam: float) -> int:
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p < limit:
            return k
        k += 1


def window_probs(rng: random.Random, concentration: float) -> list[float]:
    draws = [rng.gammavariate(concentration * b, 1.0) for b in BASE]
    total = sum(draws)
    return [d / total for d in draws]


def first_monday(epoch: float) -> datetime:
    """The office-time Monday 00:00 on or after ``epoch``."""
    t = datetime.fromtimestamp(epoch, OFFICE_TZ).replace(hour=0, minute=0, second=0, microsecond=0)
    return t + timedelta(days=(7 - t.weekday()) % 7)


@dataclass
class Office:
    windows: list[WindowCounts]
    days: list[datetime]  # each office day's 00:00, office time

    def closing(self, day: int) -> datetime:
        return self.days[day].replace(hour=CLOSE)


def simulate(
    seed: int,
    days: int,
    start_epoch: float,
    *,
    windows: int = 5,
    per_hour: float = 4.0,
    concentration: float = 300.0,
    tampered: tuple[int, int, tuple[int, ...]] | None = None,
) -> Office:
    rng = random.Random(seed)
    probs = [window_probs(rng, concentration) for _ in range(windows)]
    counts = [WindowCounts("第一組", f"{i + 1}") for i in range(windows)]
    office_days: list[datetime] = []
    day = first_monday(start_epoch)
    while len(office_days) < days:
        if day.weekday() < 5:
            office_days.append(day)
        day += timedelta(days=1)
    levels = list(range(1, 6))
    for d, midnight in enumerate(office_days):
        for hour in range(OPEN, CLOSE):
            key = hour_key(midnight.replace(hour=hour))
            for w in range(windows):
                for level in rng.choices(levels, probs[w], k=poisson(rng, per_hour)):
                    if tampered and tampered[0] == w and d >= tampered[1] and level in tampered[2]:
                        continue
                    counts[w].add(key, level, 1)
    return Office(counts, office_days)
