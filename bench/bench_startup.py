"""The kiosk's start-up CPU, memory and idle CPU, each beside an empty Kivy window.

Runs ``python -m kiosk run --demo`` in a private Xvfb, and in the same X server
a bare Kivy app (one empty widget, the same window size, providers and maxfps the
kiosk sets): the floor the kiosk's own cost sits on. Mesa's llvmpipe software
renderer accounts for most of that floor; a Pi's GPU driver needs far less.

Figures (issue 15, goals 1 to 3):
- CPU-seconds from spawn to the first drawn frame (the app prints ``first-frame
  SECONDS cpu CPU`` with KIOSK_REPORT_FIRST_FRAME=1, from getrusage at the frame), warm
  font cache (p50 of --runs) and once with an empty cache (its own XDG_CACHE_HOME).
- Peak RSS (VmHWM) at the first frame (home only) and once every screen is built
  (``screens: all built``), minus the bare window's. Goal 1 is judged on the second,
  "every screen": the app builds every screen after the first frame and keeps them, so
  that is what it holds all day. Beside it, the RSS a few seconds later (transient
  blocks handed back) and, as a note, what the same bare window costs once it draws one
  label: Mesa's llvmpipe allocates per draw call, which a Pi's GPU driver does not.
- CPU-seconds over --idle seconds on the idle home screen (from /proc/PID/stat, every
  thread), scaled to 30 s, beside the bare window idling as long.

    python bench/bench_startup.py [--runs 3] [--size 800x480] [--idle 30]

CPU-seconds, not wall time: this machine is shared and wall time is noisy; a Pi 4
core is roughly 4-6 times slower than one here. Nothing here is a test assertion.
"""

from __future__ import annotations

import argparse
import json
import os
import select
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from xvfb import Xvfb, missing_tools  # noqa: E402

GOAL_MB = 40.0  # above the bare window
GOAL_CPU = 1.0  # CPU-s to the first frame
GOAL_COLD = 1.0  # CPU-s an empty font cache may add
GOAL_IDLE = 0.15  # CPU-s per 30 s idle on home
# Issue 15's figures before this work (same machine, 800x480): +80 MB, 1.9 CPU-s (4.2 with an
# empty font cache), 1.25 CPU-s a minute idle.
BEFORE = {"mb": 80.0, "cpu": 1.9, "cold": 4.2, "idle30": 0.625}

BARE_WINDOW = """
import json, os, resource, sys, time
os.environ.update(KIVY_NO_ARGS="1", KIVY_NO_CONFIG="1", KIVY_LOG_MODE="PYTHON", KIVY_WINDOW="sdl2",
                  KIVY_IMAGE="sdl2", KIVY_TEXT="sdl2", KIVY_AUDIO="sdl2")
from kivy.config import Config
Config.set("graphics", "width", os.environ["BENCH_W"]); Config.set("graphics", "height", os.environ["BENCH_H"])
Config.set("graphics", "maxfps", "30")
from kivy.app import App
from kivy.clock import Clock
from kivy.core.window import Window
from kivy.uix.widget import Widget

def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime

def hwm(key="VmHWM"):
    return next(int(l.split()[1]) / 1024 for l in open("/proc/self/status") if l.startswith(key))

def rss():
    return hwm("VmRSS")

class Bare(App):
    out = {}
    def build(self):
        Window.bind(on_flip=self.first)
        if os.environ.get("BENCH_LABEL"):
            from kivy.uix.label import Label
            return Label(text="Very satisfied", font_size=24)
        return Widget()
    def first(self, *_):
        Window.unbind(on_flip=self.first)
        self.out.update(cpu=cpu(), mb=hwm())
        Clock.schedule_once(self.idle_from, 3)
    def idle_from(self, _dt):
        start = cpu()
        Clock.schedule_once(lambda dt: self.idle_to(start), float(os.environ["BENCH_IDLE"]))
    def idle_to(self, start):
        self.out.update(idle=cpu() - start, mb_later=hwm(), rss_later=rss())
        print(json.dumps(self.out), flush=True)
        self.stop()
Bare().run()
"""


def status_mb(pid: int, key: str = "VmHWM") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    raise KeyError(key)


def cpu_seconds(pid: int) -> float:
    """utime + stime of every thread of ``pid`` so far."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def clean_env(display: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KIVY_", "SDL_", "KIOSK_"))}
    env.update({"DISPLAY": display, "PYTHONUNBUFFERED": "1"})
    return env


def bare_window(display: str, width: int, height: int, idle: float, work: Path, *, label: bool = False) -> dict:
    env = clean_env(display)
    env.update({"BENCH_W": str(width), "BENCH_H": str(height), "BENCH_IDLE": str(idle)})
    if label:
        env["BENCH_LABEL"] = "1"
    script = work / "bare_window.py"  # Kivy's App wants a file it can find its .kv beside
    script.write_text(BARE_WINDOW, encoding="utf-8")
    out = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=idle + 90)
    return json.loads(next(line for line in out.stdout.splitlines() if line.startswith("{")))


def wait_for_line(stream, prefix: bytes, proc, deadline: float) -> bytes:
    while True:
        if time.monotonic() > deadline or proc.poll() is not None:
            raise RuntimeError(f"no {prefix!r} (exit {proc.poll()})")
        if select.select([stream], [], [], 0.5)[0]:
            line = stream.readline()
            if line.startswith(prefix):
                return line


def wait_for_log(path: Path, text: str, proc, deadline: float) -> None:
    while text not in path.read_text(encoding="utf-8", errors="replace"):
        if time.monotonic() > deadline or proc.poll() is not None:
            raise RuntimeError(f"no {text!r} in {path} (exit {proc.poll()})")
        time.sleep(0.1)


def kiosk_run(display: str, size: str, work: Path, n: int, *, idle: float = 0.0, cache: Path | None = None) -> dict:
    env = clean_env(display)
    env["KIOSK_REPORT_FIRST_FRAME"] = "1"
    if cache is not None:
        env["XDG_CACHE_HOME"] = str(cache)  # an empty font (and Kivy) cache
    log_path = work / f"run{n}.log"
    data, cfg = work / "data", work / "cfg.toml"
    cmd = [
        sys.executable,
        "-m",
        "kiosk",
        "run",
        "--demo",
        "--size",
        size,
        "--data-dir",
        str(data),
        "--config",
        str(cfg),
    ]
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 120
            line = wait_for_line(proc.stdout, b"first-frame ", proc, deadline).split()
            result = {"age": float(line[1]), "cpu": float(line[3]), "mb": status_mb(proc.pid)}
            wait_for_log(log_path, "screens: all built", proc, deadline)
            time.sleep(3.0)  # past the frame rate's linger: the loop is idle now
            result["mb_all"] = status_mb(proc.pid)
            result["rss_all"] = status_mb(proc.pid, "VmRSS")
            if idle:
                start = cpu_seconds(proc.pid)
                time.sleep(idle)
                result["idle"] = cpu_seconds(proc.pid) - start
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--size", default="800x480")
    parser.add_argument("--idle", type=float, default=30.0, help="seconds of idle home screen to measure")
    args = parser.parse_args(argv)
    if missing_tools():
        print(f"needs {', '.join(missing_tools())}", file=sys.stderr)
        return 2
    width, height = (int(v) for v in args.size.split("x"))
    with tempfile.TemporaryDirectory(prefix="kiosk-bench-") as tmp, Xvfb(width, height) as xvfb:
        work = Path(tmp)
        (work / "cfg.toml").write_text('[kiosk]\nid = "bench-w1"\n', encoding="utf-8")
        kiosk_run(xvfb.display, args.size, work, 0)  # warm-up: the font cache and the data file exist after it
        runs = []
        for n in range(1, args.runs + 1):
            runs.append(kiosk_run(xvfb.display, args.size, work, n, idle=args.idle if n == 1 else 0.0))
            r = runs[-1]
            print(
                f"run {n}: first frame at {r['cpu']:.3f} CPU-s ({r['age']:.3f} s wall), "
                f"peak RSS {r['mb']:.1f} MB at home, {r['mb_all']:.1f} MB with every screen built",
                flush=True,
            )
        cold = kiosk_run(xvfb.display, args.size, work, 99, cache=work / "empty-cache")
        bare = bare_window(xvfb.display, width, height, args.idle, work)
        drawn = bare_window(xvfb.display, width, height, 1.0, work, label=True)

    cpu = statistics.median(r["cpu"] for r in runs)
    mb = statistics.median(r["mb"] for r in runs)
    mb_all = statistics.median(r["mb_all"] for r in runs)
    rss_all = statistics.median(r["rss_all"] for r in runs)
    idle30 = runs[0]["idle"] * 30 / args.idle
    bare_idle30 = bare["idle"] * 30 / args.idle
    rows = [
        ("CPU-s to the first frame", f"{cpu:.2f}", f"{bare['cpu']:.2f}", f"{cpu:.2f}", f"<= {GOAL_CPU}", BEFORE["cpu"]),
        (
            "  empty font cache adds",
            f"{cold['cpu']:.2f}",
            "",
            f"+{cold['cpu'] - cpu:.2f}",
            f"<= +{GOAL_COLD}",
            f"+{BEFORE['cold'] - BEFORE['cpu']:.1f}",
        ),
        ("peak RSS MB, home", f"{mb:.1f}", f"{bare['mb']:.1f}", f"+{mb - bare['mb']:.1f}", f"<= +{GOAL_MB:.0f}", ""),
        (
            "peak RSS MB, every screen",
            f"{mb_all:.1f}",
            f"{bare['mb_later']:.1f}",
            f"+{mb_all - bare['mb_later']:.1f}",
            f"<= +{GOAL_MB:.0f}",
            f"+{BEFORE['mb']:.0f}",
        ),
        (
            "  RSS MB a moment later",
            f"{rss_all:.1f}",
            f"{bare['rss_later']:.1f}",
            f"+{rss_all - bare['rss_later']:.1f}",
            "",
            "",
        ),
        (
            "idle CPU-s per 30 s",
            f"{idle30:.3f}",
            f"{bare_idle30:.3f}",
            f"{idle30:.3f}",
            f"<= {GOAL_IDLE}",
            BEFORE["idle30"],
        ),
    ]
    print(f"\n{'figure':28s} {'kiosk':>8s} {'bare':>8s} {'figure':>8s} {'goal':>9s} {'before':>7s}")
    for name, ours, base, figure, goal, before in rows:
        print(f"{name:28s} {ours:>8s} {base:>8s} {figure:>8s} {goal:>9s} {before!s:>7s}")
    wall = statistics.median(r["age"] for r in runs)
    print(
        f"(bare: an empty Kivy window at {args.size}, maxfps 30, same Xvfb; kiosk wall time to first frame {wall:.2f} s)"
    )
    print(
        f"(goal 1 is the 'every screen' row; the bare window drawing one label peaks at {drawn['mb_later']:.1f} MB, "
        f"+{drawn['mb_later'] - bare['mb_later']:.1f}: llvmpipe's cost of drawing at all)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
