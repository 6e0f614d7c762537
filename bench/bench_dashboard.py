"""The admin dashboard's data API: p50 and p99 beside a raw GROUP BY, flat in events and windows.

    python bench/bench_dashboard.py [--cases 1000000x20,1000000x500,10000000x500] [--per-day 200]
                                    [--ingest-limit 0] [--runs 30] [--keep DIR]

Each case is EVENTSxWINDOWS: a fleet's history as bench/fleetdata.py builds it (its docstring
says how; the same file as bench_report's, so ``--keep DIR`` shared by the two builds it once).

Then a real ``kiosk-collector serve`` process answers
``GET /admin/api/dashboard`` (logged in as a viewer) for several filters; each is
timed ``--runs`` times end to end over HTTP (p50, p99). In the same run the
same summary is computed the naive way, a GROUP BY over the events table.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests" / "collector"))

import fleetdata  # noqa: E402
import requests  # noqa: E402
from collector_helpers import start_server, stop_server  # noqa: E402
from fleetdata import parse_cases  # noqa: E402

from server_sync.collector import db as dbmod  # noqa: E402
from server_sync.wire.tz import OFFICE_TZ  # noqa: E402


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", default="1000000x20,1000000x500,10000000x500", help="comma-separated EVENTSxWINDOWS")
    ap.add_argument("--per-day", type=int, default=200, help="presses per window per working day at 20 windows")
    ap.add_argument("--ingest-limit", type=int, default=0)
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--keep", type=Path, help="keep (and reuse) the databases in this folder")
    args = ap.parse_args()
    tmp = tempfile.TemporaryDirectory(prefix="bench-dashboard-")
    folder = args.keep or Path(tmp.name)
    folder.mkdir(parents=True, exist_ok=True)
    worst_all = []
    for events, windows in parse_cases(args.cases):
        print(f"\n== {events:,} events over {windows} windows ==")
        path = fleetdata.dataset(folder, events, windows, args.per_day, args.ingest_limit, keep=bool(args.keep))
        worst_all.append(run_case(path, args))
    print(f"\nworst p99 over all cases: {max(worst_all):.1f} ms (target < 100 ms)")
    tmp.cleanup()


def run_case(path: Path, args) -> float:
    conn = dbmod.connect(path)
    ratings = conn.execute("SELECT count(*) FROM events").fetchone()[0]
    print(
        f"events table: {ratings:,} rows; admin_sat_hour {conn.execute('SELECT count(*) FROM admin_sat_hour').fetchone()[0]:,}"
        f" rows, admin_sat_month {conn.execute('SELECT count(*) FROM admin_sat_month').fetchone()[0]:,} rows"
    )
    last = date.today() - timedelta(days=1)
    filters = [
        ("last 30 days, by day", {"from": last - timedelta(days=29), "to": last, "trend": "day"}),
        ("last 12 months, by month", {"from": last - timedelta(days=364), "to": last, "trend": "month"}),
        (
            "one unit, 12 months, by week",
            {"from": last - timedelta(days=364), "to": last, "trend": "week", "unit": "第1組"},
        ),
        ("all time, by month", {"all": "1", "trend": "month"}),
        (
            "one window, 12 months, by month",
            {"from": last - timedelta(days=364), "to": last, "trend": "month", "unit": "第1組", "window": "1"},
        ),
    ]
    server = start_server(path)
    results = []
    try:
        s = requests.Session()
        page = s.get(f"{server.url}/admin/login", timeout=10)
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
        s.post(
            f"{server.url}/admin/login",
            data={"username": fleetdata.VIEWER[0], "password": fleetdata.VIEWER[1], "csrf": csrf},
            timeout=30,
        )
        for label, params in filters:
            params = {k: str(v) for k, v in params.items()}
            r = s.get(f"{server.url}/admin/api/dashboard", params=params, timeout=120)
            assert r.status_code == 200, r.text
            n_api = r.json()["total"]["n"] + r.json()["total"]["misuse"]
            times = []
            for _ in range(args.runs):
                t0 = time.perf_counter()
                s.get(f"{server.url}/admin/api/dashboard", params=params, timeout=120).raise_for_status()
                times.append((time.perf_counter() - t0) * 1000)
            # The naive way: the same span's counts per level straight from the events table.
            where, qp = "type = 'rating'", []
            if "from" in params:
                where += " AND corrected_at >= ? AND corrected_at < ?"
                lo = datetime.fromisoformat(params["from"]).replace(tzinfo=OFFICE_TZ).timestamp()
                hi = (datetime.fromisoformat(params["to"]) + timedelta(days=1)).replace(tzinfo=OFFICE_TZ).timestamp()
                qp += [lo, hi]
            if "unit" in params:
                where += " AND unit = ?"
                qp.append(params["unit"])
            if "window" in params:
                where += " AND window = ?"
                qp.append(params["window"])
            raw = []
            for _ in range(3):
                t0 = time.perf_counter()
                rows = conn.execute(
                    f"SELECT unit, window, level, misuse, count(*) FROM events WHERE {where}"
                    " GROUP BY unit, window, level, misuse",
                    qp,
                ).fetchall()
                raw.append((time.perf_counter() - t0) * 1000)
            n_raw = sum(r[4] for r in rows)
            assert n_raw == n_api, (label, n_raw, n_api)
            results.append((label, n_api, statistics.median(times), pct(times, 0.99), statistics.median(raw)))
    finally:
        stop_server(server)
        conn.close()
    print()
    head = f"{'filter':<34}{'ratings':>12}{'API p50':>11}{'API p99':>11}{'raw GROUP BY':>15}{'speed-up':>10}"
    print(head)
    print("-" * len(head))
    for label, n, p50, p99, raw in results:
        print(f"{label:<34}{n:>12,}{p50:>8.1f} ms{p99:>8.1f} ms{raw:>12.0f} ms{raw / p50:>9.0f}x")
    worst = max(r[3] for r in results)
    least = min(r[4] / r[2] for r in results)
    print(f"\nworst p99 {worst:.1f} ms (target < 100 ms); smallest speed-up {least:.0f}x (target >= 20x)")
    return worst


if __name__ == "__main__":
    main()
