"""Catch-up benchmark: a kiosk offline for 30 days (50,000 events) syncs to a real collector on loopback.

    python bench/bench_catchup.py [--events 50000] [--days 30] [--batch 1000]

Starts `kiosk-collector serve` on a free loopback port over a fresh database,
records the events with a simulated clock spread over the offline days, then
times one `SyncClient.run_round()` (push everything in gzip batches, pull
settings) until nothing is pending. Prints the seconds; target: under 10 s.
"""

from __future__ import annotations

import argparse
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
from kiosk.outbox import sync_client
from kiosk.store import Store

TARGET_SECONDS = 10.0


def collector_command() -> list[str]:
    script = Path(sys.executable).with_name("kiosk-collector")
    return [str(script)] if script.exists() else [sys.executable, "-m", "server_sync.collector.cli"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def record(data_dir: Path, n: int, days: int) -> None:
    clock = SimulatedClock(datetime.now(UTC) - timedelta(days=days), boot_id="bench-boot")
    store = Store(data_dir, kiosk_id="bench-w1", unit="第一組", window="1", clock=clock)
    # Only preparing data: skip the per-event fsync the kiosk does, so the setup is quick.
    store.conn.execute("PRAGMA synchronous=OFF")
    gap = days * 86400 / n
    for i in range(n):
        clock.advance(gap)
        store.append("rating", level=i % 5 + 1, misuse=i % 37 == 0)
    store.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--batch", type=int, default=1000)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-catchup-"))
    db, port = work / "collector.db", free_port()
    proc = None
    try:
        token = (
            subprocess.run(
                [*collector_command(), "add-kiosk", "bench-w1", "--db", str(db)],
                capture_output=True,
                text=True,
                check=True,
            )
            .stdout.strip()
            .splitlines()[-1]
        )
        log = open(work / "collector.log", "wb")
        proc = subprocess.Popen(
            [
                *collector_command(),
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
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        t0 = time.monotonic()
        record(work / "kiosk", args.events, args.days)
        print(f"recorded {args.events} events over {args.days} days in {time.monotonic() - t0:.1f} s")
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

        client = sync_client(url, token, work / "kiosk", batch_size=args.batch)
        t0 = time.monotonic()
        result = client.run_round()
        seconds = time.monotonic() - t0
        client.close()
        if not result.ok:
            print(f"not fully synced: {result.error}; {result.pending} pending", file=sys.stderr)
            return 1
        print(
            f"catch-up: {result.sent} events in {result.batches} batches synced in {seconds:.2f} s "
            f"({result.sent / seconds:,.0f} events/s; target < {TARGET_SECONDS:.0f} s)"
        )
        return 0 if seconds < TARGET_SECONDS else 1
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
