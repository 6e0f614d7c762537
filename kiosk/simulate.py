"""Realistic office days of ratings through the real button path, for demos and benchmarks.

Presses go through gpiozero ``MockFactory`` pins into the same ``RatingButtons``
the kiosk uses; a ``SimulatedClock`` spaces them like a real counter (office
hours on weekdays, Poisson arrivals) without waiting for real time to pass.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, time, timedelta, timezone

from kiosk.buttons import press_mock_pin
from kiosk.clock import SimulatedClock
from kiosk.config import Config
from kiosk.ratings import PressOutcome
from kiosk.runtime import Kiosk

TAIPEI = timezone(timedelta(hours=8))
OPEN, CLOSE = time(8, 30), time(17, 30)
# Share of presses at each level, leftmost (most satisfied) first.
LEVEL_WEIGHTS = {3: [0.75, 0.18, 0.07], 4: [0.55, 0.3, 0.1, 0.05], 5: [0.5, 0.3, 0.12, 0.05, 0.03]}
MEAN_GAP = 6 * 60  # seconds between visitors at one window
REPEAT_SHARE = 0.03  # visitors who press again at once (stored as misuse)
REASON_SHARE = 0.6  # unhappy visitors who answer the follow-up question


def _next_open(t: datetime) -> datetime:
    """The next moment the office is open, at or after ``t``."""
    while True:
        if t.weekday() < 5 and OPEN <= t.timetz().replace(tzinfo=None) < CLOSE:
            return t
        day = t.date() if t.timetz().replace(tzinfo=None) < OPEN else t.date() + timedelta(days=1)
        t = datetime.combine(day, OPEN, tzinfo=TAIPEI)
        while t.weekday() >= 5:
            t += timedelta(days=1)


def simulate_ratings(
    config: Config,
    data_dir,
    n: int,
    *,
    seed: int | None = None,
    end: datetime | None = None,
    progress: Callable[[int], None] = lambda step: None,
) -> dict[str, int]:
    """Record ``n`` presses; return counts of presses, misuse and reasons stored."""
    from gpiozero.pins.mock import MockFactory

    rng = random.Random(seed)
    end = (end or datetime.now(TAIPEI)).astimezone(TAIPEI)
    per_day = 9 * 3600 / MEAN_GAP
    days = int(n / per_day) + 1
    start = end - timedelta(days=days * 7 / 5 + 1)
    clock = SimulatedClock(_next_open(start.replace(hour=8, minute=30, second=0, microsecond=0)))
    counts = {"presses": 0, "misuse": 0, "reasons": 0}
    outcomes: list[object] = []  # what the listener heard: PressOutcome or PressFailed
    kiosk = Kiosk(config, data_dir, pin_factory=MockFactory(), clock=clock, listener=outcomes.append)
    weights = LEVEL_WEIGHTS[len(config.levels)]
    try:
        for _ in range(n):
            gap = rng.expovariate(1 / MEAN_GAP)
            if counts["presses"] and rng.random() < REPEAT_SHARE:
                gap = rng.uniform(0.5, config["buttons.repeat_window"] * 0.9 or 0.5)
            clock.advance(gap)
            wall = _next_open(clock.now())
            if wall != clock.now():
                clock.advance((wall - clock.now()).total_seconds())
            level = rng.choices(range(1, len(weights) + 1), weights)[0]
            button = kiosk.buttons.buttons[level]
            outcomes.clear()
            press_mock_pin(button)
            clock.advance(0.3)
            counts["presses"] += 1
            outcome = outcomes[-1] if outcomes else None
            if isinstance(outcome, PressOutcome):
                if outcome.event.misuse:
                    counts["misuse"] += 1
                elif level >= config.ask_from_level and config.reasons and rng.random() < REASON_SHARE:
                    clock.advance(rng.uniform(2, 8))
                    kiosk.recorder.reason(outcome.event, rng.choice(config.reasons).code)
                    counts["reasons"] += 1
            progress(1)
    finally:
        kiosk.close()
    return counts
