"""Child process for test_crash_safety: a kiosk pressing its buttons until it is killed.

Usage: python crash_child.py DATA_DIR SEED

Builds the real Kiosk on gpiozero MockFactory pins with a real data folder,
checks the durability pragmas, prints "ready", then presses buttons in a tight
burst. Each time the kiosk acknowledges an event (the listener fires, i.e. it
is committed), its id is written to stdout as one "ack <id>" line with a
single write() on the unbuffered descriptor: that line is the acknowledgement
the parent relies on. Reasons are acknowledged the same way once stored.
"""

from __future__ import annotations

import os
import random
import sys

from gpiozero.pins.mock import MockFactory

from kiosk.buttons import PressFailed
from kiosk.clock import SimulatedClock
from kiosk.config import validate
from kiosk.runtime import Kiosk


def say(line: str) -> None:
    os.write(1, (line + "\n").encode())


def main() -> None:
    data_dir, seed = sys.argv[1], int(sys.argv[2])
    rng = random.Random(seed)
    config = validate({"kiosk": {"id": "crash-w1"}})
    clock = SimulatedClock()
    factory = MockFactory()
    pending_reasons = []

    def listener(outcome):
        if isinstance(outcome, PressFailed):
            say(f"failed {outcome.error}")
            return
        say(f"ack {outcome.event.id}")
        if outcome.counted and outcome.level >= config.ask_from_level:
            pending_reasons.append(outcome.event)

    kiosk = Kiosk(config, data_dir, pin_factory=factory, clock=clock, listener=listener)
    conn = kiosk.store.conn
    journal = conn.execute("PRAGMA journal_mode").fetchone()[0]
    sync = conn.execute("PRAGMA synchronous").fetchone()[0]
    if journal != "wal" or sync != 2:
        say(f"bad pragmas journal_mode={journal} synchronous={sync}")
        sys.exit(3)
    say(f"ready {kiosk.store.count()}")
    pins = [factory.pin(level.pin) for level in config.levels]
    for _ in range(100_000):  # the parent kills us long before this ends
        pin = rng.choice(pins)
        pin.drive_low()
        pin.drive_high()
        clock.advance(rng.choice([0.5, 6.0]))  # some presses inside the repeat window
        while pending_reasons:
            event = pending_reasons.pop()
            say(f"ack {kiosk.recorder.reason(event, 'wait').id}")
    say("done")


if __name__ == "__main__":
    main()
