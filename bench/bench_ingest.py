"""Ingest throughput: events/s through the HTTP API vs a raw sqlite3 executemany.

    python bench/bench_ingest.py [--events 500000] [--kiosks 50] [--batch 1000]

Starts `kiosk-collector serve` on a free loopback port over a fresh database,
creates one kiosk (token) per simulated kiosk, and has that many threads push
gzip'd batches of 1,000 events at once, each thread with its own token and
connection, as real kiosks would. Beside it, in the same run, the same rows go
into a fresh database of the same schema with sqlite3 ``executemany`` (one
transaction per 1,000 rows, same pragmas): the floor no API could beat.
Bodies and rows are built before the clocks start.
"""

from __future__ import annotations

import argparse
import gzip
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from server_sync.collector import db as dbmod  # noqa: E402
from server_sync.collector.auth import add_kiosk  # noqa: E402
from server_sync.collector.event_row import INSERT_EVENT  # noqa: E402

try:
    import orjson

    def dumps(obj) -> bytes:
        return orjson.dumps(obj)
except ImportError:  # pragma: no cover

    def dumps(obj) -> bytes:
        return json.dumps(obj, ensure_ascii=False).encode()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_batches(kiosk_no: int, n_events: int, batch: int, start_epoch: float):
    """The kiosk's events as protocol-v1 batches (bodies) and as raw rows."""
    boot = f"boot-{kiosk_no}"
    store = f"store-{kiosk_no}"
    bodies, rows = [], []
    seq = 0
    for first in range(0, n_events, batch):
        events = []
        for _ in range(min(batch, n_events - first)):
            seq += 1
            t = start_epoch + seq * 20
            level = 1 + (seq * 7 + kiosk_no) % 5
            ev = {
                "id": str(uuid.uuid4()),
                "seq": seq,
                "type": "rating",
                "kiosk_id": f"w{kiosk_no}",
                "unit": f"第{kiosk_no % 6 + 1}組",
                "window": str(kiosk_no),
                "level": level,
                "misuse": seq % 29 == 0,
                "ref": None,
                "recorded_at": time.strftime("%Y-%m-%dT%H:%M:%S.000+00:00", time.gmtime(t)),
                "boot_id": boot,
                "monotonic": float(seq * 20),
            }
            events.append(ev)
            rows.append(
                (
                    kiosk_no + 1,
                    store,
                    ev["id"],
                    seq,
                    "rating",
                    ev["kiosk_id"],
                    ev["unit"],
                    ev["window"],
                    level,
                    int(ev["misuse"]),
                    None,
                    ev["recorded_at"],
                    boot,
                    ev["monotonic"],
                    None,
                    ev["recorded_at"],
                    0,
                    ev["recorded_at"],
                )
            )
        body = {
            "store_id": store,
            "software_version": "bench",
            "backlog": n_events - seq,
            "clock": {"wall": events[-1]["recorded_at"], "boot_id": boot, "monotonic": seq * 20 + 1.0},
            "events": events,
        }
        bodies.append(gzip.compress(dumps(body), 6))
    return bodies, rows


def start_server(db_path: Path):
    port = free_port()
    exe = shutil.which("kiosk-collector", path=os.path.dirname(sys.executable))
    cmd = [exe] if exe else [sys.executable, "-m", "server_sync.collector.cli"]
    proc = subprocess.Popen(
        [*cmd, "serve", "--db", str(db_path), "--port", str(port), "--no-access-log", "--log-level", "warning"]
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(400):
        try:
            if requests.get(f"{url}/api/v1/health", timeout=1).ok:
                return proc, url
        except requests.ConnectionError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit("collector did not start")


def bench_api(tmp: Path, per_kiosk_bodies, n_kiosks: int) -> tuple[float, int]:
    db_path = tmp / "api.db"
    conn = dbmod.open_db(db_path)
    tokens = [add_kiosk(conn, f"bench-{i}") for i in range(n_kiosks)]
    conn.close()
    proc, url = start_server(db_path)
    host, port = url.removeprefix("http://").split(":")
    errors = []
    try:
        barrier = threading.Barrier(n_kiosks + 1)

        def kiosk(i):
            # http.client rather than requests: the simulated kiosks share this
            # machine's CPU with the server, so the client should cost little.
            conn = http.client.HTTPConnection(host, port, timeout=120)
            headers = {
                "Authorization": f"Bearer {tokens[i]}",
                "Content-Encoding": "gzip",
                "Content-Type": "application/json",
            }
            barrier.wait()
            for body in per_kiosk_bodies[i]:
                conn.request("POST", "/api/v1/events", body=body, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                if resp.status != 200 or json.loads(data)["protocol"] != 1:
                    errors.append((resp.status, data[:200]))
                    return
            conn.close()

        threads = [threading.Thread(target=kiosk, args=(i,)) for i in range(n_kiosks)]
        for t in threads:
            t.start()
        barrier.wait()
        t0 = time.perf_counter()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - t0
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(30)
    if errors:
        raise SystemExit(f"API errors: {errors[:3]}")
    check = dbmod.connect(db_path)
    stored = check.execute("SELECT count(*) FROM events").fetchone()[0]
    check.close()
    return elapsed, stored


def bench_raw(tmp: Path, rows_by_batch, n_kiosks: int) -> float:
    db_path = tmp / "raw.db"
    conn = dbmod.open_db(db_path)
    for i in range(n_kiosks):
        add_kiosk(conn, f"bench-{i}")
    t0 = time.perf_counter()
    for rows in rows_by_batch:
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(INSERT_EVENT, rows)
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - t0
    conn.close()
    return elapsed


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=500_000, help="total events (default 500000)")
    ap.add_argument("--kiosks", type=int, default=50)
    ap.add_argument("--batch", type=int, default=1000)
    args = ap.parse_args()
    per_kiosk = max(1, args.events // args.kiosks)
    total = per_kiosk * args.kiosks
    start = time.time() - 86400 * 30
    t0 = time.perf_counter()
    bodies, raw_batches = [], []
    for k in range(args.kiosks):
        b, rows = make_batches(k, per_kiosk, args.batch, start)
        bodies.append(b)
        raw_batches.extend(rows[i : i + args.batch] for i in range(0, len(rows), args.batch))
    print(
        f"built {total:,} events for {args.kiosks} kiosks in batches of {args.batch} "
        f"({time.perf_counter() - t0:.1f} s, {sum(map(len, (x for b in bodies for x in b))) / 1e6:.1f} MB gzip)"
    )
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
        tmp = Path(tmp)
        raw_s = bench_raw(tmp, raw_batches, args.kiosks)
        api_s, stored = bench_api(tmp, bodies, args.kiosks)
    assert stored == total, (stored, total)
    raw_rate, api_rate = total / raw_s, total / api_s
    print(f"raw sqlite3 executemany : {raw_rate:>10,.0f} events/s  ({raw_s:.2f} s)")
    print(
        f"HTTP API, {args.kiosks} kiosks     : {api_rate:>10,.0f} events/s  ({api_s:.2f} s, "
        f"{total / args.batch / api_s:.0f} batches/s)"
    )
    print(f"API / raw               : {api_rate / raw_rate:.2f}  (target >= 0.30)")


if __name__ == "__main__":
    main()
