"""The admin dashboard's data API: p50 and p99 beside a raw GROUP BY, flat in events and windows.

    python bench/bench_dashboard.py [--cases 1000000x20,1000000x500,10000000x500] [--per-day 200]
                                    [--ingest-limit 0] [--runs 30] [--keep DIR]

Each case is EVENTSxWINDOWS. The dataset is built as bench/bench_report.py builds it (its
event generator: that many kiosks in 4 units, one window each, the office's ``--per-day`` x 20
presses per working day shared by its windows, ~7 % misuse; 1M events is about a year, 10M
about ten years): the first ``--ingest-limit`` events go
through ``Ingestor.ingest`` (the API's own write path, which now also keeps the
dashboard's rollups through admin/rollup.apply); the rest through the bulk path,
which uses the same code for rows and rollups (``Ingestor._rows``,
``add_rollups``, ``rollup.collect``) without the per-batch commit.

Then a real ``kiosk-collector serve`` process answers
``GET /admin/api/dashboard`` (logged in as a viewer) for several filters; each is
timed ``--runs`` times end to end over HTTP (p50, p99). In the same run the
same summary is computed the naive way, a GROUP BY over the events table.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests" / "collector"))

import requests  # noqa: E402
from bench_report import BATCH, kiosk_events, parse_cases, working_days  # noqa: E402
from collector_helpers import start_server, stop_server  # noqa: E402

from server_sync.collector import db as dbmod  # noqa: E402
from server_sync.collector import rollup as admin_rollup  # noqa: E402
from server_sync.collector import volume  # noqa: E402
from server_sync.collector.admin import accounts  # noqa: E402
from server_sync.collector.auth import add_kiosk, kiosk_by_name  # noqa: E402
from server_sync.collector.event_row import INSERT_EVENT  # noqa: E402
from server_sync.collector.ingest import Ingestor, prepare  # noqa: E402
from server_sync.collector.models import Batch  # noqa: E402
from server_sync.collector.rollup import add_rollups  # noqa: E402
from server_sync.collector.timestamps import iso_utc  # noqa: E402
from server_sync.wire.tz import OFFICE_TZ  # noqa: E402


def build(path: Path, n_events: int, kiosks: int, per_day: int, ingest_limit: int) -> str:
    import click

    conn = dbmod.open_db(path)
    for k in range(kiosks):
        add_kiosk(conn, f"k{k}")
    ks = [kiosk_by_name(conn, f"k{k}") for k in range(kiosks)]
    days = working_days(max(1, n_events // (kiosks * per_day)), date.today() - timedelta(days=1))
    now = time.time()
    # The write path's own cost, not a kiosk's allowance: years of history arrive here in seconds.
    unlimited = volume.Limits(lambda: now, burst=10**12, hour_cap=10**9)
    ingestor = Ingestor(conn, clock=lambda: now, limits=unlimited)
    done, bulk_open = 0, False
    bulk_rollups: dict[int, dict] = {}
    admin_inc = admin_rollup.Increments()
    total = kiosks * len(days) * per_day
    with click.progressbar(length=total, label="building", file=sys.stderr) as bar:
        for k in range(kiosks):
            for pairs in kiosk_events(k, days, per_day, seed=k):
                events = [e for e, _ in pairs]
                if done < ingest_limit:
                    body = json.dumps(
                        {
                            "store_id": f"s{k}",
                            "software_version": "bench",
                            "backlog": 0,
                            "clock": {"wall": iso_utc(now), "boot_id": "now-boot", "monotonic": 100.0},
                            "events": events,
                        }
                    )
                    batch = Batch.model_validate_json(body)
                    ingestor.ingest(ks[k], batch, prepare(batch))
                else:
                    if not bulk_open:
                        conn.execute("PRAGMA synchronous=OFF")
                        conn.execute("PRAGMA cache_size=-1000000")
                        conn.execute("BEGIN")
                        bulk_open = True
                    rows, rollup = Ingestor._rows(
                        ks[k],
                        SimpleNamespace(events=events, store_id=f"s{k}"),
                        [t for _, t in pairs],
                        {},
                        now,
                        iso_utc(now),
                        set(),
                        (events[0]["unit"], events[0]["window"]),  # the place a kiosk adopts from its first batch
                    )
                    conn.executemany(INSERT_EVENT, rows)
                    acc = bulk_rollups.setdefault(ks[k].id, {})
                    for key, n in rollup.items():
                        acc[key] = acc.get(key, 0) + n
                    admin_inc.merge(admin_rollup.collect(rows, ks[k].levels))
                    if (done // BATCH) % 200 == 0:
                        conn.execute("COMMIT")
                        conn.execute("BEGIN")
                done += len(events)
                bar.update(len(events))
    if bulk_open:
        for kid, acc in bulk_rollups.items():
            add_rollups(conn, kid, acc)
        admin_inc.write(conn)
        conn.execute("COMMIT")
        conn.execute("PRAGMA synchronous=FULL")
    accounts.add_user(conn, "bench", "bench-password-1", "viewer")
    # As the m301 migration does on a database with history: alerts start from the events after it.
    conn.execute("UPDATE admin_meta SET value = (SELECT max(pk) FROM events) WHERE key = 'alerts_pk'")
    conn.close()
    return f"{done:,} events over {len(days)} working days ({days[0]} – {days[-1]})"


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
        per_day = max(1, round(args.per_day * 20 / windows))  # the office's presses, shared by its windows
        print(f"\n== {events:,} events over {windows} windows ==")
        worst_all.append(run_case(folder / f"dashboard-{events}x{windows}.db", events, windows, per_day, args))
    print(f"\nworst p99 over all cases: {max(worst_all):.1f} ms (target < 100 ms)")
    tmp.cleanup()


def run_case(path: Path, events: int, windows: int, per_day: int, args) -> float:
    if not path.exists():
        t0 = time.perf_counter()
        what = build(path, events, windows, per_day, args.ingest_limit)
        print(f"built {what} in {time.perf_counter() - t0:.0f} s")
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
        import re

        page = s.get(f"{server.url}/admin/login", timeout=10)
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
        s.post(
            f"{server.url}/admin/login",
            data={"username": "bench", "password": "bench-password-1", "csrf": csrf},
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
                lo = time.mktime(date.fromisoformat(params["from"]).timetuple())
                where += " AND corrected_at >= ? AND corrected_at < ?"
                from datetime import datetime

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
