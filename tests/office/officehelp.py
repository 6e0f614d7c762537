"""The office's queue host as a real process on loopback, and its devices."""

from __future__ import annotations

import os
import re
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

from click.testing import CliRunner

TESTS = Path(__file__).resolve().parents[1]
for _helpers in (TESTS, TESTS / "queue", TESTS / "sync"):
    if str(_helpers) not in sys.path:
        sys.path.append(str(_helpers))

from processes import stop_process  # noqa: E402
from queuehelp import all_day_directory  # noqa: E402

from kiosk.cli import main as kiosk_cli  # noqa: E402

# Services for an office of many windows: polling-place questions at windows 1-16.
MANY = ";".join(str(w) for w in range(1, 17))


def office_config(tmp: Path, **directory_changes) -> Path:
    directory = all_day_directory(tmp / "services.csv", **directory_changes)
    config = tmp / "host.toml"
    config.write_text(
        f'[kiosk]\nid = "entrance"\nwindow = ""\n[queue]\nrole = "host"\ndirectory = "{directory}"\n'
        'listen = "127.0.0.1:0"\n',
        encoding="utf-8",
    )
    return config


def add_device(config: Path, data_dir: Path, name: str, window: str = "") -> str:
    args = ["host-add-device", "--config", str(config), "--data-dir", str(data_dir), name]
    if window:
        args += ["--window", window]
    result = CliRunner().invoke(kiosk_cli, args)
    assert result.exit_code == 0, result.output
    return result.stdout.strip().splitlines()[0]


class HostProcess:
    """``kiosk host`` started for real; ``url`` once it listens."""

    def __init__(self, config: Path, data_dir: Path):
        self.config, self.data_dir = config, data_dir
        self.proc: subprocess.Popen | None = None
        self.url = ""

    def start(self, port: int = 0) -> HostProcess:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "kiosk",
                "host",
                "--config",
                str(self.config),
                "--data-dir",
                str(self.data_dir),
                "--port",
                str(port),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=env,
        )
        assert self.proc.stdout is not None
        deadline = time.monotonic() + 30
        seen = b""
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.proc.stdout], [], [], 0.5)
            if ready:
                line = self.proc.stdout.readline()
                if not line and self.proc.poll() is not None:
                    break
                seen += line
                m = re.search(rb"listening on (http://[0-9.]+:[0-9]+)/", line)
                if m:
                    self.url = m.group(1).decode()
                    return self
        raise AssertionError(f"the queue host did not start: {seen.decode(errors='replace')}")

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def kill(self) -> None:
        """Power cut: SIGKILL, nothing flushed on the way out."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is None:
            return
        stop_process(self.proc)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
