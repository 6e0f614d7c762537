"""The collector under a reconnect storm (issue 15, goal 4), decided without timing anything:

* a health check and the dashboard's data API answer while every kiosk's batch waits for the writer
  (the writer's lock held by the test), and the batches are then stored, each once;
* the alert worker reads many stored batches in one round (one write transaction);
* ``serve`` runs uvicorn with httptools and uvloop when they are installed and falls back to h11
  and asyncio when they are not.

bench/bench_storm.py measures the same under 1,000 kiosks."""

from __future__ import annotations

import json
import signal
import socket
import sqlite3
import sys
import threading
import time
from pathlib import Path

import click
import pytest
import requests
import uvicorn
from collector_helpers import make_batch, make_event, start_server
from waiting import wait_until

from server_sync.collector import cli
from server_sync.collector import db as dbmod
from server_sync.collector.admin import accounts
from server_sync.collector.alerts import AlertWorker
from server_sync.collector.api import create_app
from server_sync.collector.auth import add_kiosk, kiosk_by_name
from server_sync.collector.ingest import Ingestor
from server_sync.collector.models import Batch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "admin"))
from adminhelp import login

# Concurrency, locks and processes: nothing in it depends on the date.
pytestmark = pytest.mark.dateless

# More batches than the thread pool has threads (anyio's default is 40): before, each waited in a
# worker thread for the writer lock, and a health check or the dashboard found no thread left.
KIOSKS = 48


class InProcessServer:
    """The collector app under a real uvicorn server in a thread, on a port the OS chose."""

    def __init__(self, db_path: Path):
        self.app = create_app(db_path)
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        config = uvicorn.Config(self.app, log_level="warning", access_log=False, lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def __enter__(self) -> InProcessServer:
        self.thread.start()
        wait_until(lambda: self.server.started, what="the in-process collector to start")
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(30)
        self.sock.close()


def test_health_and_dashboard_answer_while_batches_wait_for_the_writer(tmp_path):
    db_path = tmp_path / "collector.db"
    conn = dbmod.open_db(db_path)
    tokens = [add_kiosk(conn, f"k{i}", unit="第一組", window=str(i)) for i in range(KIOSKS)]
    accounts.add_user(conn, "viewer", "viewer-password-1", "viewer")
    conn.close()
    with InProcessServer(db_path) as srv:
        viewer = login(srv.url, "viewer", "viewer-password-1")
        ingestor = srv.app.state.ingestor
        answers: list = []

        def kiosk(token: str) -> None:
            body = make_batch([make_event(seq) for seq in range(1, 21)], store_id=f"s-{token[:8]}")
            r = requests.post(
                f"{srv.url}/api/v1/events", json=body, headers={"Authorization": f"Bearer {token}"}, timeout=60
            )
            answers.append((r.status_code, r.json()))

        posts = [threading.Thread(target=kiosk, args=(t,)) for t in tokens]
        with ingestor.lock:  # the writer is busy: every batch waits for it
            for t in posts:
                t.start()
            wait_until(lambda: ingestor.waiting() == KIOSKS, what="every batch to wait for the writer")
            health = requests.get(f"{srv.url}/api/v1/health", timeout=30)
            assert health.status_code == 200 and health.json()["ok"] is True
            dashboard = viewer.get(f"{srv.url}/admin/api/dashboard", timeout=30)
            assert dashboard.status_code == 200, dashboard.text
            assert answers == []  # nothing acknowledged before its commit
        for t in posts:
            t.join(60)
    assert [s for s, _ in answers] == [200] * KIOSKS, answers[:3]
    assert all(a["stored"] == 20 and a["duplicates"] == 0 and a["acked_seq"] == 20 for _, a in answers)
    check = sqlite3.connect(db_path)
    assert check.execute("SELECT count(*), count(DISTINCT kiosk || ':' || id) FROM events").fetchone() == (
        20 * KIOSKS,
        20 * KIOSKS,
    )
    assert check.execute("SELECT sum(n) FROM rollups").fetchone()[0] == 20 * KIOSKS
    check.close()


def test_the_alert_worker_reads_many_batches_in_one_round(tmp_path):
    db_path = tmp_path / "collector.db"
    conn = dbmod.open_db(db_path)
    add_kiosk(conn, "w1", unit="第一組", window="1")
    kiosk = kiosk_by_name(conn, "w1")
    # Each write of the alert watermark is one round's transaction.
    conn.execute("CREATE TABLE rounds (pk INTEGER)")
    conn.execute(
        "CREATE TRIGGER count_rounds AFTER UPDATE ON admin_meta WHEN new.key = 'alerts_pk'"
        " BEGIN INSERT INTO rounds VALUES (new.value); END"
    )
    now = time.time()
    gate = threading.Lock()  # stands for the ingest writer's lock, held by a long write
    gate.acquire()
    worker = AlertWorker(db_path, clock=lambda: now, write_lock=gate)
    try:
        ingestor = Ingestor(conn, clock=lambda: now)
        batches = 30
        for b in range(batches):
            events = [make_event(b * 20 + i, level=5 if i == 1 else 1, clock=lambda: now) for i in range(1, 21)]
            body = make_batch(events, clock=lambda: now)
            ingestor.ingest(kiosk, Batch.model_validate_json(json.dumps(body)))
            worker.notify()  # as the API does after every stored batch
        gate.release()
        top = conn.execute("SELECT max(pk) FROM events").fetchone()[0]
        wait_until(
            lambda: conn.execute("SELECT value FROM admin_meta WHERE key = 'alerts_pk'").fetchone()[0] == str(top),
            what="the alert worker to read every batch",
        )
    finally:
        worker.close()
    assert [r[0] for r in conn.execute("SELECT pk FROM rounds")] == [top]  # one round, one transaction
    # Every 非常不滿意 rating alerted once (the default rule).
    assert conn.execute("SELECT count(*) FROM alerts WHERE kind = 'level'").fetchone()[0] == batches
    conn.close()


def test_serve_picks_httptools_and_uvloop_when_installed():
    pytest.importorskip("httptools")
    pytest.importorskip("uvloop")
    assert cli.serving_stack("auto", "auto") == ("httptools", "uvloop")
    assert cli.serving_stack("h11", "asyncio") == ("h11", "asyncio")


def test_serve_falls_back_to_h11_and_asyncio_without_them(monkeypatch):
    monkeypatch.setattr(cli, "_installed", lambda module: False)
    assert cli.serving_stack("auto", "auto") == ("h11", "asyncio")
    with pytest.raises(click.UsageError, match="httptools"):
        cli.serving_stack("httptools", "auto")
    with pytest.raises(click.UsageError, match="uvloop"):
        cli.serving_stack("auto", "uvloop")


def test_the_running_collector_names_its_parser_and_loop(live_server):
    """What uvicorn itself loaded, from the startup line of a real `kiosk-collector serve`."""
    pytest.importorskip("httptools")
    pytest.importorskip("uvloop")
    log = live_server.db_path.with_suffix(".log").read_text()
    assert "(HTTP HttpToolsProtocol, loop uvloop)" in log, log[:500]


def test_serve_stops_cleanly_on_ctrl_c(tmp_path):
    server = start_server(tmp_path / "collector.db")
    server.proc.send_signal(signal.SIGINT)
    assert server.proc.wait(30) == 0
    assert "Aborted" not in (tmp_path / "collector.log").read_text()
