"""Collector test helpers: a real `kiosk-collector serve` process on a free loopback port,
kiosk tokens, and batches shaped as docs/protocol-v1.md describes.

Events and batches are stamped from an injected clock (``clock=``, the real one by default), never
a fixed date: a live collector measures ages against its own "now", whatever day the suite runs on."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import requests

from server_sync.collector import db as dbmod
from server_sync.collector.auth import add_kiosk
from server_sync.wire.tz import OFFICE_TZ

BOOT = "029bd448-0000-4000-8000-000000000001"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def collector_command() -> list[str]:
    exe = shutil.which("kiosk-collector", path=os.path.dirname(sys.executable))
    return [exe] if exe else [sys.executable, "-m", "server_sync.collector.cli"]


@dataclass
class LiveServer:
    url: str
    db_path: Path
    proc: subprocess.Popen

    def new_kiosk(self, name: str | None = None, levels: int = 5, *, unit: str = "", window: str = "") -> str:
        """Create a kiosk straight in the database (the server sees it at once); return its token.
        Without a unit and window it adopts its first batch's."""
        conn = dbmod.open_db(self.db_path)
        try:
            return add_kiosk(conn, name or f"k-{uuid.uuid4().hex[:8]}", levels=levels, unit=unit, window=window)
        finally:
            conn.close()

    def post(self, token: str, body, **kw) -> requests.Response:
        headers = {"Authorization": f"Bearer {token}", **kw.pop("headers", {})}
        if isinstance(body, (bytes, str)):
            return requests.post(f"{self.url}/api/v1/events", data=body, headers=headers, timeout=30, **kw)
        return requests.post(f"{self.url}/api/v1/events", json=body, headers=headers, timeout=30, **kw)


def start_server(db_path: Path, *extra: str) -> LiveServer:
    port = free_port()
    log = open(db_path.with_suffix(".log"), "wb")
    proc = subprocess.Popen(
        [*collector_command(), "serve", "--db", str(db_path), "--port", str(port), "--no-access-log", *extra],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"collector exited: {db_path.with_suffix('.log').read_text()}")
        try:
            if requests.get(f"{url}/api/v1/health", timeout=1).ok:
                return LiveServer(url, db_path, proc)
        except requests.ConnectionError:
            pass
        if time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError("collector did not start within 20 s")
        time.sleep(0.05)


def stop_server(server: LiveServer) -> None:
    server.proc.send_signal(signal.SIGINT)
    try:
        server.proc.wait(10)
    except subprocess.TimeoutExpired:
        server.proc.kill()
        server.proc.wait()


def iso_at(epoch: float) -> str:
    """An epoch as a kiosk writes ``recorded_at``: office time, milliseconds."""
    return datetime.fromtimestamp(epoch, OFFICE_TZ).isoformat(timespec="milliseconds")


def make_event(
    seq: int,
    *,
    level: int | None = 2,
    type: str = "rating",
    boot_id: str = BOOT,
    monotonic: float | None = None,
    recorded_at: str | None = None,
    clock: Callable[[], float] = time.time,
    **extra,
) -> dict:
    ev = {
        "id": str(uuid.uuid4()),
        "seq": seq,
        "type": type,
        "kiosk_id": "w1",
        "unit": "第一組",
        "window": "1",
        "level": level,
        "misuse": False,
        "ref": None,
        "recorded_at": recorded_at or iso_at(clock()),
        "boot_id": boot_id,
        "monotonic": float(seq) if monotonic is None else monotonic,
    }
    ev.update(extra)
    return ev


def make_batch(
    events: list[dict],
    *,
    store_id: str = "store-1",
    boot_id: str = BOOT,
    monotonic: float = 5000.0,
    wall: str | None = None,
    clock: Callable[[], float] = time.time,
    backlog: int = 0,
) -> dict:
    return {
        "store_id": store_id,
        "software_version": "0.1.0",
        "backlog": backlog,
        "clock": {"wall": wall or iso_at(clock()), "boot_id": boot_id, "monotonic": monotonic},
        "events": events,
    }
