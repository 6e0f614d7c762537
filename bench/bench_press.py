#!/usr/bin/env python3
"""Press-to-durable-commit latency: the kiosk's real path against raw sqlite3.

    python bench/bench_press.py [--presses 2000] [--dir DIR] [--check]

Ours: a gpiozero MockFactory pin is driven low; gpiozero calls RatingButtons,
which asks RatingRecorder, which commits through Store.append (WAL,
synchronous=FULL); the clock stops when the listener hears the outcome, i.e.
when the kiosk would light the LED and show the thank-you. Every press is a
counted one (a SimulatedClock moves past the repeat window between presses),
so the LED is lit each time: the slowest real path.

Raw: sqlite3 BEGIN IMMEDIATE + INSERT + COMMIT of the same row (same columns,
a fresh UUID and timestamp each time) into the same schema, in WAL mode with
synchronous=FULL, in a file beside ours on the same filesystem.

The two are interleaved press by press, taking turns to go first, so that
both see the same disk conditions. Target: our p50 and p99 within 1.5x of raw. --check exits 1 if
not. The folder (default: a new one under bench/output/) is removed afterwards
unless --keep is given.
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

TARGET = 1.5


def percentile(values, p):
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


class Ours:
    def __init__(self, folder: Path):
        from gpiozero.pins.mock import MockFactory

        from kiosk.clock import SimulatedClock
        from kiosk.config import validate
        from kiosk.runtime import Kiosk

        self.clock = SimulatedClock()
        self.factory = MockFactory()
        self.config = validate({"kiosk": {"id": "bench-w1"}})
        self.heard_at = None
        self.outcome = None
        self.kiosk = Kiosk(self.config, folder, pin_factory=self.factory, clock=self.clock, listener=self._listen)
        self.pins = [self.factory.pin(level.pin) for level in self.config.levels]
        self.n = 0

    def _listen(self, outcome):
        self.heard_at = time.perf_counter_ns()
        self.outcome = outcome

    def press(self) -> int:
        pin = self.pins[self.n % len(self.pins)]
        self.n += 1
        self.clock.advance(6.0)  # past the repeat window: a counted press, LED lit
        start = time.perf_counter_ns()
        pin.drive_low()
        elapsed = self.heard_at - start
        pin.drive_high()
        if getattr(self.outcome, "event", None) is None or self.outcome.event.misuse:
            raise SystemExit(f"press {self.n} was not a counted, stored press: {self.outcome!r}")
        return elapsed

    def close(self):
        self.kiosk.close()


class Raw:
    def __init__(self, folder: Path):
        import sqlite_utils

        from kiosk.migrations import migrations

        folder.mkdir(parents=True, exist_ok=True)
        self.conn = sqlite3.connect(str(folder / "kiosk.db"), isolation_level=None)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=FULL")
        migrations.apply(sqlite_utils.Database(self.conn))  # the very same schema
        self.boot_id = str(uuid.uuid4())
        self.t0 = time.monotonic()
        self.n = 0

    def press(self) -> int:
        self.n += 1
        start = time.perf_counter_ns()
        row = [
            str(uuid.uuid4()),
            "rating",
            "bench-w1",
            "第一組",
            "1",
            1 + self.n % 5,
            0,
            None,
            datetime.now(UTC).isoformat(timespec="milliseconds"),
            self.boot_id,
            time.monotonic() - self.t0,
            None,
        ]
        self.conn.execute("BEGIN IMMEDIATE")
        self.conn.execute(
            "INSERT INTO events (id, type, kiosk_id, unit, window, level, misuse, ref,"
            " recorded_at, boot_id, monotonic, detail) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            row,
        )
        self.conn.execute("COMMIT")
        return time.perf_counter_ns() - start

    def close(self):
        self.conn.close()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--presses", type=int, default=2000)
    parser.add_argument("--warmup", type=int, default=100)
    parser.add_argument("--dir", type=Path, help="folder for both databases (default: under bench/output/)")
    parser.add_argument("--keep", action="store_true", help="keep the databases afterwards")
    parser.add_argument("--check", action="store_true", help=f"exit 1 unless ours is within {TARGET}x of raw")
    args = parser.parse_args(argv)

    if args.dir:
        folder = args.dir
        folder.mkdir(parents=True, exist_ok=True)
    else:
        base = Path(__file__).resolve().parent / "output"
        base.mkdir(parents=True, exist_ok=True)
        folder = Path(tempfile.mkdtemp(prefix="press-", dir=base))
    ours, raw = Ours(folder / "ours"), Raw(folder / "raw")
    try:
        for _ in range(args.warmup):
            ours.press()
            raw.press()
        ours_ns, raw_ns = [], []
        for i in range(args.presses):
            # Alternate which goes first: an fsync right after another one is not the same.
            if i % 2:
                ours_ns.append(ours.press())
                raw_ns.append(raw.press())
            else:
                raw_ns.append(raw.press())
                ours_ns.append(ours.press())
    finally:
        ours.close()
        raw.close()
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)

    def row(name, values):
        ms = [v / 1e6 for v in values]
        return (name, percentile(ms, 50), percentile(ms, 99), statistics.fmean(ms), max(ms))

    rows = [
        row("kiosk press (pin -> stored -> acknowledged)", ours_ns),
        row("raw sqlite3 INSERT+COMMIT (WAL, sync=FULL)", raw_ns),
    ]
    print(
        f"{args.presses} presses each, interleaved, in {folder} (Python {sys.version.split()[0]}, "
        f"SQLite {sqlite3.sqlite_version})"
    )
    print(f"{'':46} {'p50 ms':>8} {'p99 ms':>8} {'mean ms':>8} {'max ms':>8}")
    for name, p50, p99, mean, mx in rows:
        print(f"{name:46} {p50:8.3f} {p99:8.3f} {mean:8.3f} {mx:8.3f}")
    r50 = rows[0][1] / rows[1][1]
    r99 = rows[0][2] / rows[1][2]
    ok = r50 <= TARGET and r99 <= TARGET
    print(f"ratio ours/raw: p50 {r50:.2f}x, p99 {r99:.2f}x (target <= {TARGET}x): {'OK' if ok else 'OVER TARGET'}")
    return 0 if ok or not args.check else 1


if __name__ == "__main__":
    sys.exit(main())
