"""A kiosk's rating buttons pressed at random in a child process that its test kills mid-burst.

Used by tests/crash_child.py and tests/powercut/powercut_child.py. Each event the kiosk
acknowledges (its listener fires, i.e. the event is committed) is said to the parent as one
"ack <id>" line, in a single write() on the unbuffered descriptor: that line is the
acknowledgement the parent checks survived. Reasons are acknowledged the same way once stored.
"""

from __future__ import annotations

import os
import random

from gpiozero.pins.mock import MockFactory

from kiosk.buttons import PressFailed
from kiosk.clock import SimulatedClock
from kiosk.config import Config
from kiosk.runtime import Kiosk


def say(*lines: str) -> None:
    """``lines`` to the parent, each ended by a newline, in one write()."""
    os.write(1, "".join(line + "\n" for line in lines).encode())


class RandomPresses:
    """Mock pins, a simulated clock and the listener to build the Kiosk with, then ``until_killed``."""

    def __init__(self, config: Config, seed: int):
        self.config = config
        self.rng = random.Random(seed)
        self.clock = SimulatedClock()
        self.factory = MockFactory()
        self._pending_reasons: list = []

    def listener(self, outcome) -> None:
        if isinstance(outcome, PressFailed):
            say(f"failed {outcome.error}")
            return
        say(f"ack {outcome.event.id}")
        if outcome.counted and outcome.level >= self.config.ask_from_level:
            self._pending_reasons.append(outcome.event)

    def until_killed(self, kiosk: Kiosk) -> None:
        """Press buttons at random, storing a reason for each press that asks for one."""
        pins = [self.factory.pin(level.pin) for level in self.config.levels]
        for _ in range(100_000):  # the parent kills us long before this ends
            pin = self.rng.choice(pins)
            pin.drive_low()
            pin.drive_high()
            self.clock.advance(self.rng.choice([0.5, 6.0]))  # some presses inside the repeat window
            while self._pending_reasons:
                event = self._pending_reasons.pop()
                say(f"ack {kiosk.recorder.reason(event, 'wait').id}")
        say("done")
