"""The collector in a reconnect storm: 1,000 kiosks at once, with a monitor and a dashboard beside them.

    python bench/bench_storm.py [--kiosks 1000] [--events 20] [--interval 5] [--seconds 60]
                                [--saturate-seconds 20] [--variants baseline,h11,new,w2] [--baseline-rev REV]

Loopback only and bounded: every request goes to a collector this script starts on a free
127.0.0.1 port over a fresh database, each kiosk sends a fixed number of pre-built batches,
and every phase has an end. Each kiosk has its own token and its own keep-alive connection.

Two phases, one after the other, on the same server:

1. **storm**: all kiosks connect within the first second and each posts ``--events`` events
   every ``--interval`` seconds (at once again if it fell behind, as a kiosk with a backlog
   does). Meanwhile a monitor asks ``GET /api/v1/health`` ten times a second, each time on a
   new connection, and a logged-in viewer asks ``GET /admin/api/dashboard`` once a second.
2. **saturate**: every kiosk posts its next batch as soon as the last is acknowledged; the
   events acknowledged per second is the collector's ingest throughput.

Printed per variant: health, dashboard and post p50/p99, events/s, errors (any answer but
200, a dropped connection or a 30 s timeout), the stored-count check (the events table holds
exactly the events acknowledged, each once), the collector's CPU and peak RSS; then all
variants side by side. The variants, each on its own fresh database in the same run:

* ``baseline``: the collector as it was at ``--baseline-rev`` (exported with ``git archive``;
  the default is the last commit before this storm work), under uvicorn with h11 and the
  asyncio loop, as it ran before httptools and uvloop were dependencies;
* ``h11``: this tree's collector, ``serve --http h11 --loop asyncio``;
* ``new``: this tree's collector, ``serve`` as installed (httptools and uvloop), one process;
* ``wN`` (``w2``, ``w4`` …): the same with ``serve --workers N``: N processes over the one file.
  The collector's CPU and RSS are then summed over the supervisor and its workers.

The load generator shares the machine's cores with the collector; its own CPU is printed too.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import io
import json
import os
import random
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import tarfile
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The last commit before the storm work: the collector as issue 15 measured it.
BASELINE_REV = "f55bf90"
HEALTH_EVERY = 0.1
DASHBOARD_EVERY = 1.0
TIMEOUT = 30.0
VIEWER = ("storm-viewer", "storm-viewer-password-1")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- the database each variant starts from, made by that variant's own code ----------------------


def setup_db(code: Path, db_path: Path, kiosks: int) -> list[str]:
    """Kiosks (one token each, each its own unit and window) and a viewer account, made with
    the code under test in a child process (the baseline's schema is its own)."""
    out = subprocess.run(
        [sys.executable, __file__, "--setup", str(db_path), "--kiosks", str(kiosks)],
        env={**os.environ, "PYTHONPATH": str(code)},
        cwd=code,
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise SystemExit(f"setup failed: {out.stderr}")
    return json.loads(out.stdout)


def _setup_child(db_path: str, kiosks: int) -> None:
    from server_sync.collector import db as dbmod
    from server_sync.collector.admin import accounts
    from server_sync.collector.auth import add_kiosk

    conn = dbmod.open_db(db_path)
    conn.execute("PRAGMA synchronous=OFF")  # set-up only: the server reopens it with FULL
    tokens = [add_kiosk(conn, f"storm-{i}", unit=f"第{i % 6 + 1}組", window=str(i)) for i in range(kiosks)]
    accounts.add_user(conn, *VIEWER, "viewer")
    conn.close()
    print(json.dumps(tokens))


# -- pre-built batches -------------------------------------------------------------------------


def iso(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch)) + f".{int(epoch % 1 * 1000):03d}+00:00"


def build_bodies(kiosks: int, per_kiosk: int, events: int, seed: int = 15) -> list[list[bytes]]:
    """Each kiosk's gzip'd batches, in order: its own store, boot and seqs, events of the last hour
    (so the alert rules see them), about 3 % of them 非常不滿意."""
    rng = random.Random(seed)
    boot_at = time.time() - 3600
    out = []
    for k in range(kiosks):
        boot, store, seq, bodies = str(uuid.UUID(int=rng.getrandbits(128))), f"store-{k}", 0, []
        for _ in range(per_kiosk):
            evs = []
            for _ in range(events):
                seq += 1
                mono = 60.0 + seq * 0.25
                evs.append(
                    {
                        "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                        "seq": seq,
                        "type": "rating",
                        "kiosk_id": f"w{k}",
                        "level": rng.choices((1, 2, 3, 4, 5), (50, 30, 10, 7, 3))[0],
                        "misuse": False,
                        "ref": None,
                        "recorded_at": iso(boot_at + mono),
                        "boot_id": boot,
                        "monotonic": mono,
                    }
                )
            body = {
                "store_id": store,
                "software_version": "bench-storm",
                "backlog": 0,
                "clock": {"wall": iso(boot_at + mono + 1), "boot_id": boot, "monotonic": mono + 1},
                "events": evs,
            }
            bodies.append(gzip.compress(json.dumps(body).encode(), 5))
        out.append(bodies)
    return out


# -- the servers -----------------------------------------------------------------------------


@dataclass
class Variant:
    name: str
    code: Path
    command: list[str]  # {db} and {port} filled in
    env: dict[str, str] = field(default_factory=dict)


def variants(names: list[str], baseline_code: Path | None) -> list[Variant]:
    serve = [sys.executable, "-m", "server_sync.collector.cli", "serve", "--db", "{db}", "--port", "{port}"]
    quiet = ["--no-access-log", "--log-level", "warning"]
    out = []
    for name in names:
        if name == "baseline":
            assert baseline_code is not None
            out.append(
                Variant(
                    "baseline",
                    baseline_code,
                    [
                        *(sys.executable, "-m", "uvicorn", "--factory", "server_sync.collector.api:app_from_env"),
                        *("--host", "127.0.0.1", "--port", "{port}", "--http", "h11", "--loop", "asyncio", *quiet),
                    ],
                    {"KIOSK_COLLECTOR_DB": "{db}"},
                )
            )
        elif name == "h11":
            out.append(Variant("h11", ROOT, [*serve, "--http", "h11", "--loop", "asyncio", *quiet]))
        elif name == "new":
            out.append(Variant("new", ROOT, [*serve, *quiet]))
        elif re.fullmatch(r"w[1-9][0-9]*", name):
            out.append(Variant(name, ROOT, [*serve, "--workers", name[1:], *quiet]))
        else:
            raise SystemExit(f"unknown variant {name!r}: baseline, h11, new, wN")
    return out


def export_rev(rev: str, into: Path) -> Path:
    """The tree at ``rev`` (its server_sync package only), for the baseline to run from."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev, "server_sync"], capture_output=True, check=True)
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(into, filter="data")
    return into


def start(variant: Variant, db_path: Path, log_path: Path) -> tuple[subprocess.Popen, int]:
    port = free_port()
    fill = {"db": str(db_path), "port": str(port)}
    cmd = [c.format(**fill) for c in variant.command]
    env = {**os.environ, "PYTHONPATH": str(variant.code), **{k: v.format(**fill) for k, v in variant.env.items()}}
    log = open(log_path, "wb")
    proc = subprocess.Popen(cmd, env=env, cwd=variant.code, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{variant.name}: collector exited: {log_path.read_text()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                if s.recv(64).startswith(b"HTTP/1.1 200"):
                    return proc, port
        except OSError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"{variant.name}: collector did not start")


def tree(pid: int) -> list[int]:
    """``pid`` and its descendants (``serve --workers N``: the supervisor and its workers)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        for task in Path(f"/proc/{p}/task").glob("*/children"):
            try:
                todo.extend(int(c) for c in task.read_text().split())
            except OSError:  # gone meanwhile
                pass
    return out


def cpu_seconds(pid: int) -> float:
    total = 0.0
    for p in tree(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def rss_mb(pid: int) -> tuple[float, float]:
    """(current, peak) resident set size in MB, summed over the process tree."""
    now = peak = 0.0
    for p in tree(pid):
        try:
            status = Path(f"/proc/{p}/status").read_text()
        except OSError:
            continue
        kb = {k: int(v.split()[0]) for k, v in re.findall(r"^(VmRSS|VmHWM):\s+(.*)$", status, re.M)}
        now, peak = now + kb["VmRSS"] / 1024, peak + kb["VmHWM"] / 1024
    return now, peak


def login_cookie(port: int) -> str:
    import requests

    s = requests.Session()
    page = s.get(f"http://127.0.0.1:{port}/admin/login", timeout=30)
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    s.post(
        f"http://127.0.0.1:{port}/admin/login",
        data={"username": VIEWER[0], "password": VIEWER[1], "csrf": csrf, "next": "/admin"},
        allow_redirects=False,
        timeout=60,
    )
    if not s.cookies:
        raise SystemExit("could not log in to the dashboard")
    return "; ".join(f"{k}={v}" for k, v in s.cookies.items())


# -- the load: raw HTTP/1.1 on asyncio streams, cheap enough to share the cores ------------------


class Stale(Exception):
    """The server closed an idle keep-alive connection before answering: resend on a new one."""


class Conn:
    def __init__(self, port: int):
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.reconnects = 0

    async def _open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None

    async def request(self, raw: bytes) -> tuple[int, bytes]:
        for attempt in (0, 1):
            fresh = self.writer is None or self.reader is None or self.reader.at_eof()
            if fresh:
                self.close()
                await self._open()
            try:
                return await self._exchange(raw)
            except (Stale, ConnectionResetError, BrokenPipeError):
                self.close()
                if fresh or attempt:
                    raise
                self.reconnects += 1  # as urllib3 does: a dropped idle connection, resent on a new one
        raise AssertionError("unreachable")

    async def _exchange(self, raw: bytes) -> tuple[int, bytes]:
        assert self.reader is not None and self.writer is not None
        self.writer.write(raw)
        try:
            head = await self.reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError as exc:
            if not exc.partial:
                raise Stale() from None
            raise
        status = int(head[9:12])
        m = re.search(rb"(?i)\r\ncontent-length:\s*(\d+)", head)
        body = await self.reader.readexactly(int(m.group(1))) if m else b""
        if re.search(rb"(?i)\r\nconnection:\s*close", head):
            self.close()
        return status, body


@dataclass
class Phase:
    start: float = 0.0
    end: float = 0.0
    posts: list[float] = field(default_factory=list)
    acked_events: int = 0  # stored + duplicates of acks completed inside the phase
    errors: list[str] = field(default_factory=list)
    health: list[float] = field(default_factory=list)
    dashboard: list[float] = field(default_factory=list)
    cpu: float = 0.0


@dataclass
class Tally:
    storm: Phase
    saturate: Phase
    stored: int = 0  # sum of the acks' "stored"
    duplicates: int = 0
    sent_ok: int = 0  # events in batches answered 200
    failed: int = 0  # events in batches not answered 200
    ran_out: int = 0
    reconnects: int = 0

    def phase(self, t: float) -> Phase:
        return self.storm if t < self.storm.end else self.saturate


def post_request(token: str, body: bytes) -> bytes:
    return (
        b"POST /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer "
        + token.encode()
        + b"\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\nContent-Length: "
        + str(len(body)).encode()
        + b"\r\n\r\n"
        + body
    )


async def kiosk(port: int, raws: list[bytes], events: int, offset: float, interval: float, t: Tally) -> None:
    loop = asyncio.get_running_loop()
    conn = Conn(port)
    next_at = t.storm.start + offset
    i = 0
    try:
        while True:
            now = loop.time()
            if now >= t.saturate.end:
                return
            if now < t.storm.end:
                if next_at > now:
                    await asyncio.sleep(next_at - now)
                next_at = max(next_at + interval, loop.time())
            if i == len(raws):
                t.ran_out += 1
                return
            t0 = loop.time()
            try:
                status, data = await asyncio.wait_for(conn.request(raws[i]), TIMEOUT)
            except Exception as exc:  # a dropped connection or a timeout: an error, and a new connection
                conn.close()
                t.phase(t0).errors.append(type(exc).__name__)
                t.failed += events
                i += 1
                continue
            t1 = loop.time()
            i += 1
            phase = t.phase(t0)
            if status != 200:
                phase.errors.append(f"HTTP {status}: {data[:120]!r}")
                t.failed += events
                continue
            ack = json.loads(data)
            t.stored += ack["stored"]
            t.duplicates += ack["duplicates"]
            t.sent_ok += events
            phase.posts.append(t1 - t0)
            if t.saturate.start <= t1 < t.saturate.end:
                t.saturate.acked_events += ack["stored"] + ack["duplicates"]
            elif t1 < t.storm.end:
                t.storm.acked_events += ack["stored"] + ack["duplicates"]
    finally:
        t.reconnects += conn.reconnects
        conn.close()


async def monitor(port: int, t: Tally) -> None:
    """A monitor's health check: a new connection each time, ten times a second."""
    loop = asyncio.get_running_loop()
    raw = b"GET /api/v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    next_at = t.storm.start
    while next_at < t.saturate.end:
        await asyncio.sleep(max(0.0, next_at - loop.time()))
        next_at += HEALTH_EVERY
        t0 = loop.time()
        conn = Conn(port)
        try:
            status, data = await asyncio.wait_for(conn.request(raw), TIMEOUT)
            ok = status == 200 and json.loads(data).get("ok") is True
        except Exception as exc:
            status, ok, data = 0, False, type(exc).__name__.encode()
        finally:
            conn.close()
        phase = t.phase(t0)
        if ok:
            phase.health.append(loop.time() - t0)
        else:
            phase.errors.append(f"health {status}: {data[:80]!r}")


async def dashboard(port: int, cookie: str, t: Tally) -> None:
    """A viewer with the dashboard open: its data API once a second, one keep-alive connection."""
    loop = asyncio.get_running_loop()
    raw = f"GET /admin/api/dashboard HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {cookie}\r\n\r\n".encode()
    conn = Conn(port)
    next_at = t.storm.start
    while next_at < t.saturate.end:
        await asyncio.sleep(max(0.0, next_at - loop.time()))
        t0 = loop.time()
        try:
            status, data = await asyncio.wait_for(conn.request(raw), TIMEOUT)
        except Exception as exc:
            conn.close()
            status, data = 0, type(exc).__name__.encode()
        phase = t.phase(t0)
        if status == 200:
            phase.dashboard.append(loop.time() - t0)
        else:
            phase.errors.append(f"dashboard {status}: {data[:80]!r}")
        next_at = max(next_at + DASHBOARD_EVERY, loop.time())
    conn.close()


async def drive(port: int, pid: int, cookie: str, tokens, bodies, args) -> Tally:
    loop = asyncio.get_running_loop()
    raws = [[post_request(tok, b) for b in bs] for tok, bs in zip(tokens, bodies)]
    t0 = loop.time() + 0.5
    t = Tally(Phase(t0, t0 + args.seconds), Phase(t0 + args.seconds, t0 + args.seconds + args.saturate_seconds))
    rng = random.Random(1)
    offsets = [rng.uniform(0, 1.0) for _ in tokens]  # the whole fleet reconnects within a second
    tasks = [asyncio.create_task(kiosk(port, r, args.events, off, args.interval, t)) for r, off in zip(raws, offsets)]
    tasks += [asyncio.create_task(monitor(port, t)), asyncio.create_task(dashboard(port, cookie, t))]

    async def cpu_marks():
        await asyncio.sleep(t.storm.start - loop.time())
        c0 = cpu_seconds(pid)
        await asyncio.sleep(t.storm.end - loop.time())
        c1 = cpu_seconds(pid)
        await asyncio.sleep(t.saturate.end - loop.time())
        t.storm.cpu, t.saturate.cpu = c1 - c0, cpu_seconds(pid) - c1

    tasks.append(asyncio.create_task(cpu_marks()))
    await asyncio.gather(*tasks)
    return t


# -- figures ---------------------------------------------------------------------------------


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, max(0, round(q * len(values) + 0.5) - 1))]


def ms(values: list[float], q: float) -> str:
    return f"{pct(values, q) * 1000:,.0f}"


def run_variant(v: Variant, tmp: Path, bodies, args) -> dict:
    folder = tmp / v.name
    folder.mkdir()
    db_path = folder / "collector.db"
    tokens = setup_db(v.code, db_path, args.kiosks)
    proc, port = start(v, db_path, folder / "server.log")
    client_cpu0 = time.process_time()
    try:
        cookie = login_cookie(port)
        t = run_loop(drive(port, proc.pid, cookie, tokens, bodies, args))
        rss_now, rss_peak = rss_mb(proc.pid)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    client_cpu = time.process_time() - client_cpu0
    log_tail = (folder / "server.log").read_text(errors="replace").strip().splitlines()[-5:]
    check = sqlite3.connect(db_path)
    in_db = check.execute("SELECT count(*) FROM events").fetchone()[0]
    distinct = check.execute("SELECT count(*) FROM (SELECT DISTINCT kiosk, id FROM events)").fetchone()[0]
    rollup = check.execute("SELECT coalesce(sum(n), 0) FROM rollups").fetchone()[0]
    check.close()
    s, z = t.storm, t.saturate
    errors = s.errors + z.errors
    # Exactly once: the table holds each acknowledged event once and nothing else (a failed batch
    # may or may not have been stored; with no errors that is nothing).
    exact = in_db == distinct == t.stored == rollup and t.duplicates == 0 and (errors or in_db == t.sent_ok)
    r = {
        "health p50 / p99, storm (ms)": f"{ms(s.health, 0.5)} / {ms(s.health, 0.99)}",
        "health p99, saturated (ms)": ms(z.health, 0.99),
        "dashboard API p50 / p99, storm (ms)": f"{ms(s.dashboard, 0.5)} / {ms(s.dashboard, 0.99)}",
        "post p50 / p99, storm (ms)": f"{ms(s.posts, 0.5)} / {ms(s.posts, 0.99)}",
        "events/s, storm": f"{s.acked_events / args.seconds:,.0f} of {args.kiosks * args.events / args.interval:,.0f}",
        "events/s, saturated": f"{z.acked_events / args.saturate_seconds:,.0f}",
        "errors": f"{len(errors)}" + (f" ({', '.join(sorted(set(errors))[:3])})" if errors else ""),
        "stored once (table = acks)": f"{'yes' if exact else 'NO'}: {in_db:,} rows, {t.stored:,} acked",
        "collector CPU, storm (% of a core)": f"{100 * s.cpu / args.seconds:.0f}",
        "collector CPU-ms per 1,000 events, saturated": (
            f"{1000 * 1000 * z.cpu / z.acked_events:.0f}" if z.acked_events else "-"
        ),
        "collector RSS now / peak (MB)": f"{rss_now:.0f} / {rss_peak:.0f}",
        "load generator CPU-s": f"{client_cpu:.1f}",
        "reconnects (idle keep-alive closed)": f"{t.reconnects}",
    }
    if t.ran_out:
        r["kiosks out of batches"] = str(t.ran_out)
    print(f"\n{v.name}:")
    for k, val in r.items():
        print(f"  {k:<46} {val}")
    print("  server log, last lines:", *log_tail, sep="\n    ")
    return r


def run_loop(coro):
    """The load generator on uvloop when it is installed: it costs the shared cores less."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    return uvloop.run(coro)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kiosks", type=int, default=1000)
    ap.add_argument("--events", type=int, default=20, help="events per batch (default 20)")
    ap.add_argument("--interval", type=float, default=5.0, help="seconds between a kiosk's batches (default 5)")
    ap.add_argument("--seconds", type=float, default=60.0, help="length of the storm phase (default 60)")
    ap.add_argument("--saturate-seconds", type=float, default=20.0, help="length of the saturated phase")
    ap.add_argument("--saturate-batches", type=int, default=20, help="batches per kiosk built for saturation")
    ap.add_argument("--variants", default="baseline,new,w2", help="comma-separated: baseline, h11, new, wN")
    ap.add_argument("--baseline-rev", default=BASELINE_REV, help=f"git revision of the baseline ({BASELINE_REV})")
    ap.add_argument("--setup", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.setup:
        return _setup_child(args.setup, args.kiosks)
    names = [n.strip() for n in args.variants.split(",") if n.strip()]
    per_kiosk = int(args.seconds / args.interval) + 2 + args.saturate_batches
    t0 = time.perf_counter()
    bodies = build_bodies(args.kiosks, per_kiosk, args.events)
    print(
        f"{args.kiosks} kiosks × {per_kiosk} batches of {args.events} events built in "
        f"{time.perf_counter() - t0:.1f} s; storm {args.seconds:.0f} s (a batch every {args.interval:g} s), "
        f"then {args.saturate_seconds:.0f} s saturated; {os.cpu_count()} cores shared with the load generator"
    )
    with tempfile.TemporaryDirectory(prefix="bench-storm-") as tmp:
        tmp = Path(tmp)
        base = export_rev(args.baseline_rev, tmp / "baseline-code") if "baseline" in names else None
        results = {v.name: run_variant(v, tmp, bodies, args) for v in variants(names, base)}
    print("\nside by side (goals: health p99 ≤ 200 ms, dashboard p99 ≤ 1,000 ms, 0 errors, ≥ 2× baseline ev/s):")
    keys = list(next(iter(results.values())))
    print(f"  {'':<46} " + " ".join(f"{n:>24}" for n in results))
    for k in keys:
        print(f"  {k:<46} " + " ".join(f"{results[n].get(k, '-'):>24}" for n in results))


if __name__ == "__main__":
    main()
