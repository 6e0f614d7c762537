#!/usr/bin/env python3
"""Wait-estimate accuracy in a simulated office: learned, pooled over each line's windows, vs fixed average.

    python bench/bench_office_estimate.py [--days 8] [--windows 4] [--seeds 1] [--speed 2400]

Each run is `kiosk simulate --queue-days N --windows W` (kiosk/office/simulation.py): a real queue
host and W window processes on loopback with an accelerated clock, every line served by two
windows, Poisson arrivals per service, log-normal service times whose true means differ from the
directory's and drift slower through the day, transfers and no-shows. Each ticket stores the
host's learned estimate (kiosk.estimate, service times pooled over all windows); the fixed-average
method (ZMS, Qmatic: the directory's typical time per service) is replayed over the same log at
the same moments (kiosk/office/sim_baseline.py). Both are judged against the wait that followed
(issue to first call), as bench_estimate.py does for one window. Prints MAE (minutes) and the share
of waits inside the band shown, per seed and over all.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kiosk.config import validate
from kiosk.office.simulation import simulate_office


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--days", type=int, default=8)
    parser.add_argument("--windows", type=int, default=4)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1])
    parser.add_argument("--speed", type=float, default=2400.0)
    args = parser.parse_args()
    config = validate({"kiosk": {"id": "bench-office"}})
    print(f"{'seed':>4} {'tickets':>7} {'learned MAE':>12} {'in band':>8} {'fixed MAE':>10} {'in band':>8}")
    learned_all, fixed_all = [], []
    for seed in args.seeds:
        folder = Path(tempfile.mkdtemp(prefix="bench-office-estimate-"))
        try:
            result = simulate_office(config, folder, args.days, args.windows, seed=seed, speed=args.speed)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        lrn, f = result.learned, result.fixed
        learned_all.append(lrn)
        fixed_all.append(f)
        print(
            f"{seed:>4} {lrn.n:>7} {lrn.mae_seconds / 60:>10.1f} m {lrn.in_band:>8.0%} {f.mae_seconds / 60:>8.1f} m"
            f" {f.in_band:>8.0%}"
        )
    n = sum(a.n for a in learned_all)
    lrn_mae = sum(a.mae_seconds * a.n for a in learned_all) / n
    fix_mae = sum(a.mae_seconds * a.n for a in fixed_all) / n
    lrn_band = sum(a.in_band * a.n for a in learned_all) / n
    fix_band = sum(a.in_band * a.n for a in fixed_all) / n
    print(f" all {n:>7} {lrn_mae / 60:>10.1f} m {lrn_band:>8.0%} {fix_mae / 60:>8.1f} m {fix_band:>8.0%}")
    print(
        f"{args.windows} windows, {args.days} days: learned (pooled) MAE is "
        f"{100 * (1 - lrn_mae / fix_mae):.0f}% lower than the fixed average's"
    )


if __name__ == "__main__":
    main()
