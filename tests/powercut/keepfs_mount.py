"""Mounting keepfs (keepfs.py) for one power-on, and cutting the power under it."""

from __future__ import annotations

import importlib
import os
import select
import shutil
import subprocess
import sys
import time
from pathlib import Path

SERVER = Path(__file__).with_name("keepfs.py")


def fuse_missing() -> str:
    """Why this machine cannot mount the file system, or "" if it can."""
    if os.geteuid() != 0:
        return "the power-cut test mounts FUSE and needs root"
    if not os.path.exists("/dev/fuse"):
        return "no /dev/fuse"
    if shutil.which("fusermount3") is None:
        return "no fusermount3 (apt-get install fuse3)"
    try:
        importlib.import_module("mfusepy")  # loads libfuse itself, as the server will
    except (ImportError, OSError) as exc:
        return f"mfusepy or libfuse3 missing: {exc}"
    return ""


class Mount:
    """``KeepFS`` over ``backing`` mounted at ``mountpoint`` for one power-on of the machine."""

    def __init__(self, backing: Path, mountpoint: Path, grave: Path):
        self.backing, self.mountpoint, self.grave = backing, mountpoint, grave
        self.proc: subprocess.Popen | None = None
        self.undone = ""
        self.log = backing.parent / "keepfs.log"

    def __enter__(self) -> Mount:
        for folder in (self.backing, self.mountpoint, self.grave):
            folder.mkdir(parents=True, exist_ok=True)
        # Its log goes to a file: a pipe nobody reads while the kiosk runs could fill and stall it.
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, str(SERVER), str(self.backing), str(self.mountpoint), str(self.grave)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
            )
        try:
            self._expect("mounted")
        except BaseException:
            self.__exit__()
            raise
        return self

    def _expect(self, word: str, timeout: float = 15) -> str:
        deadline = time.monotonic() + timeout
        line = b""
        while not line.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.proc.stdout], [], [], left)[0]:
                raise RuntimeError(f"keepfs did not say {word!r} within {timeout} s")
            chunk = os.read(self.proc.stdout.fileno(), 1)
            if not chunk:
                raise RuntimeError(f"keepfs exited ({self.proc.poll()}): {self._log_tail()}")
            line += chunk
        text = line.decode().strip()
        if not text.startswith(word):
            raise RuntimeError(f"keepfs said {text!r}, expected {word!r}")
        return text

    def _tell(self, command: str) -> None:
        self.proc.stdin.write(command.encode() + b"\n")
        self.proc.stdin.flush()

    def freeze(self) -> None:
        """From now on nothing reaches the disk: the instant the power goes."""
        self._tell("freeze")
        self._expect("frozen")

    def cut(self) -> str:
        """Drop every change not made durable (after freeze, with the writer dead)."""
        self._tell("cut")
        self.undone = self._expect("undone").partition(" ")[2]
        return self.undone

    def __exit__(self, *exc) -> None:
        if self.proc is None:
            return
        proc, self.proc = self.proc, None
        unmount = subprocess.run(["fusermount3", "-u", str(self.mountpoint)], capture_output=True, text=True)
        try:
            proc.wait(15)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            # Never leave a dead mount behind for the next power-on (or pytest's clean-up).
            subprocess.run(["fusermount3", "-uz", str(self.mountpoint)], capture_output=True)
            proc.stdin.close()
            proc.stdout.close()
        if proc.returncode != 0 and not (exc and exc[0] is not None):  # else that error says more
            raise RuntimeError(f"keepfs ended with {proc.returncode} ({unmount.stderr.strip()}): {self._log_tail()}")

    def _log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-2000:]
