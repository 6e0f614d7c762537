"""The simulated office: an accelerated clock shared by processes, and a day of three windows and a
real queue host on loopback (kiosk simulate --queue-days 1 --windows 3)."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from datetime import datetime, timedelta

import pytest
from click.testing import CliRunner

from kiosk.cli import main as kiosk_cli
from kiosk.clock import AcceleratedClock, SystemClock


class RealTime:
    """A stand-in for time.time and time.monotonic that moves only when told."""

    def __init__(self, wall: float):
        self.wall, self.mono = wall, 50.0

    def time(self) -> float:
        return self.wall

    def monotonic(self) -> float:
        return self.mono

    def advance(self, seconds: float) -> None:
        self.wall += seconds
        self.mono += seconds


def clock_at(real: RealTime, start: datetime, speed: float, epoch: float | None) -> AcceleratedClock:
    return AcceleratedClock(start, speed, epoch=epoch, real_time=real.time, real_monotonic=real.monotonic)


def test_the_accelerated_clock_runs_speed_times_faster_and_stands_before_its_epoch():
    start = SystemClock().now()
    real = RealTime(wall=1_000_000.0)
    clock = clock_at(real, start, 600, epoch=real.wall + 2)
    mono0 = clock.monotonic()
    assert clock.now() == start
    real.advance(1.5)  # still before the epoch: the clock waits for the others to start
    assert clock.now() == start and clock.monotonic() == mono0
    assert clock.real_seconds_until(start + timedelta(minutes=10)) == pytest.approx(0.5 + 1.0)
    real.advance(0.5 + 1.0)  # one real second past the epoch: ten simulated minutes
    assert clock.now() == start + timedelta(minutes=10)
    assert clock.monotonic() == pytest.approx(mono0 + 600)
    assert clock.real_seconds_until(start) == 0.0
    assert clock.boot_id.startswith("sim-")
    with pytest.raises(ValueError):
        AcceleratedClock(start, 0)


def test_clocks_started_at_different_moments_with_one_epoch_agree():
    start = SystemClock().now()
    real = RealTime(wall=2_000_000.0)
    epoch = real.wall + 1
    early = clock_at(real, start, 3600, epoch)
    real.advance(4.25)  # a process that took longer to start
    late = clock_at(real, start, 3600, epoch)
    assert early.now() == late.now() == start + timedelta(hours=3.25)
    real.advance(0.5)
    assert early.now() == late.now() == start + timedelta(hours=3.75)
    assert early.boot_id != late.boot_id  # separate processes, separate boots


@pytest.mark.slow
# In the clock-shifted pass too: its failures there (a transferred number never called again, numbers
# still held) were the simulated day running past midnight, where the host starts a new day, because
# libfaketime made the host's GIL spin (tests/faketime_monotonic_sleep.c covers that now); the
# simulation stops with an error if its day ever runs past midnight again.
def test_a_simulated_office_day_of_three_windows_through_a_real_host(tmp_path):
    data = tmp_path / "office"
    run = CliRunner().invoke(
        kiosk_cli,
        ["simulate", "--queue-days", "1", "--windows", "3", "--seed", "7", "--speed", "3000", "--data-dir", str(data)],
    )
    assert run.exit_code == 0, run.output
    assert "3 windows and one queue host" in run.stdout and "fixed average (ZMS) MAE" in run.stdout
    printed = CliRunner().invoke(kiosk_cli, ["events", "--data-dir", str(data)])
    assert printed.exit_code == 0, printed.output
    events = [json.loads(line) for line in printed.stdout.splitlines()]
    types = Counter(e["type"] for e in events)
    assert types["ticket_issued"] >= 50 and types["ticket_transferred"] >= 1 and types["ticket_no_show"] >= 1
    calls = [e for e in events if e["type"] == "ticket_called"]
    assert {e["window"] for e in calls} == {"1", "2", "3"}  # each call names the window that made it
    # Nothing called twice: a number is called afresh once per line it joins (its ticket, then each
    # transfer), and never while another window has it.
    lines = Counter(e["ref"] for e in events if e["type"] == "ticket_transferred")
    first_calls = Counter(e["ref"] for e in calls if not e["recall"])
    issued = {e["id"] for e in events if e["type"] == "ticket_issued"}
    assert set(first_calls) <= issued
    assert all(n == 1 + lines[ref] for ref, n in first_calls.items()), first_calls
    held: dict[str, str] = {}
    finished = defaultdict(int)
    for e in events:
        if e["type"] == "ticket_called":
            assert held.get(e["ref"], e["window"]) == e["window"], e
            held[e["ref"]] = e["window"]
        elif e["type"] in ("ticket_served", "ticket_no_show", "ticket_transferred"):
            held.pop(e["ref"], None)
            finished[e["type"]] += 1
    # The lines emptied before the day ended; a window may still be serving its last visitor when the
    # simulation stops (a service ends with staff's next press): at most one held per window.
    assert len(set(held.values())) == len(held) <= 3, held
    assert finished["ticket_no_show"] == types["ticket_no_show"]
