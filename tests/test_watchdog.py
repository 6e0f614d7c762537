"""systemd watchdog: heartbeats come from the UI loop, so a frozen UI stops them.

The freeze is a real one, not a test hook: another process holds SQLite's
write lock while the visitor taps a reason, so the UI thread waits inside
``Store.append`` (up to the busy timeout) while the process stays alive.
"""

from __future__ import annotations

import socket
import sqlite3
import threading
import time

import pytest
from waiting import wait_until
from xvfb import KioskApp, Xvfb, missing_tools

from kiosk.watchdog import Notifier

pytestmark = pytest.mark.dateless

CONFIG = """\
[kiosk]
id = "watchdog-w2"
window = "2"
thanks_seconds = 1

[buttons]
repeat_window = 0.2
"""


class NotifySocket:
    """A stand-in for systemd's end of $NOTIFY_SOCKET: records (time, message)."""

    def __init__(self, path):
        self.path = str(path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.settimeout(0.2)
        self.messages: list[tuple[float, str]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.is_set():
            try:
                data = self.sock.recv(4096)
            except TimeoutError:
                continue
            for line in data.decode().splitlines():
                self.messages.append((time.monotonic(), line))

    def heartbeats(self, start: float, end: float) -> int:
        return sum(1 for t, m in self.messages if m == "WATCHDOG=1" and start <= t <= end)

    def close(self):
        self._stop.set()
        self._thread.join(2)
        self.sock.close()


def test_notifier_follows_systemds_environment(tmp_path):
    listener = NotifySocket(tmp_path / "notify")
    try:
        notifier = Notifier({"NOTIFY_SOCKET": listener.path, "WATCHDOG_USEC": "4000000"})
        assert notifier.enabled and notifier.heartbeat_interval() == 2.0
        notifier.ready()
        notifier.heartbeat()
        deadline = time.monotonic() + 2
        while len(listener.messages) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert [m for _, m in listener.messages] == ["READY=1", "WATCHDOG=1"]
    finally:
        listener.close()
    outside = Notifier({})
    assert not outside.enabled and outside.heartbeat_interval() is None
    outside.heartbeat()  # outside systemd: nothing to send, no error
    other_pid = Notifier({"NOTIFY_SOCKET": "/x", "WATCHDOG_USEC": "1000000", "WATCHDOG_PID": "1"})
    assert other_pid.heartbeat_interval() is None, "the watchdog belongs to another process"


@pytest.mark.gui
@pytest.mark.skipif(bool(missing_tools()), reason=f"needs {', '.join(missing_tools())}")
def test_frozen_ui_loop_stops_the_heartbeats(tmp_path):
    listener = NotifySocket(tmp_path / "notify")
    config = tmp_path / "cfg.toml"
    config.write_text(CONFIG, encoding="utf-8")
    data = tmp_path / "data"
    env = {"NOTIFY_SOCKET": listener.path, "WATCHDOG_USEC": "1000000"}  # a heartbeat every 0.5 s
    try:
        with Xvfb(800, 480) as xvfb, KioskApp(xvfb, data, config, tmp_path / "app.log", env=env) as app:
            app.expect_shown("home", timeout=30)
            deadline = time.monotonic() + 10
            while not any(m == "READY=1" for _, m in listener.messages) and time.monotonic() < deadline:
                time.sleep(0.05)
            assert any(m == "READY=1" for _, m in listener.messages), "no READY=1 after the first frame"
            ready = time.monotonic()
            wait_until(lambda: listener.heartbeats(ready, time.monotonic()) >= 2, 5, "heartbeats from a live UI loop")

            app.key("4")
            app.expect_shown("reasons")
            lock = sqlite3.connect(data / "kiosk.db", isolation_level=None, timeout=1)
            lock.execute("BEGIN EXCLUSIVE")  # another writer holds the file
            try:
                app.click("reason:wait")
                # The tap reaches the UI loop, which now waits for the lock: its heartbeats stop.
                wait_until(
                    lambda: listener.heartbeats(time.monotonic() - 0.8, time.monotonic()) == 0,
                    10,
                    "the heartbeats to stop",
                )
                frozen_from = time.monotonic()
                time.sleep(3)  # an absence is only seen over time: no heartbeat may come in these 3 s
                frozen_to = time.monotonic()
                assert app.proc.poll() is None, "the process is alive; only its UI loop is stuck"
                assert listener.heartbeats(frozen_from, frozen_to) == 0, (
                    "heartbeats continued while the UI loop was frozen"
                )
            finally:
                lock.execute("ROLLBACK")
                lock.close()
            app.expect(r"reason: wait", timeout=15)  # the tap is stored once the lock is gone
            resumed = time.monotonic()
            wait_until(lambda: listener.heartbeats(resumed, time.monotonic()) >= 2, 5, "heartbeats to resume")
            assert app.stop() == 0
        reasons = [e for e in app.events() if e["type"] == "reason"]
        assert [r["reason"] for r in reasons] == ["wait"]
    finally:
        listener.close()
