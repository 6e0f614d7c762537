"""The idle main loop sleeps inside SDL and wakes for what needs it (kiosk/ui/loop_sleep.py).

A small Kivy app in a real window under Xvfb installs LoopSleep with the idle "rate" the
kiosk uses (one wake a minute when nothing is scheduled). Each step waits until the loop is
asleep, then ends the sleep one way: a callback scheduled from another thread (how a stored
button press or a queue call reaches the screen), a key in the window, a touch read by a
kernel input provider's thread (a Pi's panel), or a timer coming due. Had the wake not worked,
the loop would sleep on for a minute and the step's deadline here (20 s) would fail it.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading

import pytest
from processes import stop_process
from xvfb import REPO, Xvfb, needs_x

from kiosk.ui.shared_libraries import loaded_library

PROBE = r"""
import collections, faulthandler, json, signal, sys, threading, time
faulthandler.register(signal.SIGUSR1, all_threads=True)
from kivy.config import Config
Config.set("graphics", "width", "320")
Config.set("graphics", "height", "200")
from kivy.app import App
from kivy.clock import Clock
from kivy.core.window import Window
from kivy.input.factory import MotionEventFactory
from kivy.input.provider import MotionEventProvider
from kivy.uix.widget import Widget
from kiosk.ui.frame_rate import SLEEPING_IDLE_FPS
from kiosk.ui.loop_sleep import LoopSleep, waking_providers


class KernelTouches(MotionEventProvider):
    # Stands in for Kivy's hidinput/mtdev: its own thread fills ``queue``, the loop empties it.
    def start(self):
        self.queue = collections.deque()
    def update(self, dispatch_fn):
        while self.queue:
            PROBE_APP.step("provider", item=self.queue.popleft())


MotionEventFactory.register("hidinput", KernelTouches)  # replaced in turn by its waking subclass
waking_providers.register(MotionEventFactory)
WakingTouches = MotionEventFactory.get("hidinput")


def say(**fields):
    print(json.dumps(fields), flush=True)


class Probe(App):
    def build(self):
        return Widget()

    def on_start(self):
        self.sleep = LoopSleep.install(Clock)
        say(installed=self.sleep is not None, waking=WakingTouches.__name__)
        if self.sleep is None:
            self.stop()
            return
        waking_providers.sleep = self.sleep
        self.touches = WakingTouches("touches", "")
        self.touches.start()
        from kivy.base import EventLoop
        EventLoop.add_input_provider(self.touches)
        Clock._max_fps = SLEEPING_IDLE_FPS  # idle from here on, as FrameRate leaves it
        Window.bind(on_key_down=lambda *a: self.step("key", key=a[1]))
        threading.Thread(target=self.script, daemon=True).start()

    def asleep(self, name):
        deadline = time.monotonic() + 15
        while not self.sleep.asleep:
            if time.monotonic() > deadline:
                say(stuck=name, sleeps=self.sleep.sleeps, woken=self.sleep.woken, fps=Clock._max_fps,
                    events=[(repr(e.callback), e.timeout) for e in Clock.get_events()])
                deadline += 15
            time.sleep(0.01)
        self.before = (self.sleep.sleeps, self.sleep.woken)
        say(asleep=name)

    def step(self, name, **fields):
        sleeps, woken = self.sleep.sleeps - self.before[0], self.sleep.woken - self.before[1]
        say(step=name, sleeps=sleeps, woken=woken, **fields)
        self.done.set()

    def script(self):
        self.done = threading.Event()
        for name in ("thread", "provider", "timer", "key"):
            self.done.clear()
            self.asleep(name)
            if name == "thread":
                Clock.schedule_once(lambda dt: self.step("thread"))
            elif name == "provider":
                self.touches.queue.append(("begin", "a touch"))
            elif name == "timer":
                Clock.schedule_once(lambda dt: self.asleep_then_timer())
            self.done.wait(30)
        Clock.schedule_once(lambda dt: self.stop())

    def asleep_then_timer(self):
        # On the loop's thread, so no wake-up is pushed: only the timeout ends the sleep.
        self.before = None
        Clock.schedule_once(lambda dt: self.step("timer"), 0.3)
        self.before = (self.sleep.sleeps, self.sleep.woken)


PROBE_APP = Probe()
PROBE_APP.run()
"""


class Lines:
    """The probe's JSON lines, read on a thread: select() on a buffered pipe misses a second
    line already read into the buffer with the first."""

    def __init__(self, proc):
        self.proc, self.queue = proc, queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            if line.startswith("{"):
                self.queue.put(json.loads(line))
        self.queue.put(None)

    def next(self, what: str, within: float = 20) -> dict:
        try:
            got = self.queue.get(timeout=within)
        except queue.Empty:
            self.proc.send_signal(signal.SIGUSR1)  # its threads' stacks, to stderr
            got = "nothing"
        if isinstance(got, dict):
            return got
        stop_process(self.proc, grace=5)
        raise AssertionError(
            f"{what}: {got or 'exit'} within {within} s; the probe said {self.proc.stderr.read()[-3000:]}"
        )


@pytest.mark.gui
@needs_x
def test_the_sleeping_loop_wakes_for_a_thread_a_key_a_kernel_touch_and_a_timer(tmp_path):
    script = tmp_path / "probe.py"
    script.write_text(PROBE, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KIVY_", "SDL_"))}
    env.update({"KIVY_NO_ARGS": "1", "KIVY_NO_CONFIG": "1", "KIVY_NO_FILELOG": "1", "KIVY_WINDOW": "sdl2"})
    with Xvfb(320, 200) as xvfb:
        env["DISPLAY"] = xvfb.display
        proc = subprocess.Popen(
            [sys.executable, str(script)], cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        try:
            lines = Lines(proc)
            first = lines.next("start", within=60)
            assert first == {"installed": True, "waking": "WakingKernelTouches"}
            steps = {}
            for name in ("thread", "provider", "timer", "key"):
                assert lines.next(f"asleep before {name}") == {"asleep": name}
                if name == "key":
                    wid = subprocess.run(
                        ["xdotool", "search", "--sync", "--pid", str(proc.pid)],
                        env=env,
                        capture_output=True,
                        text=True,
                        timeout=15,
                        check=True,
                    ).stdout.split()[-1]
                    subprocess.run(["xdotool", "windowfocus", "--sync", wid], env=env, check=True, timeout=10)
                    subprocess.run(["xdotool", "key", "a"], env=env, check=True, timeout=10)
                step = lines.next(f"woken by {name}")
                while step.get("step") != name:  # the window's focus may arrive as a key first: skip it
                    step = lines.next(f"woken by {name}")
                steps[name] = step
            assert proc.wait(20) == 0
        finally:
            stop_process(proc, grace=5)
    # Woken: the sleep ended early (SDL had an event) and the loop did not spin meanwhile.
    for name in ("thread", "key", "provider"):
        assert steps[name]["woken"] >= 1 and steps[name]["sleeps"] <= 3, steps[name]
    assert steps["provider"]["item"] == ["begin", "a touch"]
    # The timer: the sleep ran to the timer's time, nothing woke it.
    assert steps["timer"]["woken"] == 0 and 1 <= steps["timer"]["sleeps"] <= 3, steps["timer"]


def test_it_finds_kivys_own_sdl_and_not_its_image_mixer_or_ttf(tmp_path):
    maps = tmp_path / "maps"
    lib = "/venv/lib/python3.11/site-packages/Kivy.libs"
    maps.write_text(
        f"7f00-7f01 r-xp 00000000 08:01 11 {lib}/libSDL2_image-2-94bd047c.0.so.0.800.2\n"
        f"7f01-7f02 r-xp 00000000 08:01 12 {lib}/libSDL2_ttf-2-df2c5903.0.so.0.2200.0\n"
        f"7f02-7f03 r-xp 00000000 08:01 13 {lib}/libSDL2-2-d9872e50.0.so.0.3000.7\n"
    )
    assert loaded_library("libSDL2-2", maps) == f"{lib}/libSDL2-2-d9872e50.0.so.0.3000.7"
    maps.write_text("7f00-7f01 r-xp 00000000 08:01 11 /usr/lib/aarch64-linux-gnu/libSDL2-2.0.so.0.2600.5\n")
    assert loaded_library("libSDL2-2", maps) == "/usr/lib/aarch64-linux-gnu/libSDL2-2.0.so.0.2600.5"
