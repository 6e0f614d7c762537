"""The real touchscreen app, driven from outside in a private Xvfb.

Each GUI test starts ``python -m kiosk run --demo`` on its own X server at the
panel's size, presses the demo keys (which drive gpiozero's mock pins, the same
code path as the real buttons) and taps touch targets with xdotool at the
positions the app logs (KIOSK_LOG_LAYOUT=1). The app's "shown: SCREEN LANG"
log lines say which screen is up; a screenshot of every screen goes to
test-output/screenshots/<size>/ and is checked not to be blank.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from xvfb import MIN_TARGET_PX, REPO, KioskApp, Xvfb, check_targets, needs_x, screen_fixture

from kiosk import i18n
from kiosk.config import validate
from kiosk.fonts import find_cjk_font, missing_glyphs
from kiosk.ui.app import kivy_settings

SIZES = ["800x480", "1280x800"]
SHOTS = REPO / "test-output" / "screenshots"
KV_DIR = REPO / "kiosk" / "ui" / "screens"
CONFIG = """\
[kiosk]
id = "gui-test-w3"
window = "3"
thanks_seconds = 1.2
reasons_timeout = 30

[buttons]
repeat_window = 0.2
"""


def assert_not_blank(path: Path) -> None:
    from PIL import Image, ImageStat

    with Image.open(path) as image:
        rgb = image.convert("RGB")
        colours = rgb.getcolors(maxcolors=1 << 16)
        spread = ImageStat.Stat(rgb.convert("L")).stddev[0]
    assert colours is None or len(colours) > 100, f"{path.name}: only {len(colours)} colours"
    assert spread > 20, f"{path.name}: nearly uniform (stddev {spread:.1f})"


screen = screen_fixture(SIZES)


def start_app(xvfb: Xvfb, tmp_path: Path, data_dir: Path, name: str) -> KioskApp:
    config = tmp_path / "cfg.toml"
    config.write_text(CONFIG, encoding="utf-8")
    return KioskApp(xvfb, data_dir, config, tmp_path / f"{name}.log")


@pytest.mark.gui
@needs_x
def test_visitor_walkthrough(screen, tmp_path):
    size = f"{screen.width}x{screen.height}"
    # Screenshots overwrite their own files: emptying the folder first raced the other xdist
    # worker's GUI tests writing into the same per-size folder (their `import` failed).
    shots = SHOTS / size
    with start_app(screen, tmp_path, tmp_path / "data", "app") as app:
        app.expect_shown("home", "zh-TW", timeout=30)
        # Idle, its loop sleeps in SDL until input (tests/test_loop_sleep.py shows what wakes it);
        # every press and tap below comes to a loop that may be asleep.
        assert "main loop: sleeps until input when idle (SDL x11)" in app.log_text()
        check_targets(app, "guidance", "lookup", "language")
        entry_h = app.layout["guidance"][3]
        assert entry_h >= 1.5 * MIN_TARGET_PX, f"main entries only {entry_h} px tall"
        assert_not_blank(app.screenshot(shots / "home.png"))

        # The level tiles mirror the physical buttons: tapping one only lights the hint.
        check_targets(app, *(f"tile:{n}" for n in range(1, 6)))
        app.click("tile:3")
        app.expect(r"tile tapped")
        app.screenshot(shots / "home-hint.png", settle=0.1)

        # 非常滿意 on the physical button (mock pin): stored, then thanked.
        app.key("1")
        app.expect(r"press: level 1 counted")
        app.expect_shown("thanks")
        check_targets(app, "language")
        assert_not_blank(app.screenshot(shots / "thanks.png"))
        app.expect_shown("home")  # by itself, after thanks_seconds

        # 不滿意: thanks and the reasons question.
        app.key("4")
        app.expect(r"press: level 4 counted")
        app.expect_shown("reasons")
        check_targets(app, "skip", "language", *(f"reason:{r.code}" for r in validate({}).reasons))
        assert_not_blank(app.screenshot(shots / "reasons.png"))
        app.click("reason:wait")
        app.expect(r"reason: wait")
        app.expect_shown("thanks")
        assert_not_blank(app.screenshot(shots / "thanks-reason.png"))
        app.expect_shown("home")

        # 服務導引 opens the service directory; 返回 goes back.
        app.click("guidance")
        app.expect_shown("guidance")
        check_targets(app, "back", "language")
        assert_not_blank(app.screenshot(shots / "guidance.png"))
        app.click("back")
        app.expect_shown("home")

        # English, then 案件查詢 in English, then back to 中文 on that screen.
        app.click("language")
        app.expect(r"language: en")
        app.expect_shown("home", "en")
        assert_not_blank(app.screenshot(shots / "home-en.png"))
        app.click("lookup")
        app.expect_shown("lookup", "en")
        assert_not_blank(app.screenshot(shots / "lookup-en.png"))
        app.click("language")
        app.expect_shown("lookup", "zh-TW")
        app.click("back")
        app.expect_shown("home", "zh-TW")

        # 非常不滿意, and the visitor skips the question: nothing more is stored.
        app.key("5")
        app.expect_shown("reasons")
        app.click("skip")
        app.expect_shown("thanks")
        app.expect_shown("home")
        assert app.stop() == 0, "the app should exit cleanly on SIGTERM"
    log = app.log_text()
    assert "Traceback" not in log, log[-3000:]

    events = app.events()
    ratings = [e for e in events if e["type"] == "rating"]
    reasons = [e for e in events if e["type"] == "reason"]
    assert [(r["level"], r["misuse"]) for r in ratings] == [(1, False), (4, False), (5, False)]
    assert len(reasons) == 1
    assert reasons[0]["ref"] == ratings[1]["id"]
    assert reasons[0]["reason"] == "wait"
    assert reasons[0]["level"] == 4
    assert {e["window"] for e in events} == {"3"}


@pytest.mark.gui
@needs_x
def test_unwritable_storage_shows_a_notice(screen, tmp_path):
    """The data folder cannot be created (its parent is a file): the UI still starts,
    and a press shows the notice instead of a thank-you."""
    size = f"{screen.width}x{screen.height}"
    shots = SHOTS / size
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the data folder's parent should be\n")
    with start_app(screen, tmp_path, blocker / "data", "notice") as app:
        app.expect(r"Data file not available at start-up", timeout=30)
        app.expect_shown("home", timeout=30)
        app.key("2")
        app.expect(r"Press on level 2 not stored")
        app.expect_shown("notice")
        check_targets(app, "back", "language")
        assert_not_blank(app.screenshot(shots / "notice.png"))
        app.click("language")
        app.expect_shown("notice", "en")
        assert_not_blank(app.screenshot(shots / "notice-en.png"))
        app.click("back")
        app.expect_shown("home", "zh-TW")
        assert "shown: thanks" not in app.log_text()
        assert app.stop() == 0


def _kv_text() -> str:
    """The text of every .kv screen, without its comment lines."""
    lines = []
    for kv in sorted(KV_DIR.glob("*.kv")):
        lines += [ln for ln in kv.read_text(encoding="utf-8").splitlines() if not ln.lstrip().startswith("#")]
    return "\n".join(lines)


def test_font_draws_every_chinese_string():
    fonts = find_cjk_font()
    config = validate({})
    texts = [zh for zh, _en in i18n.STRINGS.values()]
    texts += [lvl.label for lvl in config.levels] + [r.label for r in config.reasons]
    texts += [config["kiosk.office"], config["kiosk.unit"]]
    texts += [ch for ch in _kv_text() if ord(ch) > 127]
    # The notice screen shows the storage error's own zh-TW text.
    texts += [ch for ch in (REPO / "kiosk" / "store.py").read_text(encoding="utf-8") if ord(ch) > 127]
    assert any(ord(ch) > 127 for ch in _kv_text()), "expected the ▼ hint arrows in home.kv"
    text = "".join(texts)
    for weight in ("Regular", "Bold"):
        assert missing_glyphs(fonts[weight], text) == set(), f"{weight} font lacks glyphs"


def test_every_screen_has_a_kv_file_and_the_language_switch():
    names = {p.stem for p in KV_DIR.glob("*.kv")}
    assert names >= {
        "home",
        "thanks",
        "reasons",
        "notice",
        "guidance",
        "ticket",
        "calling",
        "staff",
        "lookup",
        "case_result",
    }
    for name in names:
        text = (KV_DIR / f"{name}.kv").read_text(encoding="utf-8")
        # A file of parts shown inside another screen (the staff panel's transfer, a service's page
        # while the host is lost) has that screen's header.
        if re.search(r"^<\w*Screen>:", text, re.M) or name in {"guidance", "lookup", "case_result", "staff"}:
            assert "Header:" in text, f"{name}.kv lacks the header with the language switch"
    widgets_src = (REPO / "kiosk" / "ui" / "widgets.py").read_text(encoding="utf-8")
    assert re.search(r"<Header>:.*?LanguageButton:", widgets_src, re.S)


# -- window settings (pure; no display needed) ------------------------------------
FONTS = {"Regular": Path("/f/R.otf"), "Bold": Path("/f/B.otf")}


def settings_for(raw=None, *, demo=False, is_pi=False, environ=None):
    return kivy_settings(
        validate(raw or {}),
        demo=demo,
        fonts=FONTS,
        is_pi=is_pi,
        environ=environ if environ is not None else {"DISPLAY": ":0"},
    )


def test_demo_is_a_window_of_the_configured_size():
    env, s = settings_for({"display": {"width": 1280, "height": 800, "fullscreen": True}}, demo=True)
    assert s[("graphics", "fullscreen")] == "0"
    assert (s[("graphics", "width")], s[("graphics", "height")]) == ("1280", "800")
    assert "SDL_VIDEODRIVER" not in env
    assert env["KIVY_NO_ARGS"] == "1" and env["KIVY_NO_CONFIG"] == "1"


def test_pi_runs_fullscreen_and_uses_kms_without_x():
    env, s = settings_for(is_pi=True, environ={})
    assert s[("graphics", "fullscreen")] == "auto" and s[("graphics", "borderless")] == "1"
    assert s[("graphics", "show_cursor")] == "0"
    assert env["SDL_VIDEODRIVER"] == "kmsdrm"
    env, _ = settings_for(is_pi=True, environ={"WAYLAND_DISPLAY": "wayland-0"})
    assert "SDL_VIDEODRIVER" not in env


def test_fullscreen_setting_and_rotation():
    _, s = settings_for({"display": {"fullscreen": "auto", "rotation": 180}})
    assert s[("graphics", "fullscreen")] == "0"  # auto: windowed off a Pi
    assert s[("graphics", "rotation")] == "180"
    _, s = settings_for({"display": {"fullscreen": True}})
    assert s[("graphics", "fullscreen")] == "auto"
    _, s = settings_for({"display": {"fullscreen": False}}, is_pi=True)
    assert s[("graphics", "fullscreen")] == "0"
    assert ast.literal_eval(s[("kivy", "default_font")])[1:] == ["/f/R.otf", "/f/R.otf", "/f/B.otf", "/f/B.otf"]
