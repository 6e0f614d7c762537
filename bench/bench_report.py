"""Report latency: under 100 ms, flat in the number of events and in the number of windows.

    python bench/bench_report.py [--cases 1000000x20,1000000x500,10000000x500] [--per-day 200]
                                 [--ingest-limit 0] [--keep DIR]

Each case is EVENTSxWINDOWS: a fleet's history as bench/fleetdata.py builds it (its docstring
says how; 1M events is about a year over 20 windows or over 500, 10M about ten years over 500).

Every report is checked against the number of rating events generated, then
timed (median of 5 runs of report() + rendering the table) over several spans, beside
the same figures the raw way in the same run: a GROUP BY over the events table (median of 3).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import fleetdata  # noqa: E402
from fleetdata import parse_cases  # noqa: E402

from server_sync.collector import db as dbmod  # noqa: E402
from server_sync.collector.report import render, report  # noqa: E402
from server_sync.wire.tz import OFFICE_TZ  # noqa: E402


def timed(fn, runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000


TAIPEI = 8 * 3600  # the office's offset: whole hours, no daylight saving


def raw_sql(group_by: str, lo: date | None, hi: date | None) -> tuple[str, list]:
    """The report's counts straight from the events table (per kiosk, for its button count)."""
    group = {
        "unit": "unit",
        "window": "unit, window",
        "day": f"CAST((corrected_at + {TAIPEI}) / 86400 AS INTEGER)",
        "hour": f"CAST((corrected_at + {TAIPEI}) / 3600 AS INTEGER)",
    }[group_by]
    where, params = "type = 'rating'", []
    if lo is not None:
        where += " AND corrected_at >= ?"
        params.append(datetime(lo.year, lo.month, lo.day, tzinfo=OFFICE_TZ).timestamp())
    if hi is not None:
        end = hi + timedelta(days=1)
        where += " AND corrected_at < ?"
        params.append(datetime(end.year, end.month, end.day, tzinfo=OFFICE_TZ).timestamp())
    return (
        f"SELECT {group}, kiosk, level, misuse, count(*) FROM events WHERE {where} GROUP BY {group}, kiosk, level, misuse",
        params,
    )


def timed_raw(conn, kw: dict) -> float:
    sql, params = raw_sql(kw["group_by"], kw.get("date_from"), kw.get("date_to"))
    return timed(lambda: conn.execute(sql, params).fetchall(), runs=3)


def queries(last: date):
    return [
        ("unit, all time", dict(group_by="unit")),
        ("window, all time", dict(group_by="window")),
        ("unit, last 12 months", dict(group_by="unit", date_from=last - timedelta(days=364), date_to=last)),
        ("window, last 30 days", dict(group_by="window", date_from=last - timedelta(days=29), date_to=last)),
        ("day, last 30 days", dict(group_by="day", date_from=last - timedelta(days=29), date_to=last)),
        ("hour, last 7 days", dict(group_by="hour", date_from=last - timedelta(days=6), date_to=last)),
        ("hour, one day", dict(group_by="hour", date_from=last, date_to=last)),
    ]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", default="1000000x20,1000000x500,10000000x500", help="comma-separated EVENTSxWINDOWS")
    ap.add_argument("--per-day", type=int, default=200, help="presses per window per working day at 20 windows")
    ap.add_argument(
        "--ingest-limit",
        type=int,
        default=0,
        help="events built through the ingest path (about 10,000 a second); the rest through the bulk path",
    )
    ap.add_argument("--keep", type=Path, help="keep (and reuse) the databases in this folder")
    args = ap.parse_args()
    cases = parse_cases(args.cases)
    last = date.today() - timedelta(days=1)
    results: dict[str, list[tuple[float, float]]] = {}
    tmpdir = tempfile.TemporaryDirectory(prefix="bench-report-")
    folder = args.keep or Path(tmpdir.name)
    folder.mkdir(parents=True, exist_ok=True)
    for n, windows in cases:
        path = fleetdata.dataset(folder, n, windows, args.per_day, args.ingest_limit, keep=bool(args.keep))
        conn = dbmod.open_db(path)
        rollup_rows = {
            t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
            for t in ("rollups", "rollups_day", "rollups_month")
        }
        stored = conn.execute("SELECT count(*) FROM events").fetchone()[0]
        total = report(conn).total
        assert total.n + total.misuse == stored, (total.n, total.misuse, stored)
        print(
            f"  events {stored:,}; rollup rows: hour {rollup_rows['rollups']:,}, "
            f"day {rollup_rows['rollups_day']:,}, month {rollup_rows['rollups_month']:,}; "
            f"counted {total.n:,}, misuse {total.misuse:,}, Happy Index {total.happy_index}"
        )
        for label, kw in queries(last):
            ms = timed(lambda conn=conn, kw=kw: render(report(conn, **kw), "table"))
            results.setdefault(label, []).append((ms, timed_raw(conn, kw)))
        conn.close()
    print()
    head = f"{'report: ms (raw GROUP BY ms)':<28}" + "".join(f"{f'{n:,}x{w}':>22}" for n, w in cases)
    print(head)
    print("-" * len(head))
    for label, figures in results.items():
        print(f"{label:<28}" + "".join(f"{f'{ms:.1f} ({raw:,.0f})':>22}" for ms, raw in figures))
    worst = max(ms for v in results.values() for ms, _ in v)
    print(f"\nslowest: {worst:.1f} ms (target < 100 ms); EVENTSxWINDOWS, median of 5 (raw: of 3)")
    tmpdir.cleanup()


if __name__ == "__main__":
    main()
