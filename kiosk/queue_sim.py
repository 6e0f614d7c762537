"""Realistic office days at one window: tickets, calls, no-shows and ratings through the real code paths.

Visitors arrive as a Poisson process whose rate follows the day (a morning
peak, a lull at lunch); each takes a ticket through ``Queue.issue`` (what the
guidance screen calls). Staff press the "next" button on a gpiozero mock pin,
which reaches the queue through ``RatingButtons`` and ``Kiosk`` exactly as the
real button does; visitors press rating buttons the same way. Service times are
log-normal around a true mean per service that differs from the directory's
typical duration and drifts during the day (slower after lunch and towards
closing), which is what a fixed-average estimator cannot follow.

The fixed-average estimate (the ZMS method) is computed on the same queue at
the same moment as the learned one, so both are judged on identical days.
"""

from __future__ import annotations

import heapq
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from kiosk import estimate
from kiosk.buttons import press_mock_pin
from kiosk.clock import SimulatedClock
from kiosk.config import Config
from kiosk.queue import QueueRefused, Ticket
from kiosk.runtime import Kiosk
from server_sync.wire.tz import OFFICE_TZ

OPEN, LAST_ARRIVAL = time(8, 30), time(17, 0)
# Visitors per hour by hour of the day (local): a morning peak, lunch, an afternoon bump.
ARRIVALS_PER_HOUR = {8: 4.5, 9: 6.5, 10: 6.5, 11: 5.5, 12: 2.5, 13: 4.0, 14: 5.5, 15: 5.0, 16: 3.5}
# Real mean service time as a share of the directory's typical duration (directories are guesses).
TRUE_VS_TYPICAL = {
    "candidate_registration": 1.3,
    "election_bulletin": 0.8,
    "polling_place": 0.75,
    "campaign_receipts": 1.25,
    "certificates": 1.2,
}
# Weights of the services visitors ask for (others: 1).
DEMAND = {"polling_place": 3.0, "certificates": 2.0, "candidate_registration": 1.2}
SIGMA = 0.45  # log-normal spread of one service time
PRIORITY_SHARE = 0.1
ABANDON_SHARE = 0.04  # visitors who leave before they are called
RATING_SHARE = 0.7
RECALL_GAP = 40.0  # seconds between calls of a number nobody answers


def drift(local: datetime) -> float:
    """How much slower than its mean service runs at this time of day: 0.8 at opening, 1.5 at closing."""
    hours = local.hour + local.minute / 60 - 8.5
    return 0.8 + 0.7 * min(max(hours / 8.5, 0.0), 1.0) ** 1.3


@dataclass
class DayResult:
    day: date
    issued: int = 0
    served: int = 0
    no_shows: int = 0
    ratings: int = 0
    refused: int = 0
    learned: list[tuple[float, str, float]] = field(default_factory=list)  # (estimate, band, actual)
    fixed: list[tuple[float, str, float]] = field(default_factory=list)


@dataclass
class SimResult:
    days: list[DayResult]

    def totals(self) -> dict[str, int]:
        return {
            k: sum(getattr(d, k) for d in self.days) for k in ("issued", "served", "no_shows", "ratings", "refused")
        }

    def learned(self) -> estimate.Accuracy:
        return estimate.accuracy(p for d in self.days for p in d.learned)

    def fixed(self) -> estimate.Accuracy:
        return estimate.accuracy(p for d in self.days for p in d.fixed)


def office_days(n: int, end: date) -> list[date]:
    """The last ``n`` weekdays up to ``end``."""
    out: list[date] = []
    d = end
    while len(out) < n:
        if d.weekday() < 5:
            out.append(d)
        d -= timedelta(days=1)
    return out[::-1]


def arrivals(rng: random.Random, day: date, scale: float = 1.0) -> list[float]:
    """Arrival times (seconds after opening) by thinning a Poisson process at the peak rate; ``scale``
    multiplies one window's rates (an office's service gets its share of all its windows' visitors)."""
    peak = scale * max(ARRIVALS_PER_HOUR.values()) / 3600
    opening = datetime.combine(day, OPEN, tzinfo=OFFICE_TZ)
    end = (datetime.combine(day, LAST_ARRIVAL, tzinfo=OFFICE_TZ) - opening).total_seconds()
    t = 0.0
    out: list[float] = []
    while True:
        t += rng.expovariate(peak)
        if t >= end:
            return out
        hour = (opening + timedelta(seconds=t)).hour
        if rng.random() < scale * ARRIVALS_PER_HOUR.get(hour, 0) / 3600 / peak:
            out.append(t)


def simulate_queue_days(
    config: Config,
    data_dir,
    days: int,
    *,
    seed: int | None = None,
    end: date | None = None,
    progress: Callable[[int], None] = lambda step: None,
) -> SimResult:
    """Run ``days`` office days at this config's window into ``data_dir``; return what happened."""
    import logging

    from gpiozero.pins.mock import MockFactory

    # One INFO line per ticket would drown the progress bar.
    logging.getLogger("kiosk.queue").setLevel(logging.WARNING)
    rng = random.Random(seed)
    end = end or datetime.now(OFFICE_TZ).date()
    dates = office_days(days, end)
    clock = SimulatedClock(datetime.combine(dates[0], time(7, 0), tzinfo=OFFICE_TZ))
    calls: list = []
    kiosk = Kiosk(config, data_dir, pin_factory=MockFactory(), clock=clock, on_call=calls.append)
    if kiosk.queue is None:
        kiosk.close()
        raise ValueError("the queue is off ([queue] enabled = false)")
    q = kiosk.queue
    results = []
    try:
        for day in dates:
            results.append(_one_day(kiosk, q, clock, rng, day, calls))
            progress(1)
    finally:
        kiosk.close()
    return SimResult(results)


def _one_day(kiosk: Kiosk, q, clock: SimulatedClock, rng: random.Random, day: date, calls: list) -> DayResult:
    result = DayResult(day)
    directory = q.directory()
    here = [s for s in directory.services if s.served_at(q.window)]
    if not here:
        raise ValueError(f"no service in the directory is served at window {q.window}")
    opening = datetime.combine(day, OPEN, tzinfo=OFFICE_TZ)
    now = clock.now()
    if now < opening:
        clock.advance((opening - now).total_seconds())
    day_factor = math.exp(rng.gauss(0, 0.12))
    fixed = estimate.FixedEstimator({s.code: s.typical_minutes * 60 for s in directory.services})
    weights = [DEMAND.get(s.code, 1.0) for s in here]
    levels = len(kiosk.config.levels)

    heap: list[tuple[float, int, str, Ticket | None]] = []  # (at, order, kind, the ticket a rating is for)
    order = 0

    def push(at: float, kind: str, payload: Ticket | None = None):
        nonlocal order
        order += 1
        heapq.heappush(heap, (at, order, kind, payload))

    for t in arrivals(rng, day):
        push(t, "arrive")
    absent: set[str] = set()
    pending: dict[str, tuple[float, str]] = {}  # ticket number → the fixed estimate at issue
    state = {"busy": False, "next_due": False}

    def begin(ticket, at: float):
        """A called visitor at the counter: serve, maybe rate, then staff press next."""
        if ticket is None:
            state["busy"] = False
            return
        state["busy"] = True
        if ticket.number in absent:
            push(at + RECALL_GAP, "recall")
            return
        svc = ticket.service
        local = clock.now().astimezone(OFFICE_TZ)
        typical = next((s.typical_minutes for s in directory.services if s.code == svc), 10) * 60
        mean = typical * TRUE_VS_TYPICAL.get(svc, 1.0) * drift(local) * day_factor
        duration = max(30.0, rng.lognormvariate(math.log(mean) - SIGMA**2 / 2, SIGMA))
        if rng.random() < RATING_SHARE:
            push(at + duration - rng.uniform(5, 20), "rate", ticket)
        push(at + duration, "next")

    def press_next(at: float):
        calls.clear()
        press_mock_pin(kiosk.buttons.next_button)
        outcome = calls[-1] if calls else None
        if outcome is None or isinstance(outcome, Exception) or outcome.ignored:
            raise RuntimeError(f"the next button did not call a number: {outcome!r}")
        if outcome.served is not None:
            result.served += 1
        begin(outcome.called, at)

    while heap:
        at, _, kind, payload = heapq.heappop(heap)
        target = opening + timedelta(seconds=at)
        if target > clock.now():
            clock.advance((target - clock.now()).total_seconds())
        if kind == "arrive":
            service = rng.choices(here, weights)[0]
            priority = rng.random() < PRIORITY_SHARE
            fixed_secs = q.estimate_with(fixed, priority=priority)
            try:
                ticket = q.issue(service.code, priority=priority)
            except QueueRefused:
                result.refused += 1  # e.g. a service closed over lunch
                continue
            result.issued += 1
            pending[ticket.number] = (fixed_secs, estimate.band(fixed_secs))
            if rng.random() < ABANDON_SHARE:
                absent.add(ticket.number)
            if not state["busy"] and not state["next_due"]:
                state["next_due"] = True
                push(at + rng.uniform(4, 20), "next")
        elif kind == "next":
            state["next_due"] = False
            press_next(at)
        elif kind == "recall":
            outcome = q.recall(via="staff")
            if outcome.no_show is not None:
                result.no_shows += 1
                begin(outcome.called, at)
            else:
                push(at + RECALL_GAP, "recall")
        elif kind == "rate":
            assert payload is not None  # begin() pushes every "rate" with its ticket
            weights_by_wait = _level_weights(levels, payload.wait_seconds or 0)
            level = rng.choices(range(1, levels + 1), weights_by_wait)[0]
            press_mock_pin(kiosk.buttons.buttons[level])
            result.ratings += 1
    for t in q.tickets.values():
        if t.wait_seconds is not None and t.estimate_seconds is not None and t.number in pending:
            result.learned.append((t.estimate_seconds, t.estimate_band, t.wait_seconds))
            fe, fb = pending[t.number]
            result.fixed.append((fe, fb, t.wait_seconds))
    return result


def _level_weights(levels: int, wait_seconds: float) -> list[float]:
    """Longer waits, unhappier visitors: the share of the right-hand (unhappy) levels grows with the wait."""
    unhappy = min(wait_seconds / 3600, 1.0)
    return [math.exp(-(i * (1.6 - 1.4 * unhappy))) for i in range(levels)]


def report_lines(result: SimResult) -> list[str]:
    """What `kiosk simulate --queue-days` prints: counts, then estimate accuracy, learned vs fixed."""
    t = result.totals()
    learned, fixed = result.learned(), result.fixed()
    first, last = result.days[0].day, result.days[-1].day
    return [
        f"已模擬 simulated {len(result.days)} office days ({first} to {last}): {t['issued']} tickets, "
        f"{t['served']} served, {t['no_shows']} no-shows, {t['ratings']} ratings, {t['refused']} refused (closed)",
        f"等候預估 wait estimate (n={learned.n}): learned MAE {learned.mae_seconds / 60:.1f} min, "
        f"{learned.in_band:.0%} inside the band shown; fixed average (ZMS) MAE {fixed.mae_seconds / 60:.1f} min, "
        f"{fixed.in_band:.0%} inside its band",
    ]
