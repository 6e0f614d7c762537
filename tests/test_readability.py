"""Nothing a visitor reads is small or cut off: every screen, both sizes, both languages.

One app start per panel size (tests/readability_probe.py, in a private Xvfb) walks
every screen and state (home, thanks, reasons, 服務導引 list and services open, closed
and elsewhere, ticket, call, 案件查詢 with a lockout, a case result, the storage notice,
the staff PIN pad, lockout, panel and no-show question) in zh-TW and English, and in
large-text mode at 800x480, the tightest. For every label drawn it reports the font
size and box, and the size its text takes when Kivy lays it all out at that width.

KIOSK_DOCS_SCREENSHOTS=1 also saves a screenshot of every state into docs/screenshots/
(readability/<size>/<state>-<lang>[-large].png): slower, so not by default.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from servicefile import all_day_directory
from xvfb import REPO, Xvfb, needs_x

from kiosk.pinhash import hash_pin
from kiosk.ui.widgets import LARGE_TEXT_FACTOR, MIN_TEXT, ink_slack

# One worker for every check here: the walks are shared (below), not repeated per worker.
pytestmark = pytest.mark.xdist_group("readability")

SIZES = {"800x480": True, "1280x800": False}  # size: also walk large-text mode
STATES = {
    "home", "thanks", "reasons", "guidance", "service", "service-closed", "service-elsewhere", "ticket",
    "calling", "lookup", "lookup-locked", "case_result", "notice", "staff-pin", "staff-locked",
    "staff-panel", "staff-no-show",
}  # fmt: skip


def directory(path: Path) -> Path:
    """The bundled services, open around the clock but one closed (recall_referendum) for its screen."""
    return all_day_directory(path, recall_referendum={"hours": "sun 00:00-00:01"})


# The walk is the costly part (an app start and every state, ~40 CPU-s): done once per size and
# process, however pytest-randomly orders the checks (a module fixture with params is set up
# again each time the order switches size).
_WALKS: dict[str, tuple[str, list]] = {}


@pytest.fixture(scope="module", params=list(SIZES))
def walked(request, tmp_path_factory):
    """Every state's labels at one panel size: one app start shared by the checks below."""
    size = request.param
    if size not in _WALKS:
        _WALKS[size] = _walk(size, tmp_path_factory)
    return _WALKS[size]


def _walk(size: str, tmp_path_factory) -> tuple[str, list]:
    tmp = tmp_path_factory.mktemp(f"readability-{size}")
    config = tmp / "cfg.toml"
    config.write_text(
        f"""\
[kiosk]
id = "readability-w1"
window = "1"
thanks_seconds = 120
reasons_timeout = 120

[buttons]
repeat_window = 0.1

[queue]
directory = "{directory(tmp / "services.csv")}"
staff_pin_hash = "{hash_pin("246813")}"
""",
        encoding="utf-8",
    )
    out = tmp / "labels.json"
    args = [sys.executable, str(REPO / "tests" / "readability_probe.py"), str(config), str(tmp / "data"), size]
    args += ["1" if SIZES[size] else "0", str(out)]
    if os.environ.get("KIOSK_DOCS_SCREENSHOTS") == "1":
        args.append(str(REPO / "docs" / "screenshots" / "readability" / size))
    width, height = (int(v) for v in size.split("x"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KIVY_", "SDL_", "KIOSK_"))}
    with Xvfb(width, height) as xvfb:
        env.update({"DISPLAY": xvfb.display, "SDL_AUDIODRIVER": "dummy"})
        done = subprocess.run(args, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr[-4000:]
    return size, json.loads(out.read_text(encoding="utf-8"))


def problems(record: dict) -> list[str]:
    width, height = record["window"]
    floor = MIN_TEXT * (LARGE_TEXT_FACTOR if record["large"] else 1)
    found = []
    for label in record["labels"]:
        x, y, w, h = label["box"]
        text_w, text_h = label["content"]
        size, text = label["font_size"], label["text"]
        where = f"{record['state']} {record['lang']}{' large' if record['large'] else ''}: {text[:40]!r}"
        if size < floor - 0.01:
            found.append(f"{where} drawn at {size:g} px, below {floor:g}")
        if text_w > w + 1:
            found.append(f"{where} is {text_w:.0f} px wide in a {w:.0f} px box")
        if text_h > h + ink_slack(text) * size + 1:
            found.append(f"{where} needs {text_h:.0f} px of height, has {h:.0f}: cut off")
        if not label["scrolled"] and (x < -1 or y < -1 or x + w > width + 1 or y + h > height + 1):
            found.append(f"{where} lies outside the window")
    return found


@pytest.mark.gui
@needs_x
def test_every_screen_and_state_was_walked(walked):
    size, records = walked
    modes = {(r["lang"], r["large"]) for r in records}
    expected = {("zh-TW", False), ("en", False)} | ({("zh-TW", True), ("en", True)} if SIZES[size] else set())
    assert modes == expected
    for mode in expected:
        assert {r["state"] for r in records if (r["lang"], r["large"]) == mode} == STATES, mode
    assert all(r["labels"] for r in records)


@pytest.mark.gui
@needs_x
def test_no_text_is_small_or_cut_off(walked):
    _size, records = walked
    found = [p for record in records for p in problems(record)]
    assert not found, "\n".join(found)


@pytest.mark.gui
@needs_x
def test_a_buttons_main_line_is_never_smaller_than_its_second_language(walked):
    _size, records = walked
    small = [
        f"{r['state']} {r['lang']} {b['target'] or '?'}: {b['primary']:g} < {b['secondary']:g}"
        for r in records
        for b in r["buttons"]
        if b["primary"] < b["secondary"]
    ]
    assert not small, "\n".join(small)


@pytest.mark.gui
@needs_x
def test_what_scrolls_shows_its_bar(walked):
    _size, records = walked
    scrolls = [s for r in records for s in r["scrolls"]]
    assert any(s["content"] > s["height"] + 1 for s in scrolls), "expected a list longer than its box somewhere"
    for s in scrolls:
        assert s["bar_width"] >= 6 and s["bar_always"], s


def test_judging_a_label_catches_small_and_cut_text():
    """The checks above, on made-up records: they find what they are for."""

    def record(**label):
        base = {
            "text": "請至 1 號窗口",
            "font_size": 20.0,
            "box": [0, 0, 200, 30],
            "content": [150, 29],
            "scrolled": False,
        }
        return {"state": "s", "lang": "zh-TW", "large": False, "window": [800, 480], "labels": [{**base, **label}]}

    assert problems(record()) == []
    assert "below 16" in problems(record(font_size=9.0))[0]
    assert "cut off" in problems(record(content=[150, 58]))[0]
    assert "wide" in problems(record(content=[260, 29]))[0]
    assert "outside" in problems(record(box=[700, 0, 200, 30]))[0]
    assert problems(record(box=[700, 0, 200, 30], scrolled=True)) == []
