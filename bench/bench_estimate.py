#!/usr/bin/env python3
"""Wait-estimate accuracy on simulated office days: learned (ours) vs fixed average (ZMS).

    python bench/bench_estimate.py [--days 20] [--seeds 1 2 3]

Each run is `kiosk simulate --queue-days` (kiosk/queue_sim.py): Poisson arrivals
following the day, log-normal service times whose true means differ from the
directory's typical durations and drift slower through the day, priority
tickets, no-shows and ratings, all through the real queue, store and mock GPIO
pins. At every ticket both estimators are asked about the same queue at the
same moment; each is judged against the wait that really followed (issue to
first call). Prints MAE (minutes), the share of actual waits inside the band
shown, and on how many days the learned estimate had the lower MAE.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kiosk import estimate
from kiosk.config import validate
from kiosk.queue_sim import simulate_queue_days


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--days", type=int, default=20)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    args = parser.parse_args()
    config = validate({"kiosk": {"id": "bench-w1", "window": "1"}})
    rows, all_l, all_f, won, total = [], [], [], 0, 0
    for seed in args.seeds:
        folder = Path(tempfile.mkdtemp(prefix="bench-estimate-"))
        try:
            result = simulate_queue_days(config, folder, args.days, seed=seed, end=date(2026, 3, 27))
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        learned, fixed = result.learned(), result.fixed()
        days_won = sum(
            estimate.accuracy(d.learned).mae_seconds < estimate.accuracy(d.fixed).mae_seconds for d in result.days
        )
        won, total = won + days_won, total + len(result.days)
        all_l += [p for d in result.days for p in d.learned]
        all_f += [p for d in result.days for p in d.fixed]
        rows.append((seed, learned, fixed, days_won, len(result.days)))
    print(
        f"{'seed':>4} {'tickets':>7} {'learned MAE':>12} {'in band':>8} {'fixed MAE':>10} {'in band':>8} {'days won':>9}"
    )
    for seed, lrn, f, w, n in rows:
        print(
            f"{seed:>4} {lrn.n:>7} {lrn.mae_seconds / 60:>10.1f} m {lrn.in_band:>8.0%} {f.mae_seconds / 60:>8.1f} m"
            f" {f.in_band:>8.0%} {w:>4}/{n}"
        )
    lrn, f = estimate.accuracy(all_l), estimate.accuracy(all_f)
    print(
        f" all {lrn.n:>7} {lrn.mae_seconds / 60:>10.1f} m {lrn.in_band:>8.0%} {f.mae_seconds / 60:>8.1f} m"
        f" {f.in_band:>8.0%} {won:>4}/{total}"
    )
    print(f"learned MAE is {100 * (1 - lrn.mae_seconds / f.mae_seconds):.0f}% lower than the fixed average's")


if __name__ == "__main__":
    main()
