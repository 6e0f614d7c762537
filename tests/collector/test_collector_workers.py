"""Several collector processes over one SQLite file (issue 15, goal 4: `serve --workers N`).

* two real collector processes (one of them `serve --workers 2`, so three in all) are sent the
  same batches at once: every event is stored exactly once, the batches' acks add up to that, and
  the contiguous acked_seq per (kiosk, store_id) ends at the last seq;
* the alert worker runs in one process only: a standby does nothing while another holds the
  election lock beside the database, and takes over when that one goes;
* the dashboard's data API costs one trip through the thread pool.

bench/bench_storm.py measures what the extra workers buy under 1,000 kiosks."""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
import threading
import time

import pytest
import requests
from collector_helpers import make_batch, make_event, start_server, stop_server
from fastapi.testclient import TestClient
from waiting import wait_until

from server_sync.collector import cli
from server_sync.collector import db as dbmod
from server_sync.collector.admin import accounts
from server_sync.collector.alerts import AlertWorker, election_path
from server_sync.collector.api import create_app
from server_sync.collector.auth import add_kiosk, kiosk_by_name
from server_sync.collector.ingest import Ingestor
from server_sync.collector.models import Batch

# Concurrency, locks and processes: nothing in it depends on the date.
pytestmark = pytest.mark.dateless

KIOSKS = 3
BATCHES = 8
PER_BATCH = 20


def _post_all(url: str, token: str, bodies: list[dict], out: list) -> None:
    with requests.Session() as s:
        for body in bodies:
            r = s.post(f"{url}/api/v1/events", json=body, headers={"Authorization": f"Bearer {token}"}, timeout=60)
            out.append((r.status_code, r.json(), body))


def test_two_collector_processes_on_one_file_store_each_event_once(tmp_path):
    db_path = tmp_path / "collector.db"
    conn = dbmod.open_db(db_path)
    tokens = [add_kiosk(conn, f"k{i}", unit="第一組", window=str(i)) for i in range(KIOSKS)]
    conn.close()
    a = start_server(db_path, "--workers", "2")
    b = start_server(db_path)
    try:
        answers: dict[tuple[int, str], list] = {}
        threads = []
        for k, token in enumerate(tokens):
            events = [make_event(seq) for seq in range(1, BATCHES * PER_BATCH + 1)]
            bodies = [
                make_batch(events[i : i + PER_BATCH], store_id=f"store-{k}") for i in range(0, len(events), PER_BATCH)
            ]
            # The same batches to both collectors at once: one in order, the other backwards, so
            # the two meet on every batch and the watermark has gaps to walk over.
            for side, url, order in (("a", a.url, bodies), ("b", b.url, bodies[::-1])):
                out = answers[(k, side)] = []
                threads.append(threading.Thread(target=_post_all, args=(url, token, order, out)))
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
    finally:
        stop_server(a)
        stop_server(b)

    total = KIOSKS * BATCHES * PER_BATCH
    every = [x for v in answers.values() for x in v]
    assert [s for s, _, _ in every] == [200] * (2 * KIOSKS * BATCHES), every[:2]
    # Each event stored by exactly one of them: the acks' stored counts add up to the table.
    assert sum(ack["stored"] for _, ack, _ in every) == total
    assert all(ack["stored"] + ack["duplicates"] == PER_BATCH for _, ack, _ in every)
    for k in range(KIOSKS):
        # Sent in order, a batch is acknowledged up to its own last seq at least, whoever stored it.
        assert all(ack["acked_seq"] >= body["events"][-1]["seq"] for _, ack, body in answers[(k, "a")])
    check = sqlite3.connect(db_path)
    assert check.execute("SELECT count(*), count(DISTINCT kiosk || ':' || id) FROM events").fetchone() == (
        total,
        total,
    )
    assert check.execute("SELECT sum(n) FROM rollups").fetchone()[0] == total
    assert check.execute("SELECT store_id, acked_seq FROM streams ORDER BY store_id").fetchall() == [
        (f"store-{k}", BATCHES * PER_BATCH) for k in range(KIOSKS)
    ]
    check.close()


def test_the_alert_worker_runs_in_the_process_that_holds_the_election(tmp_path):
    db_path = tmp_path / "collector.db"
    conn = dbmod.open_db(db_path)
    add_kiosk(conn, "w1", unit="第一組", window="1")
    kiosk = kiosk_by_name(conn, "w1")
    now = time.time()
    events = [make_event(i, level=5 if i == 1 else 1, clock=lambda: now) for i in range(1, 21)]
    Ingestor(conn, clock=lambda: now).ingest(kiosk, Batch.model_validate_json(json.dumps(make_batch(events))))
    top = str(conn.execute("SELECT max(pk) FROM events").fetchone()[0])

    def watermark():
        row = conn.execute("SELECT value FROM admin_meta WHERE key = 'alerts_pk'").fetchone()
        return row[0] if row else None

    # Another process's worker holds the election: this one stands by.
    other = os.open(election_path(db_path), os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(other, fcntl.LOCK_EX)
    worker = AlertWorker(db_path, clock=lambda: now, standby_seconds=0.02)
    try:
        wait_until(lambda: worker.standby_checks >= 3, what="the worker to find the election taken, thrice")
        assert not worker.leading
        assert watermark() != top  # it read nothing
        assert conn.execute("SELECT count(*) FROM alerts").fetchone()[0] == 0
        os.close(other)  # that process is gone: the kernel drops its lock
        wait_until(lambda: watermark() == top, what="the standby to take over and read the events")
        assert worker.leading
        assert conn.execute("SELECT count(*) FROM alerts WHERE kind = 'level'").fetchone()[0] == 1
        # While it leads, a second worker on the same file stands by.
        second = AlertWorker(db_path, clock=lambda: now, standby_seconds=0.02)
        try:
            wait_until(lambda: second.standby_checks >= 1, what="the second worker to look at the election")
            assert not second.leading and worker.leading
        finally:
            second.close()
    finally:
        worker.close()
        conn.close()


def test_workers_option():
    assert cli.worker_count("1") == 1
    assert cli.worker_count("3") == 3
    assert cli.worker_count("auto") == max(1, len(os.sched_getaffinity(0)))
    for bad in ("0", "-2", "many"):
        with pytest.raises(cli.click.BadParameter):
            cli.worker_count(bad)


def test_the_dashboard_api_makes_one_trip_through_the_thread_pool(tmp_path, monkeypatch):
    import fastapi.dependencies.utils as dep_utils
    import fastapi.routing as routing

    db_path = tmp_path / "collector.db"
    conn = dbmod.open_db(db_path)
    accounts.add_user(conn, "viewer", "viewer-password-1", "viewer")
    conn.close()
    trips: list[str] = []
    for module in (dep_utils, routing):
        real = module.run_in_threadpool

        async def counted(func, *args, _real=real, **kwargs):
            trips.append(getattr(func, "__name__", repr(func)))
            return await _real(func, *args, **kwargs)

        monkeypatch.setattr(module, "run_in_threadpool", counted)
    with TestClient(create_app(db_path)) as client:
        page = client.get("/admin/login")
        csrf = page.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        client.post(
            "/admin/login",
            data={"username": "viewer", "password": "viewer-password-1", "csrf": csrf, "next": "/admin"},
            follow_redirects=False,
        )
        trips.clear()
        r = client.get("/admin/api/dashboard")
        assert r.status_code == 200, r.text
        assert len(trips) == 1, trips  # the endpoint's own; the session checks run on the loop
        trips.clear()
        client.cookies.set("kc_session", "nobody")
        assert client.get("/admin/api/dashboard").status_code == 401
