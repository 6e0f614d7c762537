"""`./dev.sh demo`: the kiosk with simulated buttons and a local collector, end to end."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest
import requests
from waiting import wait_until
from xvfb import REPO, Xvfb, missing_tools


def _child_pid(parent: int, timeout: float = 30) -> int:
    """The kiosk process the demo started (the one with a window)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        out = subprocess.run(["ps", "-o", "pid=,args=", "--ppid", str(parent)], capture_output=True, text=True).stdout
        for line in out.splitlines():
            pid, args = line.strip().split(" ", 1)
            if "kiosk run --demo" in args:
                return int(pid)
        time.sleep(0.1)
    raise AssertionError("the demo did not start the kiosk")


@pytest.mark.gui
@pytest.mark.skipif(bool(missing_tools()), reason=f"needs {', '.join(missing_tools())}")
def test_demo_records_a_press_and_syncs_it_to_its_collector(tmp_path):
    folder = tmp_path / "demo"
    log = open(tmp_path / "demo.log", "wb")
    with Xvfb(800, 480) as xvfb:
        env = {**os.environ, "DISPLAY": xvfb.display, "PYTHONUNBUFFERED": "1"}
        demo = subprocess.Popen(
            [sys.executable, "-m", "kiosk.demo", "--folder", str(folder)],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        try:
            kiosk = _child_pid(demo.pid)
            deadline = time.monotonic() + 30
            window = ""
            while not window and time.monotonic() < deadline:
                found = subprocess.run(
                    ["xdotool", "search", "--pid", str(kiosk)], env=env, capture_output=True, text=True
                ).stdout.split()
                window = found[-1] if found else ""
                time.sleep(0.2)
            assert window, "no kiosk window"
            wait_until(lambda: b"shown: home" in (tmp_path / "demo.log").read_bytes(), 30, "the home screen drawn")
            subprocess.run(["xdotool", "windowfocus", "--sync", window], env=env, check=True)
            subprocess.run(["xdotool", "key", "2"], env=env, check=True)  # 滿意, through the mock pins

            stored = []
            deadline = time.monotonic() + 40  # the demo syncs every 10 s
            while not stored and time.monotonic() < deadline:
                out = subprocess.run(
                    [
                        sys.executable,
                        "-m",
                        "server_sync.collector",
                        "events",
                        "--db",
                        str(folder / "collector.db"),
                        "--type",
                        "rating",
                    ],
                    cwd=REPO,
                    capture_output=True,
                    text=True,
                ).stdout
                stored = [json.loads(line) for line in out.splitlines() if line.strip()]
                time.sleep(0.5)
            assert [(e["level"], e["kiosk"]) for e in stored] == [(2, "demo-w1")]
            # The demo's collector hands its kiosk the bundled service directory.
            port = re.search(rb"collector: http://127.0.0.1:(\d+)/", (tmp_path / "demo.log").read_bytes())
            token = (folder / "demo-kiosk.token").read_text().strip()
            services = requests.get(
                f"http://127.0.0.1:{int(port.group(1))}/api/v1/services",
                headers={"Authorization": f"Bearer {token}"},
                timeout=10,
            ).json()
            assert services["revision"] >= 1 and len(services["services"]) >= 8
            os.kill(kiosk, signal.SIGTERM)  # as closing the window would
            assert demo.wait(20) == 0
        finally:
            if demo.poll() is None:
                demo.send_signal(signal.SIGINT)
                demo.wait(20)
            log.close()
    text = (tmp_path / "demo.log").read_text(errors="replace")
    assert "Traceback" not in text, text[-3000:]
    # A second start reuses the registered kiosk and its token.
    assert (folder / "demo-kiosk.token").read_text().strip()
