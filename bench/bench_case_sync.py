"""Case delta-sync benchmark through a real collector on loopback.

    python bench/bench_case_sync.py [--cases 100000] [--changes 1000]

Fills a fresh collector database with N cases (imported through
``cases.apply_cases``; the deliberate scrypt is swapped for a cheap hash while
filling, since what is timed here is the sync, not the import), starts
`kiosk-collector serve` on a free loopback port, and times:

1. a kiosk with no cases pulling all N (``SyncClient.run_round``: paged
   ``GET /api/v1/cases``, each page one durable transaction);
2. after ``--changes`` cases changed (a new stage each; a tenth removed), the
   next round pulling only those changes.
"""

from __future__ import annotations

import argparse
import hashlib
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

from kiosk.outbox import sync_client
from kiosk.store import Store
from server_sync.collector import db as dbmod
from server_sync.collector.cases import record, storing
from server_sync.wire import cases as wire_cases


def collector_command() -> list[str]:
    script = Path(sys.executable).with_name("kiosk-collector")
    return [str(script)] if script.exists() else [sys.executable, "-m", "server_sync.collector.cli"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_case(i: int, extra_stage: bool = False) -> record.Case:
    stages = [
        {"stage": "收件", "stage_en": "Received", "date": "2025-01-02"},
        {"stage": "審核中", "stage_en": "Review", "date": "2025-01-05"},
    ]
    if extra_stage:
        stages.append({"stage": "核定", "stage_en": "Approved", "date": "2025-01-09"})
    return record.Case(
        case_no=f"114-{i:07d}",
        case_type="選舉人名冊查詢",
        applicant_name="王小明",
        verify_code=f"{i % 10_000:04d}",
        unit="第一組",
        extension="1201",
        due_date="2025-01-20",
        stages=stages,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--changes", type=int, default=1_000)
    args = parser.parse_args()
    wire_cases.hash_code = lambda code, salt, kdf=wire_cases.KDF, **kw: hashlib.sha256(salt + code.encode()).digest()

    with tempfile.TemporaryDirectory(prefix="bench-cases-") as tmp:
        tmp = Path(tmp)
        db = tmp / "collector.db"
        conn = dbmod.open_db(db)
        t0 = time.perf_counter()
        storing.apply_cases(conn, (make_case(i) for i in range(args.cases)))
        print(
            f"filled the collector with {args.cases:,} cases in {time.perf_counter() - t0:.1f} s "
            "(cheap hash; the real scrypt costs about 20 ms per new or changed secret)"
        )
        token = (
            subprocess.run(
                [*collector_command(), "add-kiosk", "bench-cases", "--unit", "第一組", "--db", str(db)],
                check=True,
                capture_output=True,
                text=True,
            )
            .stdout.strip()
            .splitlines()[-1]
        )
        port = free_port()
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
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            for _ in range(200):
                try:
                    if requests.get(f"{url}/api/v1/health", timeout=1).ok:
                        break
                except requests.RequestException:
                    time.sleep(0.1)
            data = tmp / "kiosk"
            store = Store(data, kiosk_id="bench-cases")  # the running kiosk holds its file open
            client = sync_client(url, token, data)
            t0 = time.perf_counter()
            result = client.run_round()
            full = time.perf_counter() - t0
            assert result.cases_error is None and result.cases_changed == args.cases, result
            print(
                f"from empty: {result.cases_changed:,} cases in {full:.2f} s "
                f"({result.cases_changed / full:,.0f} cases/s; whole round incl. event push and settings)"
            )

            changed = [make_case(i, extra_stage=True) for i in range(0, args.cases, max(1, args.cases // args.changes))]
            removed = [c.case_no for c in changed[: len(changed) // 10]]
            storing.apply_cases(conn, changed[len(changed) // 10 :], remove=removed)
            t0 = time.perf_counter()
            result = client.run_round()
            delta = time.perf_counter() - t0
            assert result.cases_error is None and result.cases_changed == len(changed), result
            print(f"{len(changed):,} changes ({len(removed)} removals): {delta:.3f} s")
            t0 = time.perf_counter()
            result = client.run_round()
            print(f"nothing changed: {time.perf_counter() - t0:.3f} s for a round ({result.cases_changed} changes)")
            client.close()
            store.close()
        finally:
            proc.terminate()
            proc.wait(10)
            conn.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
