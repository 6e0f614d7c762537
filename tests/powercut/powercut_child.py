"""Child process for test_powercut: the real kiosk starting on a data folder, then pressing buttons.

Usage: python powercut_child.py DATA_DIR SEED press|check

Builds the real Kiosk (its Store, identity and RatingButtons) on gpiozero
MockFactory pins, with no kiosk id configured, so the kiosk itself makes the
data folder and its identity. At start it reports what survived: one
"kiosk <id>" line, one "have <event id>" line per stored event, one
"integrity <result>" line, then "ready". In press mode it then presses
buttons until it is killed and writes "ack <event id>" only after the kiosk
acknowledged the press (the listener fires once the event is committed),
each line with one write() on the unbuffered descriptor (tests/random_presses.py,
shared with the crash child).

Two switches, read only here, make the broken kiosks the test must catch:
POWERCUT_SYNC_OFF=1 sets the store's connection to ``synchronous=OFF`` once it
opened; POWERCUT_PLAIN_MKDIR=1 makes the data folder with a plain
``mkdir(parents=True)``, as the kiosk did before, without fsyncing the parents.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.append(str(Path(__file__).resolve().parents[1]))  # tests/: random_presses.py

from random_presses import RandomPresses, say

import kiosk.identity
import kiosk.store
from kiosk.config import validate
from kiosk.runtime import Kiosk


def plain_mkdir(path) -> Path:
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    return path


def main() -> None:
    data_dir, seed, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    sync_off = os.environ.get("POWERCUT_SYNC_OFF") == "1"
    if os.environ.get("POWERCUT_PLAIN_MKDIR") == "1":
        kiosk.identity.make_dirs = kiosk.store.make_dirs = plain_mkdir
    config = validate({"kiosk": {"window": "1"}})
    presses = RandomPresses(config, seed)
    app = Kiosk(config, data_dir, pin_factory=presses.factory, clock=presses.clock, listener=presses.listener)
    store = app.store
    if sync_off:
        store.conn.execute("PRAGMA synchronous=OFF")
    journal = store.conn.execute("PRAGMA journal_mode").fetchone()[0]
    sync = store.conn.execute("PRAGMA synchronous").fetchone()[0]
    if journal != "wal" or sync != (0 if sync_off else 2):
        say(f"bad pragmas journal_mode={journal} synchronous={sync}")
        sys.exit(3)
    ids = [event.id for event in store.events()]
    lines = [f"kiosk {store.kiosk_id}"] + [f"have {i}" for i in ids]
    if store.recovered_from is not None:
        lines.append(f"recovered {store.recovered_from.name}")
    lines.append(f"integrity {store.conn.execute('PRAGMA integrity_check').fetchone()[0]}")
    for start in range(0, len(lines), 500):  # complete lines per write; "ready" comes last
        say(*lines[start : start + 500])
    say("ready")
    if mode == "check":
        app.close()
        return
    presses.until_killed(app)  # the parent cuts the power long before it ends


if __name__ == "__main__":
    main()
