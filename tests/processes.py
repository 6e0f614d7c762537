"""Ending a process a test started, as systemd stops a service: SIGTERM, SIGKILL if it lingers."""

from __future__ import annotations

import subprocess


def stop_process(proc: subprocess.Popen, grace: float = 10) -> int:
    """SIGTERM ``proc`` if it still runs, SIGKILL after ``grace`` s; its exit code."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
    return proc.returncode
