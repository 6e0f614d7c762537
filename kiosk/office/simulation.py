"""A simulated office on loopback: one queue host and W window kiosks as real processes.

``kiosk simulate --queue-days N --windows W --data-dir D``: for each office day a real
``kiosk host`` (its log in D's host folder, kiosk.office.hub.host_data_dir) and, as
processes of their own (kiosk/office/sim_staff.py), the entrance issuing tickets and the
staff of every window pressing next, recall, no-show and transfer through the window
kiosk's client, each with its own device token (the same code as ``kiosk host-add-device``).
Every process gets the same accelerated clock (``--clock-speed``, ``--clock-start``,
``--clock-epoch``): a day takes seconds. The host is restarted every morning, so each day
also starts by rebuilding the queue and the learned service times from its log.

The office's directory: the configured one ([queue] directory), else the bundled one with
its windows spread over 1..W so that every line is served by two windows (one window: all
at window 1).

Afterwards ``kiosk events --data-dir D`` prints the host's log (D holds no kiosk log of its
own), each ``ticket_called`` naming the window that called it.
"""

from __future__ import annotations

import json
import os
import re
import select
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

import requests

from kiosk import estimate
from kiosk.clock import AcceleratedClock
from kiosk.config import Config
from kiosk.directory import bundled_rows, write_rows
from kiosk.office import devices
from kiosk.office.hub import host_data_dir
from kiosk.office.sim_baseline import fixed_pairs
from kiosk.queue_sim import OPEN, office_days
from kiosk.store import Store
from server_sync.wire.events import Event
from server_sync.wire.tz import OFFICE_TZ

DEFAULT_SPEED = 2400.0  # simulated seconds per real second: an office day in about 15 s
EARLY = timedelta(minutes=20)  # the day's clock starts this long before opening
# Real seconds the processes get to start before the clock runs: at first this, then 1.5 times the
# slowest start seen (a loaded machine starts them slower), so no process begins the day late.
STARTUP = 3.0
QUIET_POLL = 0.05  # real seconds between looks at the host's state once the entrance is done


@dataclass
class OfficeDay:
    day: date
    issued: int = 0
    refused: int = 0
    calls: dict[str, int] = field(default_factory=dict)  # window → numbers called there (first calls)
    served: int = 0
    no_shows: int = 0
    transfers: int = 0
    recalls: int = 0


@dataclass
class OfficeResult:
    windows: int
    days: list[OfficeDay]
    learned: estimate.Accuracy
    fixed: estimate.Accuracy

    def totals(self) -> dict[str, int]:
        keys = ("issued", "refused", "served", "no_shows", "transfers", "recalls")
        out = {k: sum(getattr(d, k) for d in self.days) for k in keys}
        out["calls"] = sum(sum(d.calls.values()) for d in self.days)
        return out


def office_directory(path: Path, windows: int, *, spread: int = 2, hours: str | None = None) -> Path:
    """The bundled directory with each service's line at ``spread`` neighbouring windows of
    1..``windows``; ``hours``: the same opening hours for every service ("mon-sun 00:00-24:00")."""
    rows = bundled_rows()
    for i, row in enumerate(rows):
        at = sorted({(i + k) % windows + 1 for k in range(min(spread, windows))})
        row["windows"] = ";".join(str(w) for w in at)
        if hours:
            row["hours"] = hours
    return write_rows(path, rows)


def host_config(path: Path, config: Config, directory: Path) -> Path:
    """The host's config: this office's names, the directory, loopback on any free port."""
    path.write_text(
        "[kiosk]\n"
        f"id = {json.dumps(config['kiosk.id'] or 'office-host')}\n"
        'window = ""\n'
        f"unit = {json.dumps(config['kiosk.unit'])}\n"
        f"office = {json.dumps(config['kiosk.office'])}\n"
        f"office_en = {json.dumps(config['kiosk.office_en'])}\n"
        "[queue]\n"
        'role = "host"\n'
        f"directory = {json.dumps(str(directory))}\n"
        'listen = "127.0.0.1:0"\n'
        f"no_show_after_calls = {config['queue.no_show_after_calls']}\n",
        encoding="utf-8",
    )
    return path


def add_devices(data_dir: Path, kiosk_id: str, windows: int) -> dict[str, str]:
    """A token per window and one for the entrance, as `kiosk host-add-device` makes them; names carry
    a run id, so a second simulation into the same folder adds its own."""
    run = uuid.uuid4().hex[:6]
    store = Store(host_data_dir(data_dir), kiosk_id=kiosk_id)
    conn = store.side_connection()
    try:
        devices.ensure_table(conn)
        tokens = {str(w): devices.add(conn, f"sim-{run}-window-{w}", str(w)) for w in range(1, windows + 1)}
        tokens["entrance"] = devices.add(conn, f"sim-{run}-entrance", "")
    finally:
        conn.close()
        store.close()
    return tokens


class HostRun:
    """``kiosk host`` as a real process on a free loopback port; ``url`` once it listens."""

    def __init__(self, config: Path, data_dir: Path, clock_args: list[str] | None = None):
        self.config, self.data_dir, self.clock_args = config, data_dir, clock_args or []
        self.proc: subprocess.Popen | None = None
        self.url = ""
        self.log: deque[str] = deque(maxlen=200)  # its last lines, for a failure's message

    def start(self, timeout: float = 30.0) -> HostRun:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "kiosk", "host", "--config", str(self.config), "--data-dir", str(self.data_dir)]
            + ["--port", "0", *self.clock_args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        assert self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        seen = b""
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.proc.stdout], [], [], 0.5)
            if not ready:
                continue
            line = self.proc.stdout.readline()
            if not line and self.proc.poll() is not None:
                break
            seen += line
            found = re.search(rb"listening on (http://[0-9.]+:[0-9]+)/", line)
            if found:
                self.url = found.group(1).decode()
                # Keep reading its log (a line per ticket and call): a full pipe would stop the host.
                threading.Thread(target=self._drain, daemon=True).start()
                return self
        self.stop()
        raise RuntimeError(f"叫號主機未啟動 the queue host did not start: {seen.decode(errors='replace')}")

    def _drain(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        try:
            for line in self.proc.stdout:
                self.log.append(line.decode(errors="replace"))
        except (OSError, ValueError):  # closed by stop()
            pass

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self.proc.stdout is not None:
            self.proc.stdout.close()


def clock_args(start: datetime, speed: float, epoch: float) -> list[str]:
    return [
        "--clock-start",
        start.isoformat(timespec="seconds"),
        "--clock-speed",
        str(speed),
        "--clock-epoch",
        repr(epoch),
    ]


def quiet(url: str) -> bool:
    """Nobody waits and no window serves: nothing more can happen in the office today."""
    state = requests.get(url + "/office/v1/state", timeout=(2, 10)).json()
    return not any(s["waiting"] for s in state["services"]) and not any(w["ticket"] for w in state["windows"])


def simulate_office(
    config: Config,
    data_dir: Path,
    days: int,
    windows: int,
    *,
    seed: int | None = None,
    speed: float = DEFAULT_SPEED,
    end: date | None = None,
    progress: Callable[[int], None] = lambda step: None,
) -> OfficeResult:
    """Run ``days`` office days of ``windows`` windows into ``data_dir``; return what happened."""
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    seed = seed if seed is not None else int.from_bytes(os.urandom(4), "big")
    end = end or datetime.now(OFFICE_TZ).date()
    configured = config["queue.directory"]
    directory = Path(configured) if configured else office_directory(data_dir / "office-services.csv", windows)
    host_toml = host_config(data_dir / "office-host.toml", config, directory)
    tokens = add_devices(data_dir, config["kiosk.id"] or "office-host", windows)
    store_before = _event_count(data_dir)
    results = []
    startup = [STARTUP]
    for day in office_days(days, end):
        results.append(_one_day(host_toml, data_dir, directory, tokens, windows, seed, speed, day, startup))
        progress(1)
    events = _events(data_dir, after=store_before)
    return OfficeResult(
        windows, results, estimate.accuracy_of_events(events), estimate.accuracy(fixed_pairs(events, directory))
    )


def _event_count(data_dir: Path) -> int:
    store = Store(host_data_dir(data_dir), kiosk_id="office-host")
    try:
        return store.count()
    finally:
        store.close()


def _events(data_dir: Path, *, after: int) -> list[Event]:
    store = Store(host_data_dir(data_dir), kiosk_id="office-host")
    try:
        return list(store.events(after_seq=after))
    finally:
        store.close()


def _one_day(
    host_toml: Path,
    data_dir: Path,
    directory: Path,
    tokens: dict[str, str],
    windows: int,
    seed: int,
    speed: float,
    day: date,
    startup: list[float],
) -> OfficeDay:
    """One day: the processes started, the entrance run to its last ticket, the office left to empty
    its lines, then everyone stopped. ``startup``: the margin before the clock runs (updated)."""
    start = datetime.combine(day, OPEN, tzinfo=OFFICE_TZ) - EARLY
    began = time.time()
    epoch = began + startup[0]
    args = clock_args(start, speed, epoch)
    clock = AcceleratedClock(start, speed, epoch=epoch)  # the one every process of the day follows
    before = _event_count(data_dir)
    staff: dict[str, subprocess.Popen] = {}
    host = HostRun(host_toml, data_dir, args)
    try:
        common = ["--host", host.url, "--directory", str(directory), "--seed", str(seed), "--day", str(day), *args]

        def spawn(role: str, token: str, *extra: str) -> subprocess.Popen:
            return subprocess.Popen(
                [sys.executable, "-m", "kiosk.office.sim_staff", role, *common, *extra],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
                env={**os.environ, "KIOSK_HOST_TOKEN": token},
            )

        host.start()
        common[1] = host.url
        for w in range(1, windows + 1):
            staff[str(w)] = spawn("window", tokens[str(w)], "--window", str(w))
        entrance = spawn("entrance", tokens["entrance"], "--windows", str(windows))
        for proc in [*staff.values(), entrance]:
            assert proc.stdout is not None
            if proc.stdout.readline().strip() != "ready":
                raise RuntimeError("模擬程序未啟動 a simulated window did not start")
        slowest = time.time() - began
        startup[0] = min(max(1.0, 1.5 * slowest + 0.2), 30.0)
        out, _ = entrance.communicate()
        if entrance.returncode != 0:
            raise RuntimeError(f"入口取號程序失敗 the entrance process failed ({entrance.returncode})")
        tally = json.loads(out.strip().splitlines()[-1])
        while not quiet(host.url):
            if any(p.poll() is not None for p in staff.values()):
                raise RuntimeError("窗口程序提前結束 a window process ended early")
            time.sleep(QUIET_POLL)
        if clock.now().astimezone(OFFICE_TZ).date() != day:
            # At midnight the host starts a new day (and is quiet at once), leaving what was open as it stood.
            raise RuntimeError(
                f"模擬跟不上時鐘 the simulated day ran past midnight before its lines emptied: the processes "
                f"are too slow for --speed {speed:g} here; try a lower one"
            )
        result = OfficeDay(day, issued=tally["issued"], refused=tally["refused"])
        for name, proc in staff.items():
            out, _ = proc.communicate("")  # end of its input: the office is closed
            if proc.returncode != 0:
                raise RuntimeError(f"{name} 號窗口程序失敗 window {name}'s process failed ({proc.returncode})")
            t = json.loads(out.strip().splitlines()[-1])
            result.calls[name] = t["calls"]
            result.served += t["served"]
            result.no_shows += t["no_shows"]
            result.transfers += t["transfers"]
            result.recalls += t["recalls"]
    finally:
        for proc in staff.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait(5)
        host.stop()
    if _event_count(data_dir) == before and result.issued:
        raise RuntimeError("叫號主機沒有記錄 the host stored nothing")
    return result


def report_lines(result: OfficeResult, data_dir: Path) -> list[str]:
    """What `kiosk simulate --queue-days N --windows W` prints."""
    t = result.totals()
    first, last = result.days[0].day, result.days[-1].day
    per_window: dict[str, int] = {}
    for d in result.days:
        for w, n in d.calls.items():
            per_window[w] = per_window.get(w, 0) + n
    calls = ", ".join(f"{w}: {n}" for w, n in sorted(per_window.items(), key=lambda kv: (len(kv[0]), kv[0])))
    return [
        f"已模擬 simulated {len(result.days)} office days ({first} to {last}) of {result.windows} windows and one "
        f"queue host: {t['issued']} tickets, {t['refused']} refused (closed), {t['calls']} calls ({calls}), "
        f"{t['served']} served, {t['transfers']} transfers, {t['no_shows']} no-shows, {t['recalls']} recalls",
        f"等候預估 wait estimate (n={result.learned.n}): learned, pooled over each line's windows, MAE "
        f"{result.learned.mae_seconds / 60:.1f} min, {result.learned.in_band:.0%} inside the band shown; "
        f"fixed average (ZMS) MAE {result.fixed.mae_seconds / 60:.1f} min, {result.fixed.in_band:.0%} inside its band",
        f"叫號主機紀錄 the host's log: kiosk events --data-dir {data_dir}",
    ]
