"""Catch-up benchmark: a kiosk offline for 30 days (50,000 events) syncs to a real collector on loopback.

    python bench/bench_catchup.py [--events 50000] [--days 30] [--batch 1000]

Starts `kiosk-collector serve` on a free loopback port over a fresh database (its per-kiosk
upload allowance raised for the run: the allowance is the collector's policy, measured by
bench_ingest, not the kiosk's cost), records the events twice with a simulated clock spread
over the offline days, then times one `SyncClient.run_round()` (push everything in gzip
batches, pull settings) per copy until nothing is pending:

* **now**: the client as shipped (batches as JSON written by SQLite, the pending count a
  subtraction, gzip level 1);
* **old path**, in the same run: the same client handed the encoding it had before issue 15,
  still callable (``Outbox.batch`` building an Event per row, ``event_json`` per event,
  counting the pending rows twice per batch, gzip level 5);
* **raw SQLite**: the floor with no HTTP at all: read every row, json.dumps and gzip per batch.

Prints the kiosk process's CPU-seconds per 50,000 events for each (the honest figure for a
Pi's core, where wall time on this shared machine is noise) and the seconds; targets: catch-up
under 10 s, CPU half the old path's (before issue 15: 1.65-1.81 CPU-s in the issue's runs,
0.94-0.97 CPU-s in this bench's runs of that tree on the same machine).
"""

from __future__ import annotations

import argparse
import gzip
import json
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests

from kiosk.clock import SimulatedClock
from kiosk.outbox import KioskOutbox, sync_client
from kiosk.store import EVENT_COLUMNS, Store
from server_sync.client.outbox import EncodedBatch, event_json

TARGET_SECONDS = 10.0
PER = 50_000
# The real `kiosk-collector` command, with each kiosk's upload allowance (volume.BURST, 20,000
# events) raised so one 50,000-event catch-up goes through in one round.
LAUNCH = (
    "import functools, sys\n"
    "from server_sync.collector import cli, ingest, volume\n"
    "ingest.Limits = functools.partial(volume.Limits, burst=10**9)\n"
    "sys.argv[0] = 'kiosk-collector'\n"
    "cli.main()\n"
)


class OldEncodingOutbox(KioskOutbox):
    """The kiosk's outbox with the encoding catch-up used before issue 15."""

    def encoded_batch(self, after_seq: int, limit: int) -> EncodedBatch:
        events = self.batch(after_seq, limit)
        return EncodedBatch([event_json(e) for e in events], *((events[0].seq, events[-1].seq) if events else ()))

    def pending_count(self, after_seq: int) -> int:
        return self._run(lambda c: c.execute("SELECT count(*) FROM events WHERE seq > ?", [after_seq]).fetchone()[0])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def collector(*args: str) -> list[str]:
    return [sys.executable, "-c", LAUNCH, *args]


def record(data_dir: Path, n: int, days: int, kiosk_id: str) -> None:
    clock = SimulatedClock(datetime.now(UTC) - timedelta(days=days), boot_id="bench-boot")
    store = Store(data_dir, kiosk_id=kiosk_id, unit="第一組", window="1", clock=clock)
    # Only preparing data: skip the per-event fsync the kiosk does, so the setup is quick.
    store.conn.execute("PRAGMA synchronous=OFF")
    gap = days * 86400 / n
    for i in range(n):
        clock.advance(gap)
        store.append("rating", level=i % 5 + 1, misuse=i % 37 == 0)
    store.close()


def raw_floor(data_dir: Path, batch: int) -> float:
    """CPU-seconds to read every event row and gzip it as JSON per batch, with no HTTP."""
    conn = KioskOutbox(data_dir).open().conn
    assert conn is not None
    names = [c.strip() for c in EVENT_COLUMNS.split(",")]
    c0 = time.process_time()
    after = 0
    while True:
        rows = conn.execute(
            f"SELECT {EVENT_COLUMNS} FROM events WHERE seq > ? ORDER BY seq LIMIT ?", [after, batch]
        ).fetchall()
        if not rows:
            break
        body = json.dumps([dict(zip(names, r)) for r in rows], ensure_ascii=False, separators=(",", ":"))
        gzip.compress(body.encode(), compresslevel=1)
        after = rows[-1][0]
    cpu = time.process_time() - c0
    conn.close()
    return cpu


def catch_up(url: str, token: str, data_dir: Path, batch: int, *, old: bool) -> tuple[float, float, int]:
    """(CPU-s, wall s, events sent) of one full round."""
    client = sync_client(url, token, data_dir, batch_size=batch)
    if old:
        client.outbox = OldEncodingOutbox(data_dir)
        client.gzip_level = 5
    c0, t0 = time.process_time(), time.monotonic()
    result = client.run_round()
    cpu, wall = time.process_time() - c0, time.monotonic() - t0
    client.close()
    if not result.ok:
        raise SystemExit(f"not fully synced: {result.error}; {result.pending} pending")
    return cpu, wall, result.sent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=PER)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--batch", type=int, default=1000)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-catchup-"))
    db, port = work / "collector.db", free_port()
    proc = None
    try:
        tokens = {}
        for name in ("bench-new", "bench-old"):
            out = subprocess.run(
                collector("add-kiosk", name, "--db", str(db)), capture_output=True, text=True, check=True
            )
            tokens[name] = out.stdout.strip().splitlines()[-1]
        log = open(work / "collector.log", "wb")
        proc = subprocess.Popen(
            collector(
                "serve",
                "--db",
                str(db),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--no-access-log",
                "--log-level",
                "warning",
            ),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        t0 = time.monotonic()
        for name in tokens:
            record(work / name, args.events, args.days, name)
        print(f"recorded {args.events:,} events over {args.days} days, twice, in {time.monotonic() - t0:.1f} s")
        deadline = time.monotonic() + 20
        while True:
            try:
                if requests.get(f"{url}/api/v1/health", timeout=1).ok:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                print((work / "collector.log").read_text(errors="replace"), file=sys.stderr)
                return 2
            time.sleep(0.1)

        floor = raw_floor(work / "bench-new", args.batch)
        old_cpu, old_wall, _ = catch_up(url, tokens["bench-old"], work / "bench-old", args.batch, old=True)
        cpu, wall, sent = catch_up(url, tokens["bench-new"], work / "bench-new", args.batch, old=False)
        scale = PER / sent
        print(f"\n{'kiosk side, one catch-up round':<44}{'CPU-s per 50k':>14}{'wall s':>9}")
        print("-" * 67)
        print(f"{'old path (Event per row, count(*), gzip 5)':<44}{old_cpu * scale:>14.2f}{old_wall:>9.2f}")
        print(f"{'now':<44}{cpu * scale:>14.2f}{wall:>9.2f}")
        print(f"{'raw SQLite read + json + gzip, no HTTP':<44}{floor * scale:>14.2f}")
        print(
            f"\ncatch-up: {sent:,} events synced in {wall:.2f} s ({sent / wall:,.0f} events/s; target < "
            f"{TARGET_SECONDS:.0f} s); CPU {cpu / old_cpu:.2f}x the old path's (target <= 0.5x)"
        )
        return 0 if wall < TARGET_SECONDS else 1
    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
