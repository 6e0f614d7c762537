"""Helpers for the sync tests: a real collector process, kiosk data folders, configs."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests
from processes import stop_process

from kiosk.clock import SimulatedClock
from kiosk.config import validate
from kiosk.store import Store

KIOSK_ID = "sync-w1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def collector_command() -> list[str]:
    """The `kiosk-collector` console script beside this Python, or the module if not installed yet."""
    script = Path(sys.executable).with_name("kiosk-collector")
    if script.exists():
        return [str(script)]
    found = shutil.which("kiosk-collector")
    return [found] if found else [sys.executable, "-m", "server_sync.collector.cli"]


class Collector:
    """A `kiosk-collector serve` process over its own SQLite file."""

    def __init__(self, workdir: Path, port: int | None = None):
        self.workdir = workdir
        self.db = workdir / "collector.db"
        self.port = port or free_port()
        self.proc: subprocess.Popen | None = None
        self.log = workdir / "collector.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def cli(self, *args: str) -> str:
        out = subprocess.run(
            [*collector_command(), *args, "--db", str(self.db)], capture_output=True, text=True, timeout=60
        )
        assert out.returncode == 0, f"kiosk-collector {args} failed: {out.stdout}\n{out.stderr}"
        return out.stdout

    def add_kiosk(self, name: str) -> str:
        return self.cli("add-kiosk", name).strip().splitlines()[-1].strip()

    def events(self) -> list[dict]:
        return [json.loads(line) for line in self.cli("events").splitlines() if line.strip()]

    def start(self, timeout: float = 20.0) -> Collector:
        log = open(self.log, "ab")
        self.proc = subprocess.Popen(
            [
                *collector_command(),
                "serve",
                "--db",
                str(self.db),
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--no-access-log",
                "--log-level",
                "warning",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"collector exited: {self.log.read_text(errors='replace')}")
            try:
                if requests.get(f"{self.url}/api/v1/health", timeout=1).ok:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"collector did not answer: {self.log.read_text(errors='replace')}")

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc)
        self.proc = None


def sync_config(url: str, token: str, **sync):
    return validate({"kiosk": {"id": KIOSK_ID, "window": "1"}, "sync": {"url": url, "token": token, **sync}})


def fill(data_dir: Path, n: int, *, clock=None, kiosk_id: str = KIOSK_ID) -> int:
    """Append n rating events, every fifth followed by a reason; return how many events were stored."""
    clock = clock or SimulatedClock()
    store = Store(data_dir, kiosk_id=kiosk_id, unit="第一組", window="1", clock=clock)
    try:
        for i in range(n):
            clock.advance(7.0)
            event = store.append("rating", level=i % 5 + 1)
            if i % 5 == 4:
                store.append("reason", ref=event.id, level=event.level, detail={"reason": "wait"})
    finally:
        store.close()
    return n + n // 5


def kiosk_ids(data_dir: Path) -> list[str]:
    store = Store(data_dir, kiosk_id=KIOSK_ID)
    try:
        return [e.id for e in store.events()]
    finally:
        store.close()
