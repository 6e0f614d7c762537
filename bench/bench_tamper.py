#!/usr/bin/env python3
"""The tamper detectors' false-alarm rate and detection delay, over many seeded simulated offices.

    python bench/bench_tamper.py [--offices 200] [--days 60] [--windows 5] [--per-hour 4]

Each office (tests/collector/tamper_sim.py): ``--windows`` windows, Monday-Friday 08:00-17:00,
Poisson(``--per-hour``) ratings an office hour per window, each window's level probabilities
drawn around the office's (Dirichlet, concentration 300, and 100 for offices whose windows
differ more). The detectors run as the collector runs them, at every office day's close, with
the default rules' alpha. Printed:

* false alarms: the share of normal offices (``--days`` office days) with any finding, and
  findings per window-year (250 office days);
* detection: for a window whose levels 4-5 (and, apart, 1-2) cannot be pressed from day 20
  on, the office days until the first finding (median, 90th percentile, worst), and how many
  were found within 7 office days.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "collector"))

from tamper_sim import simulate

from server_sync.collector.tamper import rules
from server_sync.collector.tamper.detect import distribution_shift, quiet_buttons

START = 1_900_000_000.0
QUIET = rules.DEFAULTS[rules.QUIET]["alpha"]
SHIFT = rules.DEFAULTS[rules.SHIFT]["alpha"]


def findings(office, day: int) -> dict[str, list]:
    return {
        "quiet": quiet_buttons(office.windows, office.closing(day), alpha=QUIET),
        "shift": distribution_shift(office.windows, office.days[day].date(), alpha=SHIFT),
    }


def false_alarms(args, concentration: float) -> None:
    offices = {"quiet": 0, "shift": 0}
    count = {"quiet": 0, "shift": 0}
    for seed in range(args.offices):
        office = simulate(
            seed, args.days, START, windows=args.windows, per_hour=args.per_hour, concentration=concentration
        )
        seen: dict[str, set] = {"quiet": set(), "shift": set()}
        for d in range(args.days):
            for kind, found in findings(office, d).items():
                seen[kind].update(f.cause for f in found)
        for kind in seen:
            offices[kind] += bool(seen[kind])
            count[kind] += len(seen[kind])
    window_years = args.offices * args.windows * args.days / 250
    for kind in ("quiet", "shift"):
        print(
            f"  {kind:<6} offices with a false alarm: {offices[kind]}/{args.offices} "
            f"({offices[kind] / args.offices:.1%}); alarms per window-year: {count[kind] / window_years:.4f}"
        )


def detection(args, removed: tuple[int, ...], sims: int) -> None:
    delays: dict[str, list[int]] = {"quiet": [], "shift": []}
    days = 20 + 30
    for seed in range(sims):
        office = simulate(seed, days, START, windows=args.windows, per_hour=args.per_hour, tampered=(1, 20, removed))
        first: dict[str, int] = {}
        for d in range(20, days):
            for kind, found in findings(office, d).items():
                if kind not in first and any(f.window == "2" for f in found):
                    first[kind] = d - 20 + 1  # office days of evidence, the first day counted
        for kind in delays:
            delays[kind].append(first.get(kind, 10**6))
    for kind, ds in delays.items():
        ds.sort()
        shown = [("never" if x >= 10**6 else str(x)) for x in (ds[len(ds) // 2], ds[int(len(ds) * 0.9)], ds[-1])]
        within = sum(x <= 7 for x in ds)
        print(
            f"  {kind:<6} days to detect: median {shown[0]}, p90 {shown[1]}, worst {shown[2]}; within 7 days {within}/{len(ds)}"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--offices", type=int, default=200)
    ap.add_argument("--days", type=int, default=60)
    ap.add_argument("--windows", type=int, default=5)
    ap.add_argument("--per-hour", type=float, default=4.0)
    args = ap.parse_args()
    t0 = time.perf_counter()
    print(
        f"alpha: quiet {QUIET:g}, shift {SHIFT:g}; {args.windows} windows, {args.per_hour:g} ratings/office hour each"
    )
    for concentration in (300.0, 100.0):
        print(f"normal offices, {args.days} office days, window spread (Dirichlet concentration) {concentration:g}:")
        false_alarms(args, concentration)
    sims = max(20, args.offices // 5)
    print(f"levels 4-5 removed at one window from day 20 ({sims} offices):")
    detection(args, (4, 5), sims)
    print(f"levels 1-2 removed at one window from day 20 ({sims} offices):")
    detection(args, (1, 2), sims)
    print(f"({time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
