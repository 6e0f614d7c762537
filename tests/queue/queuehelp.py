"""Helpers for the queue tests: a directory open all day, kiosks on mock pins and simulated clocks."""

from __future__ import annotations

import csv
import io
import sys
from datetime import datetime
from pathlib import Path

from gpiozero.pins.mock import MockFactory

from kiosk.buttons import press_mock_pin
from kiosk.clock import SimulatedClock
from kiosk.config import validate
from kiosk.directory import bundled_path
from kiosk.runtime import Kiosk
from server_sync.wire.tz import OFFICE_TZ

TESTS = Path(__file__).resolve().parents[1]
for _helpers in (TESTS, TESTS / "sync"):  # xvfb.py, and synchelp.py's real collector
    if str(_helpers) not in sys.path:
        sys.path.append(str(_helpers))

# A Monday morning in office hours.
MONDAY_9AM = datetime(2026, 3, 2, 9, 0, tzinfo=OFFICE_TZ)


def all_day_directory(path: Path, **changes) -> Path:
    """The bundled directory with every service open around the clock (for tests at any hour).

    changes: service code → {column: value} to alter; a value of None drops the service.
    """
    rows = list(csv.DictReader(bundled_path().open(encoding="utf-8")))
    out = []
    for row in rows:
        row["hours"] = "mon-sun 00:00-24:00"
        change = changes.get(row["code"], {})
        if change is None:
            continue
        row.update(change)
        out.append(row)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(out)
    path.write_text(buf.getvalue(), encoding="utf-8")
    return path


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
