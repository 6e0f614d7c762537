"""How long a visitor will wait: learned from this window's own service times.

``LearnedEstimator`` keeps an exponentially weighted mean of the measured service
time per service (kiosk.queue measures it from one call to the next). A service
not seen yet starts from the directory's typical duration, scaled by how much
slower or faster this window has run than the directory said for the services it
has seen: the directory is a guess made once a year, the window is measured
today. ``FixedEstimator`` is what Qmatic and ZMS do (an administrator's fixed
average per service) and serves as the baseline in tests and bench/.

Visitors see a band, never minutes: a number invites arguing over a minute,
and the band's width is honest about the uncertainty. Every estimate is stored
with its ticket; ``accuracy`` reports against the wait that really happened.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable
from dataclasses import dataclass

# (upper bound in minutes or None, key); a wait falls in the first band whose bound is above it.
BANDS = ((5, "lt5"), (10, "5-10"), (20, "10-20"), (30, "20-30"), (None, "30+"))
CLOSED = "closed"
BAND_LABELS = {
    "lt5": ("少於 5 分鐘", "Under 5 minutes"),
    "5-10": ("約 5–10 分鐘", "About 5–10 minutes"),
    "10-20": ("約 10–20 分鐘", "About 10–20 minutes"),
    "20-30": ("約 20–30 分鐘", "About 20–30 minutes"),
    "30+": ("30 分鐘以上", "30 minutes or more"),
    CLOSED: ("未開放", "Not open now"),
}
ALPHA = 0.15  # weight of the newest visitor in the window's factor: about the last dozen count
SERVICE_ALPHA = 0.1  # weight of the newest visitor in a service's own correction
TRUST = 5  # observations after which a service's own mean counts as much as the window's factor
MIN_REMAINING = 0.15  # a visitor already being served past the mean still has some time left
OUTLIER = 4.0  # a service time over 4x the expected (staff forgot to press next) counts as 4x


def band(seconds: float | None) -> str:
    if seconds is None:
        return CLOSED
    minutes = seconds / 60
    for bound, key in BANDS:
        if bound is None or minutes < bound:
            return key
    return BANDS[-1][1]


def band_range(key: str) -> tuple[float, float]:
    """The band's range in seconds, [low, high)."""
    low = 0.0
    for bound, k in BANDS:
        high = float("inf") if bound is None else bound * 60.0
        if k == key:
            return low, high
        low = high
    raise KeyError(key)


def in_band(actual_seconds: float, key: str) -> bool:
    if key == CLOSED:
        return False
    low, high = band_range(key)
    return low <= actual_seconds < high


def label(key: str, lang: str) -> str:
    zh, en = BAND_LABELS[key]
    return en if lang == "en" else zh


class FixedEstimator:
    """The fixed-average method (ZMS, Qmatic): each service takes its configured typical duration."""

    def __init__(self, priors: dict[str, float]):
        self.priors = dict(priors)  # service code → seconds

    def expected(self, service: str) -> float:
        return self.priors.get(service) or (sum(self.priors.values()) / len(self.priors) if self.priors else 600.0)

    def observe(self, service: str, seconds: float) -> None:
        pass

    def set_priors(self, priors: dict[str, float]) -> None:
        self.priors = dict(priors)

    def wait(self, current: tuple[str, float] | None, ahead: Iterable[str]) -> float:
        """Seconds until a new ticket is called: what is left of the current service plus everyone ahead.

        current: (service, seconds it has run) of the ticket being served, or None.
        """
        return self.pooled_wait([current] if current is not None else [], ahead, servers=1)

    def pooled_wait(
        self,
        current: Iterable[tuple[str, float]],
        ahead: Iterable[str],
        *,
        servers: int,
        shares: Iterable[float] | None = None,
    ) -> float:
        """The same for a line served by ``servers`` windows at once (the office's queue host).

        Each window is free once its visitor's remaining time is over; everyone ahead, in line
        order, goes to the window that frees first, and the new ticket is called when the next
        one frees. (Dividing all the work by the number of windows counted the visitors being
        served as if each window had to finish all of them: it over-estimated by about half a
        service time.) At one window this is what is left of the current service plus everyone
        ahead, as ``wait`` always said.

        shares: for each ticket ahead, the part of its work that falls on these windows (the
        share of its own line's windows that are among them): a ticket whose line also has
        windows elsewhere is partly served there.
        """
        free = []
        for service, elapsed in current:
            mean = self.expected(service)
            free.append(max(mean - elapsed, MIN_REMAINING * mean))
        free.sort()
        servers = max(1, servers)
        # Windows with nobody at them are free now; more visitors than windows: the soonest ones count.
        free = ([0.0] * max(0, servers - len(free)) + free)[:servers]
        heapq.heapify(free)
        ahead = list(ahead)
        weights = list(shares) if shares is not None else [1.0] * len(ahead)
        for service, weight in zip(ahead, weights):
            heapq.heappush(free, heapq.heappop(free) + self.expected(service) * weight)
        return free[0]


class LearnedEstimator(FixedEstimator):
    """Measured service times, the directory's typical duration as the prior.

    Two exponentially weighted means: one factor for the whole window (measured /
    typical, over every service: a slow afternoon slows every service, and each
    visitor tells about it), and one mean per service. A service's expected time
    moves from prior x factor towards its own mean as its observations add up.
    """

    def __init__(
        self, priors: dict[str, float], alpha: float = ALPHA, service_alpha: float = SERVICE_ALPHA, trust: float = TRUST
    ):
        super().__init__(priors)
        self.alpha, self.service_alpha, self.trust = alpha, service_alpha, trust
        self.ratios: dict[str, float] = {}  # per service: EWMA of measured / (prior x factor)
        self.counts: dict[str, int] = {}
        self.factor = 1.0
        self.seen = 0

    def expected(self, service: str) -> float:
        base = super().expected(service) * self.factor
        n = self.counts.get(service, 0)
        if not n:
            return base
        w = n / (n + self.trust)
        return base * (1 - w + w * self.ratios[service])

    def observe(self, service: str, seconds: float) -> None:
        if seconds <= 0:
            return
        seconds = min(seconds, OUTLIER * self.expected(service))
        prior = super().expected(service)
        ratio = seconds / prior
        # Work in logs: service times are log-normal, and one long case should not count double.
        self.factor = math.exp(
            math.log(ratio)
            if self.seen == 0
            else math.log(self.factor) + self.alpha * (math.log(ratio) - math.log(self.factor))
        )
        rel = seconds / (prior * self.factor)
        old = self.ratios.get(service)
        self.ratios[service] = rel if old is None else old + self.service_alpha * (rel - old)
        self.counts[service] = self.counts.get(service, 0) + 1
        self.seen += 1


@dataclass(frozen=True)
class Accuracy:
    n: int  # tickets with an estimate that were called
    mae_seconds: float
    in_band: float  # share of actual waits inside the band shown

    def as_json(self) -> dict:
        return {"n": self.n, "mae_minutes": round(self.mae_seconds / 60, 2), "in_band": round(self.in_band, 3)}


def accuracy(pairs: Iterable[tuple[float, str, float]]) -> Accuracy:
    """From (estimate seconds, band shown, actual wait seconds) triples."""
    errors, inside = [], 0
    for estimate, key, actual in pairs:
        errors.append(abs(estimate - actual))
        inside += in_band(actual, key)
    if not errors:
        return Accuracy(0, 0.0, 0.0)
    return Accuracy(len(errors), sum(errors) / len(errors), inside / len(errors))


def accuracy_of_events(events) -> Accuracy:
    """Accuracy of the estimates stored with tickets (kiosk.store Events), against their first call."""
    issued, first_call = {}, {}
    for e in events:
        if e.type == "ticket_issued" and e.detail.get("estimate_seconds") is not None:
            issued[e.id] = e
        elif e.type == "ticket_called" and e.ref in issued and e.ref not in first_call:
            first_call[e.ref] = e
    pairs = []
    for ref, call in first_call.items():
        wait = call.detail.get("wait_seconds")
        if wait is not None:
            d = issued[ref].detail
            pairs.append((d["estimate_seconds"], d["estimate_band"], wait))
    return accuracy(pairs)
