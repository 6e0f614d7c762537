"""Helpers for driving the real kiosk app in a private Xvfb: used by the GUI tests and bench/.

``Xvfb`` starts an X server on a free display (``-displayfd``); ``KioskApp``
starts ``python -m kiosk run --demo`` on it, reads its log to know which screen
is showing and where the touch targets are, and drives it with xdotool.
``needs_x``, ``screen_fixture`` and ``docs_shot`` are what every GUI test module
would otherwise write again: the skip without the X tools, an Xvfb per panel
size, and a screenshot kept for the README.
"""

from __future__ import annotations

import os
import re
import select
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image, ImageStat
from processes import stop_process

REPO = Path(__file__).resolve().parents[1]
TOOLS = ("Xvfb", "xdotool", "import")
MIN_TARGET_PX = 60  # about 9 mm on a 7" 800x480 panel
SHOTS = REPO / "test-output" / "screenshots"
DOCS_SHOTS = REPO / "docs" / "screenshots"


def missing_tools() -> list[str]:
    return [tool for tool in TOOLS if shutil.which(tool) is None]


needs_x = pytest.mark.skipif(
    bool(missing_tools()), reason=f"needs {', '.join(missing_tools())} (apt-get install xvfb xdotool imagemagick)"
)


def screen_fixture(sizes: list[str]):
    """A fixture (assign it to ``screen`` in a test module) yielding a private Xvfb at each of
    ``sizes`` ("800x480") in turn, its screen exactly the panel size being tested."""

    @pytest.fixture(params=sizes)
    def screen(request):
        width, height = (int(v) for v in request.param.split("x"))
        with Xvfb(width, height) as xvfb:
            yield xvfb

    return screen


def check_targets(app: KioskApp, *expected: str) -> None:
    """The screen last seen by ``expect_shown`` has the ``expected`` touch targets, and every
    one of its targets is at least MIN_TARGET_PX square and on the screen."""
    for name in expected:
        assert name in app.layout, f"touch target {name} missing; have {sorted(app.layout)}"
    for name, (x, y, w, h) in app.layout.items():
        assert w >= MIN_TARGET_PX and h >= MIN_TARGET_PX, f"{name} is only {w}x{h} px"
        assert 0 <= x < app.xvfb.width and 0 <= y < app.xvfb.height, f"{name} off screen at {x},{y}"


def docs_shot(app: KioskApp, name: str, *, settle: float, not_blank: bool = True) -> Path:
    """The app's screen as test-output/screenshots/<size>/<name>.png, copied for the README to
    docs/screenshots/<name>-<size>.png; ``not_blank``: first check it is not a near-uniform grey."""
    path = app.screenshot(SHOTS / app.size / f"{name}.png", settle=settle)
    if not_blank:
        with Image.open(path) as image:
            assert ImageStat.Stat(image.convert("L")).stddev[0] > 20, f"{name} is nearly blank"
    DOCS_SHOTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(path, DOCS_SHOTS / f"{name}-{app.size}.png")
    return path


class Xvfb:
    """A private X server; ``display`` is like ":3"."""

    def __init__(self, width: int, height: int):
        self.width, self.height = width, height
        self.display = ""
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> Xvfb:
        read_fd, write_fd = os.pipe()
        self.proc = subprocess.Popen(
            [
                "Xvfb",
                "-displayfd",
                str(write_fd),
                "-screen",
                "0",
                f"{self.width}x{self.height}x24",
                "-nolisten",
                "tcp",
                "-noreset",
            ],
            pass_fds=(write_fd,),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(write_fd)
        number = b""
        deadline = time.monotonic() + 15
        try:
            while not number.endswith(b"\n"):
                left = deadline - time.monotonic()
                if left <= 0 or not select.select([read_fd], [], [], left)[0]:
                    raise RuntimeError("Xvfb did not report a display within 15 s")
                chunk = os.read(read_fd, 16)
                if not chunk:
                    raise RuntimeError(f"Xvfb exited (code {self.proc.poll()}) before reporting a display")
                number += chunk
        except BaseException:
            self.__exit__()
            raise
        finally:
            os.close(read_fd)
        self.display = f":{number.decode().strip()}"
        return self

    def __exit__(self, *exc) -> None:
        if self.proc is not None:
            stop_process(self.proc, grace=5)


class KioskApp:
    """``python -m kiosk run --demo`` in an Xvfb, driven with xdotool.

    Its log (stdout and stderr) goes to ``log_path``; ``expect`` reads it
    forward from where the last match ended, so repeated lines are told apart.
    """

    def __init__(
        self, xvfb: Xvfb, data_dir: Path, config_path: Path, log_path: Path, *, env: dict[str, str] | None = None
    ):
        self.xvfb = xvfb
        self.size = f"{xvfb.width}x{xvfb.height}"
        self.data_dir, self.config_path, self.log_path = data_dir, config_path, log_path
        self.extra_env = env or {}
        self.proc: subprocess.Popen | None = None
        self.started_at = 0.0
        self._cursor = 0
        self._window_id = ""
        self.layout: dict[str, tuple[int, int, int, int]] = {}

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("KIVY_", "SDL_", "KIOSK_"))}
        env.pop("WAYLAND_DISPLAY", None)
        env.update({"DISPLAY": self.xvfb.display, "KIOSK_LOG_LAYOUT": "1", "PYTHONUNBUFFERED": "1"})
        env.update(self.extra_env)
        return env

    def __enter__(self) -> KioskApp:
        self._log = open(self.log_path, "wb")
        self.started_at = time.monotonic()
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "kiosk",
                "run",
                "--demo",
                "--size",
                self.size,
                "--data-dir",
                str(self.data_dir),
                "--config",
                str(self.config_path),
            ],
            cwd=REPO,
            env=self.env(),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self, timeout: float = 10) -> int | None:
        """SIGTERM, as systemd would; the app closes its store and exits."""
        if self.proc is None:
            return None
        code = stop_process(self.proc, grace=timeout)
        self._log.close()
        return code

    # -- reading the log ---------------------------------------------------------
    def log_text(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def expect(self, pattern: str, timeout: float = 15) -> re.Match:
        """Wait for the next log line matching ``pattern`` after the previous match."""
        regex = re.compile(pattern, re.MULTILINE)
        deadline = time.monotonic() + timeout
        while True:
            text = self.log_text()
            match = regex.search(text, self._cursor)
            if match:
                self._cursor = match.end()
                return match
            if self.proc.poll() is not None:
                raise AssertionError(
                    f"app exited with {self.proc.returncode} waiting for {pattern!r}:\n" + text[-4000:]
                )
            if time.monotonic() > deadline:
                raise AssertionError(f"no {pattern!r} within {timeout} s; log tail:\n" + text[-4000:])
            time.sleep(0.05)

    def expect_shown(self, screen: str, lang: str = r"\S+", timeout: float = 15) -> str:
        """Wait until ``screen`` has been drawn; remember its touch targets."""
        match = self.expect(rf"^.*shown: {screen} ({lang})\n", timeout)
        # The app logs a screen's layout lines just before its "shown:" line.
        self.layout = {}
        for line in reversed(self.log_text()[: match.start()].splitlines()):
            found = re.search(r"layout: (\S+) (\S+) (-?\d+) (-?\d+) (\d+) (\d+)$", line)
            if not found or found.group(1) != screen:
                break
            self.layout[found.group(2)] = tuple(int(v) for v in found.groups()[2:])
        return match.group(1)

    # -- driving ---------------------------------------------------------------------
    def window_id(self) -> str:
        deadline = time.monotonic() + 15
        while not self._window_id:
            found = subprocess.run(
                ["xdotool", "search", "--pid", str(self.proc.pid)],
                env=self._x_env(),
                capture_output=True,
                text=True,
                timeout=10,
            ).stdout.split()
            if found:
                self._window_id = found[-1]
            elif time.monotonic() > deadline:
                raise AssertionError("the app's window did not appear within 15 s")
            else:
                time.sleep(0.1)
        return self._window_id

    def _x_env(self) -> dict[str, str]:
        return {**os.environ, "DISPLAY": self.xvfb.display}

    def xdotool(self, *args: str, timeout: float = 10) -> str:
        return subprocess.run(
            ["xdotool", *args], env=self._x_env(), check=True, capture_output=True, text=True, timeout=timeout
        ).stdout

    def key(self, key: str) -> None:
        """Press a key in the app's window (demo: 1-5 press the rating buttons)."""
        wid = self.window_id()
        self.xdotool("windowfocus", "--sync", wid)
        self.xdotool("key", "--clearmodifiers", key)

    def click(self, target: str) -> None:
        """Tap the touch target named ``target`` on the screen last seen by expect_shown."""
        if target not in self.layout:
            raise AssertionError(f"no touch target {target!r}; known: {sorted(self.layout)}")
        x, y, _w, _h = self.layout[target]
        self.xdotool("mousemove", "--window", self.window_id(), str(x), str(y), "click", "1")

    def screenshot(self, path: Path, *, settle: float = 0.2) -> Path:
        """The whole X screen (the app's window fills it) as a PNG; ``settle`` lets a tapped button pop back up."""
        path.parent.mkdir(parents=True, exist_ok=True)
        time.sleep(settle)
        grab = subprocess.run(
            ["import", "-display", self.xvfb.display, "-window", "root", str(path)],
            capture_output=True,
            text=True,
            timeout=20,
        )
        if grab.returncode != 0:
            raise AssertionError(f"screenshot {path} failed (import exit {grab.returncode}): {grab.stderr.strip()}")
        return path

    def events(self) -> list[dict]:
        """Stored events, through `kiosk events`."""
        import json

        out = subprocess.run(
            [
                sys.executable,
                "-m",
                "kiosk",
                "events",
                "--data-dir",
                str(self.data_dir),
                "--config",
                str(self.config_path),
            ],
            cwd=REPO,
            check=True,
            capture_output=True,
            text=True,
            timeout=30,
        ).stdout
        return [json.loads(line) for line in out.splitlines() if line.strip()]
