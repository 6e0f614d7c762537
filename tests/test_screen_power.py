"""The screen is lit in office hours and dark outside them; a touch or a press wakes it."""

from __future__ import annotations

import time as clock
from datetime import datetime, time
from pathlib import Path

import pytest
from xvfb import KioskApp, Xvfb, missing_tools

from kiosk.screen_power import BL_OFF, BL_ON, ScreenPower, parse_hours

MONDAY_9 = datetime(2026, 11, 23, 9, 0)
MONDAY_20 = datetime(2026, 11, 23, 20, 0)
SATURDAY_9 = datetime(2026, 11, 28, 9, 0)


def _backlight(tmp_path: Path) -> Path:
    device = tmp_path / "10-0045"
    device.mkdir()
    (device / "bl_power").write_text(BL_ON)
    return device / "bl_power"


def test_parse_hours():
    assert parse_hours("") is None
    assert parse_hours("07:30-18:00") == (time(7, 30), time(18, 0))
    for bad in ("7.30-18", "18:00-07:30", "07:30"):
        with pytest.raises(ValueError):
            parse_hours(bad)


def test_backlight_follows_office_hours_and_wakes_for_a_while(tmp_path):
    bl_power = _backlight(tmp_path)
    power = ScreenPower(hours=parse_hours("07:30-18:00"), days=(1, 2, 3, 4, 5), wake_seconds=60, backlight_dir=tmp_path)
    assert power.apply(MONDAY_9, 100.0) and bl_power.read_text() == BL_ON
    assert not power.apply(MONDAY_20, 200.0) and bl_power.read_text() == BL_OFF
    assert not power.apply(SATURDAY_9, 300.0), "weekends are not office days"
    power.wake(300.0)
    assert power.apply(SATURDAY_9, 330.0) and bl_power.read_text() == BL_ON
    assert not power.apply(SATURDAY_9, 361.0) and bl_power.read_text() == BL_OFF


def test_always_on_without_hours_and_no_backlight_device_is_fine(tmp_path):
    power = ScreenPower(hours=None, backlight_dir=tmp_path / "missing")
    assert power.apply(MONDAY_20, 0.0)


@pytest.mark.gui
@pytest.mark.skipif(bool(missing_tools()), reason=f"needs {', '.join(missing_tools())}")
def test_dark_screen_wakes_on_touch_without_pressing_what_is_under_it(tmp_path):
    from PIL import Image, ImageStat

    config = tmp_path / "cfg.toml"
    # No office days at all: the screen is dark whenever nobody touched it lately.
    config.write_text(
        '[kiosk]\nid = "sleep-w1"\nidle_timeout = 3\nthanks_seconds = 1\n'
        '[display]\non_hours = "08:00-17:00"\non_days = []\n',
        encoding="utf-8",
    )
    with Xvfb(800, 480) as xvfb, KioskApp(xvfb, tmp_path / "data", config, tmp_path / "app.log") as app:
        app.expect(r"display: asleep", timeout=30)
        shot = app.screenshot(tmp_path / "asleep.png", settle=0.5)
        with Image.open(shot) as image:
            assert max(ImageStat.Stat(image.convert("L")).extrema[0]) < 10, "a sleeping screen is black"
        # A tap in the middle of the dark screen wakes it; the 服務導引 entry under it is not opened.
        app.xdotool("mousemove", "--window", app.window_id(), "200", "400", "click", "1")
        app.expect(r"display: awake")
        clock.sleep(0.5)
        assert "screen: guidance" not in app.log_text()
        app.expect(r"display: asleep", timeout=20)  # idle_timeout later, dark again
        # A rating button press is recorded and wakes the screen to thank the visitor.
        app.key("1")
        app.expect(r"display: awake")
        app.expect_shown("thanks")
        assert app.stop() == 0
    assert [e["level"] for e in app.events() if e["type"] == "rating"] == [1]
