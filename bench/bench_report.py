"""Report latency: under 100 ms, flat in the number of events and in the number of windows.

    python bench/bench_report.py [--cases 1000000x20,1000000x500,10000000x500] [--per-day 200]
                                 [--ingest-limit 0] [--keep DIR]

Each case is EVENTSxWINDOWS: a fleet of that many kiosks (4 units, one window each). The
office as a whole records ``--per-day`` x 20 presses per working day (Mon-Fri, 08:00-17:00
Asia/Taipei, ~7 % misuse) however many windows share them, so 1M events is about a year
over 20 windows or over 500, and 10M about ten years (the 10-year case).

How each dataset is built (documented because the 10M one cannot go through
HTTP in a few minutes):

* up to ``--ingest-limit`` events: through ``Ingestor.ingest``, the API's own
  write path (pydantic-validated batches of 1,000, exactly-once check, clock
  correction, rollups, watermark, group commit);
* beyond that: the faster bulk path. Rows and rollup increments come from the
  very same code (``Ingestor._rows`` for corrected times and rollup keys,
  ``add_rollups`` for the hour/day/month tables) and go into the same schema with
  executemany in large transactions with synchronous=OFF; what is skipped is
  validation, the duplicate check, the watermark and the per-batch commit, none
  of which the report reads.

Every report is checked against the number of rating events generated, then
timed (median of 5 runs of report() + rendering the table) over several spans, beside
the same figures the raw way in the same run: a GROUP BY over the events table (median of 3).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from server_sync.collector import db as dbmod  # noqa: E402
from server_sync.collector import rollup, volume  # noqa: E402
from server_sync.collector.auth import add_kiosk, kiosk_by_name  # noqa: E402
from server_sync.collector.event_row import INSERT_EVENT  # noqa: E402
from server_sync.collector.ingest import Ingestor, prepare  # noqa: E402
from server_sync.collector.models import Batch  # noqa: E402
from server_sync.collector.report import render, report  # noqa: E402
from server_sync.collector.rollup import add_rollups  # noqa: E402
from server_sync.collector.timestamps import iso_utc  # noqa: E402
from server_sync.wire.tz import OFFICE_TZ  # noqa: E402

BATCH = 1000


def uuids(n: int):
    raw = os.urandom(16 * n).hex()
    for i in range(0, 32 * n, 32):
        h = raw[i : i + 32]
        yield f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:]}"


def working_days(n_days: int, last: date) -> list[date]:
    days, d = [], last
    while len(days) < n_days:
        if d.weekday() < 5:
            days.append(d)
        d -= timedelta(days=1)
    return days[::-1]


def kiosk_events(k: int, days: list[date], per_day: int, seed: int):
    """Batches of (protocol-v1 event dict, recorded unix time) for kiosk k; recorded_at is
    right (Taipei time), its boot never anchored, so corrected_at = recorded_at."""
    import random

    rnd = random.Random(seed)
    unit, window, kiosk_id = f"第{k % 4 + 1}組", str(k + 1), f"w{k}"
    ids = uuids(len(days) * per_day)
    seq, batch = 0, []
    for d in days:
        t0 = datetime(d.year, d.month, d.day, 8, tzinfo=OFFICE_TZ).timestamp()
        day = d.isoformat()
        levels = rnd.choices((1, 2, 3, 4, 5), (38, 30, 17, 9, 6), k=per_day)
        offsets = sorted(rnd.randrange(9 * 3600 * 1000) for _ in range(per_day))
        for off, level in zip(offsets, levels):
            seq += 1
            s, ms = divmod(off, 1000)
            h, s = divmod(s, 3600)
            m, s = divmod(s, 60)
            batch.append(
                (
                    {
                        "id": next(ids),
                        "seq": seq,
                        "type": "rating",
                        "kiosk_id": kiosk_id,
                        "unit": unit,
                        "window": window,
                        "level": level,
                        "misuse": ms < 70,
                        "ref": None,
                        "recorded_at": f"{day}T{8 + h:02d}:{m:02d}:{s:02d}.{ms:03d}+08:00",
                        "boot_id": "old-boot",
                        "monotonic": float(seq),
                    },
                    t0 + off / 1000,
                )
            )
            if len(batch) == BATCH:
                yield batch
                batch = []
    if batch:
        yield batch


def build(path: Path, n_events: int, kiosks: int, per_day: int, ingest_limit: int) -> tuple[float, str]:
    conn = dbmod.open_db(path)
    for k in range(kiosks):
        add_kiosk(conn, f"k{k}")
    ks = [kiosk_by_name(conn, f"k{k}") for k in range(kiosks)]
    n_days = max(1, n_events // (kiosks * per_day))
    last = date.today() - timedelta(days=1)
    days = working_days(n_days, last)
    now = time.time()
    # The write path's own cost, not a kiosk's allowance: years of history arrive here in seconds.
    unlimited = volume.Limits(lambda: now, burst=10**12, hour_cap=10**9)
    ingestor = Ingestor(conn, clock=lambda: now, limits=unlimited)
    t0 = time.perf_counter()
    done = 0
    bulk_rollups: dict[int, dict] = {}
    admin_inc = rollup.Increments()  # the dashboard's rollups, which the window group reads
    bulk_open = False
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
                    conn.execute("PRAGMA cache_size=-1000000")  # 1 GB: keep the id index in memory
                    conn.execute("BEGIN")
                    bulk_open = True
                recorded = [t for _, t in pairs]
                rows, hourly = Ingestor._rows(
                    ks[k],
                    SimpleNamespace(events=events, store_id=f"s{k}"),
                    recorded,
                    {},
                    now,
                    iso_utc(now),
                    set(),
                    (events[0]["unit"], events[0]["window"]),  # the place a kiosk adopts from its first batch
                )
                conn.executemany(INSERT_EVENT, rows)
                acc = bulk_rollups.setdefault(ks[k].id, {})
                for key, n in hourly.items():
                    acc[key] = acc.get(key, 0) + n
                admin_inc.merge(rollup.collect(rows, ks[k].levels))
                if (done // BATCH) % 200 == 0:
                    conn.execute("COMMIT")
                    conn.execute("BEGIN")
            done += len(events)
    if bulk_open:
        for kid, acc in bulk_rollups.items():
            add_rollups(conn, kid, acc)
        admin_inc.write(conn)
        conn.execute("COMMIT")
        conn.execute("PRAGMA synchronous=FULL")
    how = (
        "ingest path"
        if done <= ingest_limit
        else f"ingest path for {min(done, ingest_limit):,}, bulk path for {done - ingest_limit:,}"
    )
    conn.close()
    return time.perf_counter() - t0, f"{done:,} events over {len(days)} working days ({days[0]} – {days[-1]}), {how}"


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


def parse_cases(text: str) -> list[tuple[int, int]]:
    out = []
    for part in text.split(","):
        n, _, w = part.lower().partition("x")
        out.append((int(n), int(w or 20)))
    return out


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
        per_day = max(1, round(args.per_day * 20 / windows))  # the office's presses, shared by its windows
        path = folder / f"report-{n}x{windows}.db"
        if not (args.keep and path.exists()):
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
            secs, what = build(path, n, windows, per_day, args.ingest_limit)
            print(f"built {what} over {windows} windows in {secs:.0f} s")
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
