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
