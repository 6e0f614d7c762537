"""The screen on in office hours and dark outside them.

A kiosk stands at the counter for years: an always-lit panel wears out and
lights an empty office at night. Outside the configured hours the backlight is
switched off through sysfs (the official 7" display's ``rpi_backlight`` and most
DSI panels have ``bl_power``); a touch or a button press wakes it for the idle
timeout, so staff working late can still use it. Ratings are recorded either way.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, time
from pathlib import Path

log = logging.getLogger(__name__)

BACKLIGHT_DIR = Path("/sys/class/backlight")
BL_ON, BL_OFF = "0", "4"  # FB_BLANK_UNBLANK, FB_BLANK_POWERDOWN


def parse_hours(text: str) -> tuple[time, time] | None:
    """ "07:30-18:00" → (07:30, 18:00); "" → None (always on). Raises ValueError naming the problem."""
    text = text.strip()
    if not text:
        return None
    try:
        start_s, end_s = (part.strip() for part in text.split("-"))
        start, end = time.fromisoformat(start_s), time.fromisoformat(end_s)
    except ValueError:
        raise ValueError(f'expected hours like "07:30-18:00", got {text!r}') from None
    if start >= end:
        raise ValueError(f"the start {start_s} must be before the end {end_s}")
    return start, end


@dataclass
class ScreenPower:
    """Decides whether the screen should be lit, and switches the backlight.

    hours: (start, end) local time of day the screen stays on; None = always on.
    days: ISO weekdays (1 = Monday) the hours apply to; other days stay dark.
    wake_seconds: how long a touch or press keeps a dark screen lit.
    backlight_dir: where the kernel lists backlight devices.
    """

    hours: tuple[time, time] | None = None
    days: tuple[int, ...] = (1, 2, 3, 4, 5)
    wake_seconds: float = 60.0
    backlight_dir: Path = BACKLIGHT_DIR
    _woken_until: float = field(default=-1.0, repr=False)
    _lit: bool | None = field(default=None, repr=False)

    def in_hours(self, local: datetime) -> bool:
        if self.hours is None:
            return True
        start, end = self.hours
        return local.isoweekday() in self.days and start <= local.time() < end

    def wake(self, monotonic: float) -> None:
        """A touch or a press: light the screen for ``wake_seconds``."""
        self._woken_until = monotonic + self.wake_seconds

    def should_be_lit(self, local: datetime, monotonic: float) -> bool:
        return self.in_hours(local) or monotonic < self._woken_until

    def apply(self, local: datetime, monotonic: float) -> bool:
        """Switch the backlight if it should change; return whether the screen is lit."""
        lit = self.should_be_lit(local, monotonic)
        if lit != self._lit:
            self._lit = lit
            self._write(BL_ON if lit else BL_OFF)
            log.info("screen %s", "on" if lit else "off (outside office hours)")
        return lit

    def _write(self, value: str) -> None:
        devices = sorted(self.backlight_dir.glob("*/bl_power")) if self.backlight_dir.is_dir() else []
        for device in devices:
            try:
                device.write_text(value)
            except OSError as exc:
                # Needs the udev rule systemd/install.sh installs (group video may write).
                log.warning("cannot switch backlight %s: %s", device, exc)
