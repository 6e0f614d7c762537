"""The fleet history the report and dashboard benchmarks read: one SQLite file per EVENTSxWINDOWS case.

A fleet of that many kiosks (4 units, one window each). The office as a whole records ``per_day``
x 20 presses per working day (Mon-Fri, 08:00-17:00 Asia/Taipei, ~7 % misuse) however many windows
share them, so 1M events is about a year over 20 windows or over 500, and 10M about ten years.

How a dataset is built (the 10M one cannot go through HTTP in a few minutes):

* up to ``ingest_limit`` events: through ``Ingestor.ingest``, the API's own write path
  (pydantic-validated batches of 1,000, exactly-once check, clock correction, rollups, watermark,
  group commit);
* beyond that: the bulk path. Rows and rollup increments come from the very same code
  (``Ingestor._rows`` for corrected times and rollup keys, ``add_rollups`` for the hour/day/month
  tables, ``rollup.collect`` for the dashboard's) and go into the same schema with executemany in
  large transactions with synchronous=OFF; what is skipped is validation, the duplicate check, the
  watermark and the per-batch commit, none of which a report reads.

Both benchmarks build the same file for a case (``dataset()``), so ``--keep DIR`` lets the second
reuse what the first built.
"""

from __future__ import annotations

import json
import os
import random
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import click

from server_sync.collector import db as dbmod
from server_sync.collector import rollup, volume
from server_sync.collector.admin import accounts
from server_sync.collector.auth import add_kiosk, kiosk_by_name
from server_sync.collector.event_row import INSERT_EVENT
from server_sync.collector.ingest import Ingestor, prepare
from server_sync.collector.models import Batch
from server_sync.collector.rollup import add_rollups
from server_sync.collector.timestamps import iso_utc
from server_sync.wire.tz import OFFICE_TZ

VIEWER = ("bench", "bench-password-1")  # the account bench_dashboard logs in with

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


def per_kiosk_day(per_day: int, windows: int) -> int:
    """A kiosk's presses per working day: the office's ``per_day`` x 20, shared by its windows."""
    return max(1, round(per_day * 20 / windows))


def dataset(folder: Path, n_events: int, windows: int, per_day: int, ingest_limit: int, *, keep: bool) -> Path:
    """The case's database in ``folder``: reused if ``keep`` and it is there, else built afresh."""
    path = folder / f"fleet-{n_events}x{windows}.db"
    if not (keep and path.exists()):
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        t0 = time.perf_counter()
        what = build(path, n_events, windows, per_kiosk_day(per_day, windows), ingest_limit)
        print(f"built {what} over {windows} windows in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    return path


def build(path: Path, n_events: int, kiosks: int, per_day: int, ingest_limit: int) -> str:
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
    admin_inc = rollup.Increments()  # the dashboard's rollups, which the window group reads
    total = kiosks * len(days) * per_day
    with click.progressbar(length=total, label=f"building {path.name}", file=sys.stderr) as bar:
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
                    rows, hourly = Ingestor._rows(
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
                    for key, n in hourly.items():
                        acc[key] = acc.get(key, 0) + n
                    admin_inc.merge(rollup.collect(rows, ks[k].levels))
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
    accounts.add_user(conn, *VIEWER, "viewer")
    # As the m301 migration does on a database with history: alerts start from the events after it.
    conn.execute("UPDATE admin_meta SET value = (SELECT max(pk) FROM events) WHERE key = 'alerts_pk'")
    conn.close()
    how = (
        "ingest path"
        if done <= ingest_limit
        else f"ingest path for {min(done, ingest_limit):,}, bulk path for {done - ingest_limit:,}"
    )
    return f"{done:,} events over {len(days)} working days ({days[0]} – {days[-1]}), {how}"


def parse_cases(text: str) -> list[tuple[int, int]]:
    out = []
    for part in text.split(","):
        n, _, w = part.lower().partition("x")
        out.append((int(n), int(w or 20)))
    return out
