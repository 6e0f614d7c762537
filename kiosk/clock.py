"""Time as the kiosk records it.

A Raspberry Pi has no real-time clock: until NTP answers, the wall clock may
read 1970 or jump. Every event therefore also carries the boot id and the
monotonic time, from which the collector can later place it on the right day.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

_BOOT_ID_FILE = Path("/proc/sys/kernel/random/boot_id")


def read_boot_id() -> str:
    """The kernel's id for this boot; a random one where the kernel has none."""
    try:
        return _BOOT_ID_FILE.read_text().strip()
    except OSError:
        return f"noboot-{uuid.uuid4()}"


class SystemClock:
    """Wall-clock and monotonic time from the operating system."""

    def __init__(self):
        self.boot_id = read_boot_id()

    def monotonic(self) -> float:
        return time.monotonic()

    def now(self) -> datetime:
        return datetime.now(UTC)


class SimulatedClock:
    """A clock that only moves when told to, for simulations and tests."""

    def __init__(self, start: datetime | None = None, *, boot_id: str | None = None):
        self._wall = start or datetime.now(UTC)
        self._mono = 1000.0
        self.boot_id = boot_id or f"sim-{uuid.uuid4()}"

    def advance(self, seconds: float) -> None:
        self._mono += seconds
        self._wall += timedelta(seconds=seconds)

    def set_wall(self, when: datetime) -> None:
        """Jump the wall clock only, as NTP does when it first answers."""
        self._wall = when

    def monotonic(self) -> float:
        return self._mono

    def now(self) -> datetime:
        return self._wall


class AcceleratedClock:
    """A clock that runs ``speed`` times faster than real time from ``start``: an office day in seconds.

    Several processes (the simulated office's host and its windows) agree on the time when each is
    given the same ``start``, ``speed`` and ``epoch``: the real (unix) time at which the clock reads
    ``start``. Before ``epoch`` it stands at ``start``, so processes that are still starting lose
    no simulated time. Within a process it follows the real monotonic clock, so it never goes back.
    """

    def __init__(
        self,
        start: datetime,
        speed: float,
        *,
        epoch: float | None = None,
        boot_id: str | None = None,
        real_time=time.time,
        real_monotonic=time.monotonic,
    ):
        if speed <= 0:
            raise ValueError(f"speed must be positive, got {speed}")
        self.start, self.speed = start, float(speed)
        self._real_monotonic = real_monotonic
        self._mono0 = real_monotonic()
        # Real seconds from epoch to this clock's construction (negative: epoch is still ahead).
        self._offset = 0.0 if epoch is None else real_time() - epoch
        self.boot_id = boot_id or f"sim-{uuid.uuid4()}"

    def _real(self) -> float:
        """Real seconds since ``epoch`` (negative before it)."""
        return self._offset + (self._real_monotonic() - self._mono0)

    def elapsed(self) -> float:
        """Simulated seconds since ``start``."""
        return max(0.0, self._real()) * self.speed

    def monotonic(self) -> float:
        return 1000.0 + self.elapsed()

    def now(self) -> datetime:
        return self.start + timedelta(seconds=self.elapsed())

    def real_seconds_until(self, when: datetime) -> float:
        """How long to sleep (real seconds) for this clock to reach ``when``; 0 if it has."""
        return max(0.0, (when - self.start).total_seconds() / self.speed - self._real())
