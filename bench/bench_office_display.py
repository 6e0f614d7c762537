#!/usr/bin/env python3
"""Press next at a window → the call stored at the office's queue host → shown on the wall display.

    python bench/bench_office_display.py [--calls 200] [--windows 4]

A real `kiosk host` on loopback (kiosk/office/simulation.py's HostRun, an accelerated clock so
that the 3-second double-press guard does not pace the windows), the wall display /display in
Debian's Chromium through Playwright, and window devices pressing next in turn through the
window kiosk's HostClient. For each press: the time until the host answered (the call is
committed, synchronous=FULL, before it answers) and until the display's
document.body.dataset.lastCall named that number at that window (server-sent events). Prints
p50 and p99 of both, in milliseconds.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from playwright.sync_api import sync_playwright

from kiosk.config import validate
from kiosk.office.client import HostClient
from kiosk.office.simulation import HostRun, add_devices, clock_args, host_config, office_directory
from server_sync.wire.tz import OFFICE_TZ

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
ALL_DAY = "mon-sun 00:00-24:00"
# Simulated seconds per real second: the 3-second double-press guard lasts 30 ms, and the day
# (from 08:00) does not end during the run.
SPEED = 100.0


def morning() -> datetime:
    return datetime.now(OFFICE_TZ).replace(hour=8, minute=0, second=0, microsecond=0)


# When each call reached the page: the wall-clock time (ms) the body's data-last-call changed,
# taken by a MutationObserver so no polling interval adds to it.
OBSERVE = """() => {
  window.shownAt = {};
  new MutationObserver(() => {
    window.shownAt[document.body.dataset.lastCall] = performance.timeOrigin + performance.now();
  }).observe(document.body, {attributes: true, attributeFilter: ["data-last-call"]});
}"""


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--windows", type=int, default=4)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-office-display-") as tmp:
        data = Path(tmp)
        # Every line at every window, open around the clock.
        directory = office_directory(data / "services.csv", args.windows, spread=args.windows, hours=ALL_DAY)
        toml = host_config(data / "host.toml", validate({"kiosk": {"id": "bench-host"}}), directory)
        tokens = add_devices(data, "bench-host", args.windows)
        host = HostRun(toml, data, clock_args(morning(), SPEED, time.time())).start()
        try:
            entrance = HostClient(host.url, tokens["entrance"])
            for i in range(args.calls):
                entrance.issue("polling_place", priority=False, press=f"bench-{i:05d}")
            windows = {str(w): HostClient(host.url, tokens[str(w)]) for w in range(1, args.windows + 1)}
            acked, shown = [], []
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
                page = browser.new_page(viewport={"width": 1920, "height": 1080})
                page.goto(host.url + "/display")
                page.wait_for_function("document.body.dataset.connection === 'live'", timeout=15000)
                page.evaluate(OBSERVE)
                for i in range(args.calls):
                    w = str(i % args.windows + 1)
                    start = time.time()
                    answer = windows[w].press(w, "next", press=uuid.uuid4().hex)
                    acked.append(time.time() - start)
                    expect = f"{answer['called']['number']}@{w}"
                    page.wait_for_function("x => x in window.shownAt", arg=expect, polling=5, timeout=10000)
                    shown.append(page.evaluate("x => window.shownAt[x]", expect) / 1000 - start)
                browser.close()
        finally:
            host.stop()
    for name, values in (("press → stored at the host", acked), ("press → shown on the display", shown)):
        print(
            f"{name:<30} p50 {1000 * statistics.median(values):6.1f} ms   p99 {1000 * percentile(values, 0.99):6.1f} ms"
            f"   (n={len(values)})"
        )


if __name__ == "__main__":
    main()
