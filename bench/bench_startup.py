"""Cold start of the touchscreen to its first drawn frame, and its peak memory.

Runs ``python -m kiosk run --demo`` several times in a private Xvfb with
KIOSK_REPORT_FIRST_FRAME=1 (the app prints ``first-frame SECONDS``, measured
from its own process start in /proc), reads the process's peak RSS (VmHWM)
once the home screen is up, stops it with SIGTERM, and prints p50 and max.

    python bench/bench_startup.py [--runs 5] [--size 800x480]

Targets: first frame under 2 s, peak RSS under 150 MB.
"""

from __future__ import annotations

import argparse
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

TARGET_SECONDS = 2.0
TARGET_MB = 150.0


# A bare Kivy window (one empty widget) under the same X server and GL driver:
# the floor the app's own memory sits on. Under Xvfb, Mesa's llvmpipe software
# renderer alone accounts for most of it; a Pi's GPU driver needs far less.
BARE_WINDOW = """
import os
os.environ.update(KIVY_NO_ARGS="1", KIVY_NO_CONFIG="1", KIVY_LOG_MODE="PYTHON")
from kivy.config import Config
Config.set("graphics", "width", os.environ["BENCH_W"]); Config.set("graphics", "height", os.environ["BENCH_H"])
from kivy.app import App
from kivy.clock import Clock
from kivy.uix.widget import Widget
class Bare(App):
    def build(self):
        Clock.schedule_once(lambda dt: self.stop(), 1.5)
        return Widget()
    def on_stop(self):
        status = open("/proc/self/status").read().splitlines()
        print(*[l for l in status if l.startswith(("VmHWM", "RssAnon"))], sep="\\n", flush=True)
Bare().run()
"""


def proc_status_mb(pid: int) -> dict[str, float]:
    """VmHWM (peak RSS) and RssAnon (private memory now) of a running process, in MB."""
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key = line.split(":")[0]
        if key in ("VmHWM", "RssAnon"):
            out[key] = int(line.split()[1]) / 1024
    return out


def bare_window_mb(display: str, width: int, height: int, work: Path) -> dict[str, float]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KIVY_", "SDL_"))}
    env.update({"DISPLAY": display, "BENCH_W": str(width), "BENCH_H": str(height)})
    script = work / "bare_window.py"  # Kivy's App wants a file it can find its .kv beside
    script.write_text(BARE_WINDOW, encoding="utf-8")
    out = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=60).stdout
    return {line.split(":")[0]: int(line.split()[1]) / 1024 for line in out.splitlines() if ":" in line}


def one_run(display: str, size: str, work: Path, n: int) -> dict[str, float]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KIVY_", "SDL_", "KIOSK_"))}
    env.update({"DISPLAY": display, "KIOSK_REPORT_FIRST_FRAME": "1", "PYTHONUNBUFFERED": "1"})
    log_path = work / f"run{n}.log"
    with open(log_path, "wb") as log:
        spawned = time.monotonic()
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "kiosk",
                "run",
                "--demo",
                "--size",
                size,
                "--data-dir",
                str(work / "data"),
                "--config",
                str(work / "cfg.toml"),
            ],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=log,
            stdin=subprocess.DEVNULL,
        )
        try:
            line, deadline = b"", time.monotonic() + 60
            while not line.startswith(b"first-frame "):
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError(f"no first frame (exit {proc.poll()}); see {log_path}")
                if select.select([proc.stdout], [], [], 1)[0]:
                    line = proc.stdout.readline()
            seen = time.monotonic() - spawned
            reported = float(line.split()[1])
            time.sleep(1.0)  # let the home screen settle before reading the peak
            memory = proc_status_mb(proc.pid)
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    return {"first_frame": reported, "spawn_to_line": seen, "peak_mb": memory["VmHWM"], "anon_mb": memory["RssAnon"]}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--size", default="800x480")
    args = parser.parse_args(argv)
    if missing_tools():
        print(f"needs {', '.join(missing_tools())}", file=sys.stderr)
        return 2
    width, height = (int(v) for v in args.size.split("x"))
    results = []
    with tempfile.TemporaryDirectory(prefix="kiosk-bench-") as tmp, Xvfb(width, height) as xvfb:
        work = Path(tmp)
        (work / "cfg.toml").write_text('[kiosk]\nid = "bench-w1"\n', encoding="utf-8")
        for n in range(1, args.runs + 1):
            r = one_run(xvfb.display, args.size, work, n)
            results.append(r)
            print(
                f"run {n}: first frame {r['first_frame']:.3f} s after process start "
                f"(spawn to report {r['spawn_to_line']:.3f} s), peak RSS {r['peak_mb']:.1f} MB "
                f"(private {r['anon_mb']:.1f} MB)",
                flush=True,
            )
        bare = bare_window_mb(xvfb.display, width, height, work)

    def summary(key):
        values = [r[key] for r in results]
        return statistics.median(values), max(values)

    ff50, ffmax = summary("first_frame")
    sp50, spmax = summary("spawn_to_line")
    mb50, mbmax = summary("peak_mb")
    print(f"first frame   p50 {ff50:.3f} s  max {ffmax:.3f} s   (target < {TARGET_SECONDS} s)")
    print(f"spawn→report  p50 {sp50:.3f} s  max {spmax:.3f} s")
    an50, _ = summary("anon_mb")
    print(f"peak RSS      p50 {mb50:.1f} MB  max {mbmax:.1f} MB  (target < {TARGET_MB:.0f} MB)")
    print(f"private RSS   p50 {an50:.1f} MB (anonymous memory once home is up)")
    if bare:
        print(
            f"bare Kivy window on this display: peak RSS {bare.get('VmHWM', 0):.1f} MB, "
            f"private {bare.get('RssAnon', 0):.1f} MB; the kiosk adds {mb50 - bare.get('VmHWM', 0):.1f} MB"
        )
    print(
        f"first frame: {'within' if ffmax < TARGET_SECONDS else 'OVER'} target; "
        f"peak RSS: {'within' if mbmax < TARGET_MB else 'OVER'} target"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
