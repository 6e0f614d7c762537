#!/usr/bin/env python3
"""20 windows and 2,000 tickets a day at one queue host: the calls per second it sustains, its RSS, its p99.

    python bench/bench_office_load.py [--windows 20] [--tickets 2000]

A real `kiosk host` on loopback with an accelerated clock (100 times real time: the 3-second
double-press guard then lasts 30 ms, so the windows are paced by the host, not by the guard). The entrance first issues the day's tickets (the day's whole line: the host's
heaviest state), then every window's device presses next at random moments (0-20 ms apart)
through the window kiosk's HostClient until every ticket has been called. Prints tickets and
calls per second, the latency of a press (p50, p99), and the host's resident memory idle, at
the end and at its peak (VmRSS, VmHWM).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import threading
import time
import uuid
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kiosk.config import validate
from kiosk.office.client import HostClient
from kiosk.office.simulation import HostRun, add_devices, clock_args, host_config, office_directory
from server_sync.wire.tz import OFFICE_TZ

ALL_DAY = "mon-sun 00:00-24:00"
# Simulated seconds per real second: the 3-second double-press guard lasts 30 ms, and the day
# (from 08:00) does not end during the run.
SPEED = 100.0


def morning() -> datetime:
    return datetime.now(OFFICE_TZ).replace(hour=8, minute=0, second=0, microsecond=0)


TIMEOUT = (2.0, 30.0)  # a loaded machine: measure slow answers instead of giving up on them


def memory(pid: int) -> dict[str, float]:
    """VmRSS and VmHWM of a process, in MiB."""
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(value.split()[0]) / 1024
    return out


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--windows", type=int, default=20)
    parser.add_argument("--tickets", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-office-load-") as tmp:
        data = Path(tmp)
        # Each line at four neighbouring windows of 20: windows compete for the same tickets.
        directory = office_directory(data / "services.csv", args.windows, spread=4, hours=ALL_DAY)
        toml = host_config(data / "host.toml", validate({"kiosk": {"id": "bench-host"}}), directory)
        tokens = add_devices(data, "bench-host", args.windows)
        host = HostRun(toml, data, clock_args(morning(), SPEED, time.time())).start()
        services = ["polling_place", "certificates", "election_bulletin", "electoral_roll", "campaign_receipts"]
        latencies: list[float] = []
        called = [0]
        empty = [0]
        lock = threading.Lock()
        try:
            rss_idle = memory(host.pid)["VmRSS"]

            client = HostClient(host.url, tokens["entrance"], timeout=TIMEOUT)
            rng = random.Random(1)
            issuing = time.perf_counter()
            for i in range(args.tickets):
                client.issue(rng.choice(services), priority=rng.random() < 0.1, press=f"bench-{i:05d}")
            issue_rate = args.tickets / (time.perf_counter() - issuing)

            def window(w: str) -> None:
                client = HostClient(host.url, tokens[w], timeout=TIMEOUT)
                rng = random.Random(w)
                while True:
                    with lock:
                        if called[0] >= args.tickets:
                            return
                    time.sleep(rng.uniform(0, 0.02))
                    start = time.perf_counter()
                    answer = client.press(w, "next", press=uuid.uuid4().hex)
                    spent = time.perf_counter() - start
                    with lock:
                        latencies.append(spent)
                        if answer["called"] is not None and not answer["ignored"]:
                            called[0] += 1
                        else:
                            empty[0] += 1  # its own lines are empty: it keeps pressing until all are

            threads = [threading.Thread(target=window, args=(str(w),)) for w in range(1, args.windows + 1)]
            began = time.perf_counter()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            elapsed = time.perf_counter() - began
            mem = memory(host.pid)
        finally:
            host.stop()
    print(f"{args.tickets} tickets issued at {issue_rate:.0f} tickets/s")
    print(f"{args.windows} windows: {called[0]} calls in {elapsed:.1f} s = {called[0] / elapsed:.0f} calls/s sustained")
    print(
        f"press latency p50 {1000 * statistics.median(latencies):.1f} ms, p99 {1000 * percentile(latencies, 0.99):.1f} ms"
        f" over {len(latencies)} presses ({empty[0]} found nobody waiting)"
    )
    print(f"host RSS {mem['VmRSS']:.0f} MiB at the end (peak {mem['VmHWM']:.0f} MiB; {rss_idle:.0f} MiB idle)")


if __name__ == "__main__":
    main()
