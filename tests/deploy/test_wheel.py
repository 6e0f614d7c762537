"""The product as installed: the wheel built from this tree, in fresh venvs, run from elsewhere.

The wheel is built once per session from a copy of the tree (what git tracks plus new
files it does not ignore), then installed twice: as ``[collector]`` and as ``[kiosk]``.
Each venv runs its installed commands with the checkout out of reach (another working
directory, no PYTHONPATH), so a file missing from the package or a dependency in the
wrong extra fails here as it would on an office's server or Pi.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from deployhelp import free_port, http_get, wait_for_health, wait_for_home
from processes import stop_process
from xvfb import Xvfb

from server_sync.extras import missing_message

REPO = Path(__file__).resolve().parents[2]
VERSION = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
KIOSK_MODULES = ("kivy", "gpiozero", "escpos")  # fontTools comes with WeasyPrint too
COLLECTOR_MODULES = ("fastapi", "uvicorn", "starlette", "jinja2", "weasyprint")

pytestmark = pytest.mark.slow


@dataclass(frozen=True)
class Venv:
    root: Path
    home: Path  # the working directory its commands run in: not the checkout

    def bin(self, name: str) -> str:
        return str(self.root / "bin" / name)

    def env(self, **extra: str) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME") and not k.startswith(("KIOSK_", "KIVY_", "SDL_"))
        }
        env["PATH"] = f"{self.root / 'bin'}{os.pathsep}{env.get('PATH', '')}"
        env.update(extra)
        return env

    def run(self, *cmd: str, timeout: float = 300, **env: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [self.bin(cmd[0]), *cmd[1:]],
            cwd=self.home,
            env=self.env(**env),
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )

    def importable(self, modules: tuple[str, ...]) -> list[str]:
        code = (
            "import importlib.util, json, sys; "
            "print(json.dumps([m for m in sys.argv[1:] if importlib.util.find_spec(m)]))"
        )
        return json.loads(self.run("python", "-c", code, *modules).stdout)


def _source_files() -> list[str]:
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout.decode()
    return [name for name in listed.split("\0") if name and (REPO / name).is_file()]


@pytest.fixture(scope="session")
def wheel(tmp_path_factory) -> Path:
    """counter-kiosk's wheel, built from a copy so no build/ or egg-info of the checkout leaks in."""
    src = tmp_path_factory.mktemp("wheel-src")
    for name in _source_files():
        dest = src / name
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, dest)
    out = tmp_path_factory.mktemp("wheel")
    built = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "-q",
            "--disable-pip-version-check",
            "-w",
            str(out),
            str(src),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    (found,) = out.glob("counter_kiosk-*.whl")
    return found


@pytest.fixture(scope="session")
def venvs(wheel, tmp_path_factory) -> dict[str, Venv]:
    """Fresh venvs with the wheel as [collector], as [kiosk] and as [host] (the office's queue host),
    installed side by side."""
    made, installs = {}, {}
    for extra in ("collector", "kiosk", "host"):
        base = tmp_path_factory.mktemp(f"venv-{extra}")
        venv = Venv(base / "venv", base / "home")
        venv.home.mkdir()
        subprocess.run([sys.executable, "-m", "venv", str(venv.root)], check=True, timeout=120)
        installs[extra] = subprocess.Popen(
            [venv.bin("pip"), "install", "-q", "--disable-pip-version-check", f"{wheel}[{extra}]"],
            cwd=venv.home,
            env=venv.env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        made[extra] = venv
    for extra, proc in installs.items():
        out, _ = proc.communicate(timeout=1200)
        assert proc.returncode == 0, f"pip install [{extra}] failed:\n{out[-4000:]}"
    return made


def test_the_wheel_holds_every_data_file_of_the_tree(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    wanted = set()
    for name in _source_files():
        top, _, rest = name.partition("/")
        if top == "assets":
            wanted.add(f"kiosk/assets/{rest}")
        elif top in ("kiosk", "server_sync"):
            wanted.add(name)
    assert not wanted - names, f"missing from the wheel: {sorted(wanted - names)}"
    assert {
        "kiosk/assets/chime.wav",
        "kiosk/assets/services.zh-TW.csv",
        "kiosk/assets/kiosk.example.toml",
        "kiosk/ui/screens/home.kv",
        "server_sync/collector/admin/static/admin.css",
    } <= names


def test_each_venv_holds_only_its_part(venvs):
    assert venvs["collector"].importable(KIOSK_MODULES) == [], "the collector must install no kiosk packages"
    assert venvs["kiosk"].importable(COLLECTOR_MODULES) == [], "the kiosk must install no collector packages"
    # The queue host serves HTTP (FastAPI, uvicorn) but none of the collector's pages or exports.
    assert venvs["host"].importable(("jinja2", "weasyprint", "argon2", "openpyxl")) == []
    # And the code they run is the installed copy, not this checkout.
    for venv in venvs.values():
        where = venv.run("python", "-c", "import kiosk, server_sync; print(kiosk.__file__, server_sync.__file__)")
        assert str(REPO) not in where.stdout and str(venv.root) in where.stdout, where.stdout


def test_a_missing_extra_names_the_fix_both_ways(venvs):
    no_kiosk = venvs["collector"].run("kiosk", "simulate", "--queue-days", "1")
    assert no_kiosk.returncode == 1
    assert no_kiosk.stderr.splitlines() == [missing_message("kiosk")], no_kiosk.stderr
    no_collector = venvs["kiosk"].run("kiosk-collector", "serve")
    assert no_collector.returncode == 1
    assert no_collector.stderr.splitlines() == [missing_message("collector")], no_collector.stderr
    no_host = venvs["kiosk"].run("kiosk", "host")
    assert no_host.returncode == 1
    assert no_host.stderr.splitlines() == [missing_message("host")], no_host.stderr


def test_the_installed_version_is_pyprojects(venvs):
    assert venvs["kiosk"].run("kiosk", "--version").stdout.split()[-1] == VERSION


def test_the_installed_collector_serves_the_admin_login_and_its_style_sheet(venvs):
    venv = venvs["collector"]
    port = free_port()
    log = venv.home / "collector.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [
                venv.bin("kiosk-collector"),
                "serve",
                "--db",
                str(venv.home / "collector.db"),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--no-access-log",
            ],
            cwd=venv.home,
            env=venv.env(),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_health(proc, base, log)
        status, kind, body = http_get(f"{base}/admin/login")
        assert status == 200, f"{status}: {body[-2000:]}\n{log.read_text()[-4000:]}"
        assert "text/html" in kind and "<form" in body and 'type="password"' in body
        status, kind, body = http_get(f"{base}/admin/static/admin.css")
        assert status == 200 and "text/css" in kind and body.strip(), (status, kind)
    finally:
        stop_process(proc, grace=15)


def test_the_installed_queue_host_serves_the_wall_display(venvs):
    venv = venvs["host"]
    config = venv.home / "host.toml"
    # The bundled demo directory (queue.directory left empty), as an office's first start has it.
    config.write_text('[kiosk]\nid = "entrance"\nwindow = ""\n[queue]\nrole = "host"\n', encoding="utf-8")
    port = free_port()
    log = venv.home / "host.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [venv.bin("kiosk"), "host", "--config", str(config), "--data-dir", str(venv.home / "host")]
            + ["--port", str(port)],
            cwd=venv.home,
            env=venv.env(PYTHONUNBUFFERED="1"),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_health(proc, base, log, path="/office/v1/health")
        status, kind, body = http_get(f"{base}/display")
        assert status == 200 and "text/html" in kind and "display.js" in body, (status, kind, body[-2000:])
        status, kind, body = http_get(f"{base}/static/display.js")
        assert status == 200 and "javascript" in kind and "EventSource" in body, (status, kind)
    finally:
        code = stop_process(proc, grace=15)
    text = log.read_text(encoding="utf-8", errors="replace")
    assert code == 0, f"exit {code} on SIGTERM:\n{text[-4000:]}"
    assert "Traceback" not in text, text[-4000:]


def test_the_installed_kiosk_simulates_a_queue_day(venvs):
    venv = venvs["kiosk"]
    result = venv.run("kiosk", "simulate", "--queue-days", "1", "--seed", "1", "--data-dir", str(venv.home / "sim"))
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    assert "simulated 1 office days" in result.stdout and "tickets" in result.stdout, result.stdout


@pytest.mark.skipif(shutil.which("Xvfb") is None, reason="needs Xvfb (apt-get install xvfb)")
def test_the_installed_kiosk_runs_the_demo_under_xvfb(venvs):
    venv = venvs["kiosk"]
    # The config an office starts from, as the installed package prints it.
    example = venv.run("kiosk", "example-config")
    assert example.returncode == 0, example.stderr
    config = venv.home / "kiosk.toml"
    config.write_text(example.stdout, encoding="utf-8")
    log = venv.home / "kiosk-run.log"
    with Xvfb(800, 480) as xvfb, open(log, "wb") as out:
        proc = subprocess.Popen(
            [
                venv.bin("kiosk"),
                "run",
                "--demo",
                "--size",
                "800x480",
                "--config",
                str(config),
                "--data-dir",
                str(venv.home / "run"),
            ],
            cwd=venv.home,
            env=venv.env(DISPLAY=xvfb.display, PYTHONUNBUFFERED="1"),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        try:
            wait_for_home(proc, log, timeout=90)
        finally:
            code = stop_process(proc, grace=15)  # SIGTERM, as systemd stops it
    text = log.read_text(encoding="utf-8", errors="replace")
    assert code == 0, f"exit {code} on SIGTERM:\n{text[-4000:]}"
    assert "Traceback" not in text, text[-4000:]
