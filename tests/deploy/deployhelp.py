"""What the deploy tests ask of the installed product once it runs: its home screen drawn, its pages served.

The installed commands run in a chroot (test_install.py) or a fresh venv (test_wheel.py); either way
the test holds their process and log, and waits on what the log or loopback HTTP says.
"""

from __future__ import annotations

import socket
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

from waiting import wait_until


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url: str) -> tuple[int, str, str] | None:
    """(status, content type, body), or None while nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.headers.get("content-type", ""), response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("content-type", ""), exc.read().decode(errors="replace")
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return None


def wait_for_home(proc: subprocess.Popen, log: Path, timeout: float) -> None:
    """Until the kiosk's log says its home screen is drawn; AssertionError at once if it exits first."""

    def home_shown():
        text = log.read_text(encoding="utf-8", errors="replace")
        assert proc.poll() is None, f"the installed kiosk exited ({proc.returncode}):\n{text[-4000:]}"
        return "shown: home" in text

    wait_until(home_shown, timeout=timeout, what="the installed kiosk to draw its home screen")


def wait_for_health(
    proc: subprocess.Popen, base: str, log: Path, timeout: float = 60, path: str = "/api/v1/health"
) -> None:
    """Until the server at ``base`` answers its health check (the collector's unless ``path`` says
    otherwise); AssertionError at once if it exits first."""

    def health():
        assert proc.poll() is None, f"the installed server exited ({proc.returncode}):\n{log.read_text()[-4000:]}"
        return http_get(f"{base}{path}")

    wait_until(health, timeout=timeout, what=f"the installed server to answer {path}")
