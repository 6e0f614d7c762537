#!/usr/bin/env python3
"""Ticket issue → durably stored, and tap → ticket on screen: p50 / p99.

    python bench/bench_ticket.py [--tickets 1000] [--screen 20] [--dir DIR]

Durable: ``Queue.issue`` through the real ``Store`` (WAL, synchronous=FULL) in a
folder on the repository's disk (bench/output/, not /tmp, which may be RAM),
from the call to its return: the number exists on disk before anything shows it.
The queue grows all the while, as it would over a busy day.

On screen: the real app under a private Xvfb (tests/xvfb.py); for each ticket
the 取號 button is tapped with xdotool and the app logs ``ticket-on-screen
NUMBER MS``, measured inside the app from the tap's handler (before the store
is written) to the frame that shows the ticket (Window on_flip). The tap's own
trip through X is not included. Skipped when Xvfb/xdotool are missing.
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "tests" / "queue"))


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def durable(folder: Path, n: int) -> list[float]:
    from queuehelp import Counter, all_day_directory, queue_config

    directory = all_day_directory(folder / "services.csv")
    counter = Counter(folder / "data", queue_config(directory))
    codes = [s.code for s in counter.kiosk.directory.get().services if s.served_at("1")]
    times = []
    try:
        for i in range(n):
            t0 = time.perf_counter()
            counter.queue.issue(codes[i % len(codes)], priority=i % 10 == 0)
            times.append((time.perf_counter() - t0) * 1000)
            counter.clock.advance(30)
    finally:
        counter.close()
    return times


def on_screen(folder: Path, n: int) -> list[float] | None:
    from queuehelp import all_day_directory
    from xvfb import KioskApp, Xvfb, missing_tools

    if missing_tools():
        print(f"on-screen part skipped: missing {', '.join(missing_tools())}")
        return None
    directory = all_day_directory(folder / "services-gui.csv")
    config = folder / "cfg.toml"
    config.write_text(f'[kiosk]\nwindow = "1"\n[queue]\ndirectory = "{directory}"\n', encoding="utf-8")
    with Xvfb(800, 480) as xvfb, KioskApp(xvfb, folder / "gui-data", config, folder / "app.log") as app:
        app.expect_shown("home", timeout=30)
        for _ in range(n):
            app.click("guidance")
            app.expect_shown("guidance")
            app.click("service:polling_place")
            app.expect_shown("guidance")
            app.click("take")
            app.expect_shown("ticket")
            app.click("back")
            app.expect_shown("home")
        app.stop()
        return [float(ms) for ms in re.findall(r"ticket-on-screen \S+ ([\d.]+)", app.log_text())]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tickets", type=int, default=1000)
    parser.add_argument("--screen", type=int, default=20, help="tickets taken through the GUI")
    parser.add_argument("--dir", type=Path, default=None)
    args = parser.parse_args()
    base = args.dir or REPO / "bench" / "output"
    base.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="bench-ticket-", dir=base))
    try:
        d = durable(folder, args.tickets)
        print(
            f"issue → durably stored ({len(d)} tickets, {folder.parent}): "
            f"p50 {statistics.median(d):.2f} ms, p99 {pct(d, 99):.2f} ms, max {max(d):.2f} ms"
        )
        s = on_screen(folder, args.screen)
        if s:
            print(
                f"tap → ticket on screen, stored first ({len(s)} tickets, 800x480 under Xvfb): "
                f"p50 {statistics.median(s):.1f} ms, p99 {pct(s, 99):.1f} ms, max {max(s):.1f} ms"
            )
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
