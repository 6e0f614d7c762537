"""Backoff between failed rounds: exponential, full jitter, capped at ten minutes, reset on success."""

import random

import pytest

from server_sync.client.errors import unreachable
from server_sync.client.push import RoundResult
from server_sync.client.worker import BACKOFF_CAP, Backoff, SyncWorker


def test_ceiling_doubles_from_base_and_stops_at_the_cap():
    b = Backoff(base=5, rng=random.Random(1))
    ceilings = []
    for _ in range(10):
        ceilings.append(b.ceiling())
        b.next_delay()
    assert ceilings == [5, 10, 20, 40, 80, 160, 320, 600, 600, 600]
    assert BACKOFF_CAP == 600


def test_full_jitter_draws_uniformly_below_the_ceiling_with_a_seeded_rng():
    b = Backoff(base=5, rng=random.Random(42))
    expected_rng = random.Random(42)
    for n in range(12):
        expected = expected_rng.uniform(0, min(600, 5 * 2**n))
        assert b.next_delay() == pytest.approx(expected)


def test_delays_spread_over_the_whole_range_and_never_pass_the_cap():
    b = Backoff(base=5, rng=random.Random(7))
    for _ in range(8):
        b.next_delay()
    delays = [b.next_delay() for _ in range(2000)]
    assert max(delays) <= 600
    assert min(delays) >= 0
    assert sum(delays) / len(delays) == pytest.approx(300, rel=0.1)  # full jitter: mean is cap/2
    assert min(delays) < 30 and max(delays) > 570


def test_reset_after_success_starts_again_from_base():
    b = Backoff(base=2, cap=100, rng=random.Random(3))
    for _ in range(20):
        b.next_delay()
    assert b.ceiling() == 100
    b.reset()
    assert b.ceiling() == 2
    assert 0 <= b.next_delay() <= 2


def test_huge_failure_counts_do_not_overflow():
    b = Backoff(base=5, rng=random.Random(0))
    b.failures = 10_000
    assert b.ceiling() == 600
    assert 0 <= b.next_delay() <= 600


def test_bad_parameters_are_refused():
    with pytest.raises(ValueError):
        Backoff(base=0)
    with pytest.raises(ValueError):
        Backoff(cap=-1)


class _NoClient:
    def close(self):
        pass


def test_worker_waits_interval_after_success_and_backs_off_after_failure():
    worker = SyncWorker(_NoClient(), interval=30, backoff=Backoff(base=5, rng=random.Random(5)))
    assert worker.next_delay(RoundResult()) == 30
    failures = [worker.next_delay(RoundResult(error=unreachable("x"), pending=3)) for _ in range(6)]
    assert all(0 <= d <= 5 * 2**i for i, d in enumerate(failures))
    assert worker.backoff.failures == 6
    assert worker.next_delay(RoundResult()) == 30
    assert worker.backoff.failures == 0
    # A failure after progress starts the backoff again from the base.
    for _ in range(5):
        worker.next_delay(RoundResult(error=unreachable("x"), pending=3))
    assert worker.next_delay(RoundResult(sent=10, error=unreachable("x"), pending=3)) <= 5
