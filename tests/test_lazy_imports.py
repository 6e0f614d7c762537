"""A kiosk whose sync is off imports no network, TLS or async code of its own (issue 15, goal 1).

Each check runs in a fresh interpreter that records, for every watched module, the
innermost frame outside the standard library that first imported it: the kiosk's own
code (kiosk/, server_sync/) must never be that frame. Two libraries the kiosk cannot
do without bring some of them themselves, and that is allowed by name: Kivy's clock
imports asyncio (and asyncio ssl) unconditionally, and gpiozero and sqlite_utils (pluggy)
read package metadata, which imports email. requests, urllib3 and http.client come
only with sync, and the sync path must still bring them when a collector is configured.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from xvfb import Xvfb, missing_tools

REPO = Path(__file__).resolve().parents[1]
NEVER = ("requests", "urllib3", "http.client")
WATCHED = (*NEVER, "ssl", "asyncio", "email")

RECORDER = """
import json, os, sys, sysconfig, traceback

STDLIB = (sysconfig.get_paths()["stdlib"], "<frozen")
WATCHED = set(json.loads(os.environ["WATCHED"]))
FIRST = {}


class Recorder:
    def find_spec(self, name, path=None, target=None):
        if name in WATCHED and name not in FIRST:
            frames = traceback.extract_stack()[:-1]
            outside = [f.filename for f in frames if not f.filename.startswith(STDLIB) and f.filename != __file__]
            FIRST[name] = outside[-1] if outside else "?"
        return None


sys.meta_path.insert(0, Recorder())


def report(**extra):
    loaded = {name: FIRST.get(name, "?") for name in WATCHED if name in sys.modules}
    print("RESULT " + json.dumps({"loaded": loaded, **extra}), flush=True)
"""

CORE = """
from gpiozero.pins.mock import MockFactory

from kiosk import cli  # noqa: F401  (the command's own imports)
from kiosk.config import validate
from kiosk.runtime import Kiosk
from kiosk.ui import app  # noqa: F401  (the touchscreen's starter, before Kivy)

kiosk = Kiosk(validate({"kiosk": {"id": "lazy-w1"}}), os.environ["DATA"], pin_factory=MockFactory())
kiosk.start_sync()
line = kiosk.status_line("zh-TW")
kiosk.close()
off = {name: FIRST.get(name, "?") for name in WATCHED if name in sys.modules}

synced = Kiosk(
    validate({"kiosk": {"id": "lazy-w1"}, "sync": {"url": "http://127.0.0.1:9", "token": "t", "interval": 3600}}),
    os.environ["DATA"],
    pin_factory=MockFactory(),
)
synced.start_sync()
on = sorted(name for name in WATCHED if name in sys.modules)
synced.close()
report(off=off, on=on, line=line)
"""

APP = """
from kiosk.config import validate
from kiosk.fonts import find_cjk_font
from kiosk.ui.app import configure_kivy

config = validate({"kiosk": {"id": "lazy-w1"}})
configure_kivy(config, fonts=find_cjk_font(), demo=True)
from kiosk.ui.kioskapp import KioskApp

kiosk_app = KioskApp(config, os.environ["DATA"], demo=True)
kiosk_app.build()
pending = kiosk_app.sm.pending()
built = kiosk_app.sm.get_screen("lookup").name  # a screen not built yet is built when asked for
kiosk_app.kiosk.close()
report(pending=pending, built=built, still=kiosk_app.sm.pending())
"""


def _ours(path: str) -> bool:
    return Path(path).resolve().is_relative_to(REPO / "kiosk") or Path(path).resolve().is_relative_to(
        REPO / "server_sync"
    )


def _run(body: str, tmp_path: Path, env: dict[str, str] | None = None) -> dict:
    script = tmp_path / "child.py"
    script.write_text(RECORDER + body, encoding="utf-8")
    child_env = {k: v for k, v in os.environ.items() if not k.startswith(("KIVY_", "SDL_", "KIOSK_"))}
    child_env.update(WATCHED=json.dumps(WATCHED), DATA=str(tmp_path / "data"))
    child_env.update(env or {})
    done = subprocess.run(
        [sys.executable, str(script)], cwd=REPO, env=child_env, capture_output=True, text=True, timeout=120
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    assert done.returncode == 0 and lines, done.stdout[-2000:] + done.stderr[-4000:]
    return json.loads(lines[-1].removeprefix("RESULT "))


def _allowed(name: str, culprit: str) -> bool:
    """Which library may bring a watched module in: see the module's docstring."""
    third = {"asyncio": ("kivy",), "ssl": ("kivy",), "email": ("gpiozero", "sqlite_utils", "pluggy")}
    parts = Path(culprit).parts
    return not _ours(culprit) and any(lib in parts for lib in third.get(name, ()))


@pytest.fixture(scope="module")
def core(tmp_path_factory):
    return _run(CORE, tmp_path_factory.mktemp("core"))


def test_the_kiosk_with_sync_off_imports_no_network_tls_or_async_module(core):
    off = core["off"]
    assert not set(off) & set(NEVER), off
    assert "ssl" not in off and "asyncio" not in off, off  # no Kivy here: nothing may bring them
    for name, culprit in off.items():
        assert _allowed(name, culprit), f"{name} first imported by {culprit}"
    assert core["line"] == ""


def test_starting_sync_brings_the_network_modules(core):
    assert {"requests", "urllib3", "http.client", "ssl"} <= set(core["on"])


@pytest.mark.gui
@pytest.mark.skipif(bool(missing_tools()), reason=f"needs {', '.join(missing_tools())}")
def test_the_built_touchscreen_imports_network_modules_only_through_kivy_and_gpiozero(tmp_path):
    with Xvfb(800, 480) as xvfb:
        result = _run(APP, tmp_path, env={"DISPLAY": xvfb.display})
    loaded = result["loaded"]
    assert not set(loaded) & set(NEVER), loaded
    for name, culprit in loaded.items():
        assert _allowed(name, culprit), f"{name} first imported by {culprit}"
    # Only home is built at start; the rest wait for the first frame or for being asked for.
    assert "lookup" in result["pending"] and "guidance" in result["pending"]
    assert result["built"] == "lookup" and "lookup" not in result["still"]
