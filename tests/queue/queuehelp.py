"""Helpers for the queue tests: a directory open all day, kiosks on mock pins and simulated clocks."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path

from gpiozero.pins.mock import MockFactory

from kiosk.buttons import press_mock_pin
from kiosk.clock import SimulatedClock
from kiosk.config import validate
from kiosk.runtime import Kiosk
from server_sync.wire.tz import OFFICE_TZ

TESTS = Path(__file__).resolve().parents[1]
for _helpers in (TESTS, TESTS / "sync"):  # xvfb.py, servicefile.py, and synchelp.py's real collector
    if str(_helpers) not in sys.path:
        sys.path.append(str(_helpers))

# Re-exported: the queue tests (and bench/) take the all-day directory from here.
from servicefile import all_day_directory as all_day_directory  # noqa: E402

# A Monday morning in office hours.
MONDAY_9AM = datetime(2026, 3, 2, 9, 0, tzinfo=OFFICE_TZ)


def queue_config(directory: Path | None = None, **queue):
    section = {"directory": str(directory)} if directory else {}
    section.update(queue)
    return validate({"kiosk": {"id": "queue-w1", "window": "1"}, "buttons": {"repeat_window": 1.0}, "queue": section})


class Counter:
    """A kiosk at window 1 on mock pins: ``next()`` presses the staff button, ``rate(n)`` a rating button."""

    def __init__(self, data_dir: Path, config, clock: SimulatedClock | None = None):
        self.clock = clock or SimulatedClock(MONDAY_9AM)
        self.calls, self.outcomes = [], []
        self.kiosk = Kiosk(
            config,
            data_dir,
            pin_factory=MockFactory(),
            clock=self.clock,
            on_call=self.calls.append,
            listener=self.outcomes.append,
        )
        self.queue = self.kiosk.queue

    def next(self):
        self.calls.clear()
        press_mock_pin(self.kiosk.buttons.next_button)
        assert len(self.calls) == 1, "the next button should reach the queue once"
        return self.calls[0]

    def rate(self, level: int):
        self.outcomes.clear()
        press_mock_pin(self.kiosk.buttons.buttons[level])
        return self.outcomes[-1]

    def events(self, type_: str | None = None):
        return list(self.kiosk.store.events(type=type_))

    def close(self):
        self.kiosk.close()
