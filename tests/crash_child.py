"""Child process for test_crash_safety: a kiosk pressing its buttons until it is killed.

Usage: python crash_child.py DATA_DIR SEED

Builds the real Kiosk on gpiozero MockFactory pins with a real data folder,
checks the durability pragmas, prints "ready", then presses buttons in a tight
burst. Each time the kiosk acknowledges an event (the listener fires, i.e. it
is committed), its id is written to stdout as one "ack <id>" line with a
single write() on the unbuffered descriptor: that line is the acknowledgement
the parent relies on. Reasons are acknowledged the same way once stored
(tests/random_presses.py, shared with the power-cut child).
"""

from __future__ import annotations

import sys

from random_presses import RandomPresses, say

from kiosk.config import validate
from kiosk.runtime import Kiosk


def main() -> None:
    data_dir, seed = sys.argv[1], int(sys.argv[2])
    config = validate({"kiosk": {"id": "crash-w1"}})
    presses = RandomPresses(config, seed)
    kiosk = Kiosk(config, data_dir, pin_factory=presses.factory, clock=presses.clock, listener=presses.listener)
    conn = kiosk.store.conn
    journal = conn.execute("PRAGMA journal_mode").fetchone()[0]
    sync = conn.execute("PRAGMA synchronous").fetchone()[0]
    if journal != "wal" or sync != 2:
        say(f"bad pragmas journal_mode={journal} synchronous={sync}")
        sys.exit(3)
    say(f"ready {kiosk.store.count()}")
    presses.until_killed(kiosk)


if __name__ == "__main__":
    main()
