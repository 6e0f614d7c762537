"""Every acknowledged press survives the kiosk process being killed at any moment.

A child process (tests/crash_child.py) runs the real Kiosk on gpiozero
MockFactory pins with a real data folder and presses buttons in a tight
burst, printing each event id once the kiosk has acknowledged it. The parent
SIGKILLs it at a random moment, then checks that every acknowledged id is in
the database and that the file passes ``PRAGMA integrity_check``. All rounds
share one data folder, so each child also has to recover the WAL its killed
predecessor left behind.

SIGKILL ends the process but not the operating system: whatever SQLite had
written is still in the kernel's page cache and reaches the disk later. This
test therefore proves the commit protocol (nothing acknowledged before
COMMIT returns, nothing half-written after a kill), not survival of a power
cut. For the power cut the store relies on WAL with synchronous=FULL, which
fsyncs the WAL on every commit before COMMIT returns; the child asserts both
pragmas on its own connection before pressing anything.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.dateless

CHILD = Path(__file__).with_name("crash_child.py")
ROUNDS = 60


class Child:
    def __init__(self, data_dir: Path, seed: int):
        self.proc = subprocess.Popen(
            [sys.executable, str(CHILD), str(data_dir), str(seed)], stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        self.raw = b""
        self.ready = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        while chunk := os.read(self.proc.stdout.fileno(), 65536):
            self.raw += chunk
            if b"ready" in self.raw:
                self.ready.set()

    def wait_ready(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not self.ready.wait(0.02):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                return False
        return True

    def wait_acked(self, n: int, timeout: float) -> bool:
        """Until the child has acknowledged ``n`` presses (or died): however slow a loaded machine is."""
        deadline = time.monotonic() + timeout
        while self.raw.count(b"\nack ") < n:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                return False
            time.sleep(0.005)
        return True

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)
        self._reader.join(timeout=30)
        stderr = self.proc.stderr.read().decode(errors="replace")
        self.proc.stdout.close()
        self.proc.stderr.close()
        return stderr

    def lines(self):
        # Only complete lines: a line is one write(), so there are no torn ones, but be strict.
        complete = self.raw[: self.raw.rfind(b"\n") + 1].decode()
        return complete.splitlines()


def read_db(data_dir: Path):
    """Ids and integrity, on a read-only connection so the WAL is left for the next child to recover."""
    conn = sqlite3.connect(f"file:{data_dir / 'kiosk.db'}?mode=ro", uri=True)
    try:
        integrity = conn.execute("PRAGMA integrity_check").fetchone()[0]
        rows = conn.execute("SELECT seq, id FROM events ORDER BY seq").fetchall()
    finally:
        conn.close()
    return integrity, rows


def test_acknowledged_events_survive_sigkill(tmp_path):
    seed = int.from_bytes(os.urandom(4), "big")
    rng = random.Random(seed)
    data_dir = tmp_path / "data"
    acked_all: list[str] = []
    stored_before = 0
    killed_before_ready = killed_while_pressing = 0
    for round_no in range(ROUNDS):
        where = f"round {round_no} (seed {seed})"
        child = Child(data_dir, rng.randrange(1 << 30))
        try:
            if rng.random() < 0.3:
                # Any moment from start-up on: importing, opening, recovering, migrating.
                time.sleep(rng.uniform(0, 0.3))
            else:
                assert child.wait_ready(60), f"{where}: child never got ready: {child.raw!r}"
                # Some presses first, counted rather than timed, then any moment among the next ones.
                assert child.wait_acked(rng.randrange(25), 60), f"{where}: child stopped pressing: {child.raw!r}"
                time.sleep(rng.uniform(0, 0.05))
        finally:
            stderr = child.kill()
        assert child.proc.returncode == -signal.SIGKILL, f"{where}: child exited by itself:\n{stderr}"
        lines = child.lines()
        assert not [x for x in lines if not x.startswith(("ready", "ack "))], f"{where}: {lines}"
        acked = [x.split()[1] for x in lines if x.startswith("ack ")]
        if any(x.startswith("ready") for x in lines):
            killed_while_pressing += 1
        else:
            killed_before_ready += 1
        acked_all += acked
        if not (data_dir / "kiosk.db").exists():
            assert not acked_all, f"{where}: acknowledged events but no database"
            continue
        integrity, rows = read_db(data_dir)
        assert integrity == "ok", f"{where}: {integrity}"
        stored = {event_id for _, event_id in rows}
        missing = [a for a in acked_all if a not in stored]
        assert not missing, f"{where}: {len(missing)} acknowledged events lost: {missing[:5]}"
        # Besides the acknowledged ones, at most the one event in flight when the
        # kill came (committed, acknowledgement not yet written) is new this round.
        assert len(rows) - stored_before - len(acked) in (0, 1), f"{where}: {len(rows)} {stored_before} {len(acked)}"
        stored_before = len(rows)
        assert [seq for seq, _ in rows] == list(range(1, len(rows) + 1)), f"{where}: seq has gaps"

    print(
        f"{ROUNDS} rounds: {killed_before_ready} killed during start-up, "
        f"{killed_while_pressing} while pressing, {len(acked_all)} events acknowledged"
    )
    assert killed_while_pressing >= ROUNDS // 2
    assert len(acked_all) > ROUNDS * 5, "the children hardly pressed anything"
    assert len(set(acked_all)) == len(acked_all)
    assert not list(data_dir.glob("kiosk.db.corrupt-*")), "a killed kiosk left a file it thought corrupt"

    # A normal kiosk start on the folder finds everything.
    from kiosk.store import Store

    store = Store(data_dir, kiosk_id="crash-w1")
    try:
        assert store.recovered_from is None
        ids = {e.id for e in store.events()}
    finally:
        store.close()
    assert set(acked_all) <= ids
