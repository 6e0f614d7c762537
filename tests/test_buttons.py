"""Presses on gpiozero MockFactory pins, all the way into the SQLite file.

Buttons are wired pull-up (pressed = pin driven low) unless a test says
otherwise. Stored events are read back through a separate sqlite3 connection
to the real file, so a test sees what a power cut would leave behind.
"""

from __future__ import annotations

import sqlite3
import time

import pytest

from kiosk.buttons import PressFailed
from kiosk.config import DEFAULT_LEVELS, validate
from kiosk.ratings import PressOutcome
from kiosk.runtime import Kiosk


def stored(data_dir, type_=None):
    """Rows in data_dir/kiosk.db as dicts, oldest first, read on a fresh connection."""
    conn = sqlite3.connect(data_dir / "kiosk.db")
    conn.row_factory = sqlite3.Row
    try:
        sql = "SELECT * FROM events" + (" WHERE type = ?" if type_ else "") + " ORDER BY seq"
        return [dict(r) for r in conn.execute(sql, [type_] if type_ else [])]
    finally:
        conn.close()


class Rig:
    """A Kiosk on mock pins with a listener that records what it was told, and when."""

    def __init__(self, config, data_dir, factory, clock, on_next=lambda: None):
        self.config, self.data_dir, self.factory, self.clock = config, data_dir, factory, clock
        self.heard: list[object] = []
        self.lit_when_heard: list[bool | None] = []
        self.kiosk = Kiosk(config, data_dir, pin_factory=factory, clock=clock, listener=self._listen, on_next=on_next)

    def _listen(self, outcome):
        self.heard.append(outcome)
        led = self.kiosk.buttons.leds.get(outcome.level)
        self.lit_when_heard.append(None if led is None else led.is_lit)

    def pin(self, level: int):
        return self.factory.pin(self.config.levels[level - 1].pin)

    def press(self, level: int):
        """Press and release the button for ``level``; return what the listener heard."""
        before = len(self.heard)
        pin = self.pin(level)
        if self.config["buttons.pull_up"]:
            pin.drive_low()
            pin.drive_high()
        else:
            pin.drive_high()
            pin.drive_low()
        new = self.heard[before:]
        assert len(new) <= 1
        return new[0] if new else None


@pytest.fixture
def make_rig(tmp_path, mock_factory, clock):
    rigs = []

    def make(raw=None, *, on_next=lambda: None, data_dir=None):
        raw = raw or {}
        raw.setdefault("kiosk", {}).setdefault("id", "test-w1")
        rig = Rig(validate(raw), data_dir or tmp_path / "data", mock_factory, clock, on_next=on_next)
        rigs.append(rig)
        return rig

    yield make
    for rig in rigs:
        rig.kiosk.close()


def test_one_press_stores_one_counted_rating_for_its_level(make_rig):
    rig = make_rig()
    outcome = rig.press(1)
    rows = stored(rig.data_dir)
    assert len(rows) == 1
    assert rows[0]["type"] == "rating"
    assert rows[0]["level"] == 1
    assert rows[0]["misuse"] == 0
    assert isinstance(outcome, PressOutcome)
    assert outcome.counted and outcome.level == 1
    assert outcome.event.id == rows[0]["id"]


@pytest.mark.parametrize("level", [1, 2, 3, 4, 5])
def test_each_default_pin_maps_to_its_level_leftmost_is_one(tmp_path, mock_factory, clock, level):
    config = validate({"kiosk": {"id": "test-w1"}})
    kiosk = Kiosk(config, tmp_path, pin_factory=mock_factory, clock=clock)
    try:
        pin = mock_factory.pin(DEFAULT_LEVELS[level - 1]["pin"])
        pin.drive_low()
        pin.drive_high()
    finally:
        kiosk.close()
    assert [(r["level"], r["misuse"]) for r in stored(tmp_path)] == [(level, 0)]


def test_release_alone_stores_nothing(make_rig):
    rig = make_rig()
    pin = rig.pin(2)
    pin.drive_low()
    rig.clock.advance(30)
    pin.drive_high()  # the release edge is not a press
    assert [r["level"] for r in stored(rig.data_dir)] == [2]


def test_event_is_stored_before_the_listener_hears_of_it(make_rig):
    rig = make_rig()
    seen_in_db = []
    rig.kiosk.buttons.listener = lambda outcome: seen_in_db.append([r["id"] for r in stored(rig.data_dir)])
    rig.pin(3).drive_low()
    rig.pin(3).drive_high()
    assert len(seen_in_db) == 1
    assert len(seen_in_db[0]) == 1  # already committed and visible to another connection


# -- contact bounce ------------------------------------------------------------


def test_contact_bounce_within_bounce_time_stores_one_event(make_rig):
    rig = make_rig()  # bounce_time 0.05 s by default
    pin = rig.pin(1)
    pin.drive_low()
    rig.clock.advance(0.01)
    pin.drive_high()
    rig.clock.advance(0.01)
    pin.drive_low()
    rig.clock.advance(0.01)
    pin.drive_high()
    rows = stored(rig.data_dir)
    assert [(r["level"], r["misuse"]) for r in rows] == [(1, 0)]
    assert len(rig.heard) == 1


def test_bounce_without_the_clock_moving_at_all_stores_one_event(make_rig):
    rig = make_rig()
    pin = rig.pin(4)
    for _ in range(5):
        pin.drive_low()
        pin.drive_high()
    assert len(stored(rig.data_dir)) == 1


def test_press_just_after_bounce_time_is_a_real_second_press(make_rig):
    rig = make_rig({"buttons": {"bounce_time": 0.05}})
    rig.press(1)
    rig.clock.advance(0.06)
    second = rig.press(1)
    rows = stored(rig.data_dir)
    assert len(rows) == 2
    assert rows[1]["misuse"] == 1  # inside the repeat window, so not counted
    assert second.event.misuse


def test_bounce_guard_is_per_button(make_rig):
    rig = make_rig()
    rig.press(1)
    rig.clock.advance(0.01)
    rig.press(2)  # a different contact: a real (misuse) press, not bounce
    assert [(r["level"], r["misuse"]) for r in stored(rig.data_dir)] == [(1, 0), (2, 1)]


def test_bounce_time_zero_disables_the_guard(make_rig):
    rig = make_rig({"buttons": {"bounce_time": 0}})
    pin = rig.pin(1)
    pin.drive_low()
    pin.drive_high()
    pin.drive_low()
    pin.drive_high()
    assert [(r["level"], r["misuse"]) for r in stored(rig.data_dir)] == [(1, 0), (1, 1)]


# -- repeat-press window -----------------------------------------------------


def test_second_press_inside_repeat_window_is_stored_as_misuse(make_rig):
    rig = make_rig()  # repeat_window 5 s by default
    first = rig.press(2)
    rig.clock.advance(4.9)
    second = rig.press(5)
    rows = stored(rig.data_dir)
    assert [(r["level"], r["misuse"]) for r in rows] == [(2, 0), (5, 1)]
    assert first.counted and not second.counted


def test_press_after_repeat_window_is_counted(make_rig):
    rig = make_rig()
    rig.press(1)
    rig.clock.advance(5.1)
    outcome = rig.press(1)
    assert outcome.counted
    assert [r["misuse"] for r in stored(rig.data_dir)] == [0, 0]


def test_hammering_keeps_every_extra_press_out_of_the_count(make_rig):
    # The window restarts on each stored press, so a visitor pressing every
    # three seconds is counted once, however long they keep it up.
    rig = make_rig()
    for _ in range(6):
        rig.press(5)
        rig.clock.advance(3)
    assert [r["misuse"] for r in stored(rig.data_dir)] == [0, 1, 1, 1, 1, 1]


def test_configured_repeat_window_is_used(make_rig):
    rig = make_rig({"buttons": {"repeat_window": 30}})
    rig.press(1)
    rig.clock.advance(20)
    rig.press(1)
    rig.clock.advance(31)
    rig.press(1)
    assert [r["misuse"] for r in stored(rig.data_dir)] == [0, 1, 0]


# -- LEDs ----------------------------------------------------------------------


def test_counted_press_lights_its_led_before_the_listener_is_called(make_rig):
    rig = make_rig()
    outcome = rig.press(3)
    assert outcome.counted
    assert rig.lit_when_heard == [True]
    assert rig.kiosk.buttons.leds[3].is_lit
    led_pin = rig.factory.pin(DEFAULT_LEVELS[2]["led"])
    assert led_pin.state  # the GPIO line itself is high
    others = [rig.factory.pin(lvl["led"]).state for i, lvl in enumerate(DEFAULT_LEVELS) if i != 2]
    assert others == [False] * 4


def test_misuse_press_does_not_light_its_led(make_rig):
    rig = make_rig()
    rig.press(1)
    rig.clock.advance(1)
    outcome = rig.press(4)
    assert outcome.event.misuse
    assert rig.lit_when_heard == [True, False]
    assert not rig.kiosk.buttons.leds[4].is_lit
    assert not rig.factory.pin(DEFAULT_LEVELS[3]["led"]).state


@pytest.mark.dateless  # a blink thread's timing: nothing in it reads the date
def test_led_goes_out_after_led_seconds(make_rig):
    rig = make_rig({"buttons": {"led_seconds": 0.05}})
    rig.press(2)
    led = rig.kiosk.buttons.leds[2]
    assert led.is_lit
    deadline = time.monotonic() + 5  # generous: only waits for the blink thread
    while led.is_lit and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not led.is_lit


def test_level_without_led_still_records(make_rig):
    levels = [dict(lvl) for lvl in DEFAULT_LEVELS]
    del levels[0]["led"]
    rig = make_rig({"buttons": {"levels": levels}})
    assert 1 not in rig.kiosk.buttons.leds
    outcome = rig.press(1)
    assert outcome.counted
    assert [r["level"] for r in stored(rig.data_dir)] == [1]


# -- reasons -------------------------------------------------------------------


def test_reason_is_stored_against_its_rating(make_rig):
    rig = make_rig()
    outcome = rig.press(4)
    rig.clock.advance(3)
    reason = rig.kiosk.recorder.reason(outcome.event, "wait")
    rows = stored(rig.data_dir)
    assert [r["type"] for r in rows] == ["rating", "reason"]
    rating_row, reason_row = rows
    assert reason_row["id"] == reason.id
    assert reason_row["ref"] == rating_row["id"] == outcome.event.id
    assert reason_row["level"] == 4
    assert reason_row["misuse"] == 0
    assert '"reason": "wait"' in reason_row["detail"]
    assert next(rig.kiosk.store.events(type="reason")).as_json()["reason"] == "wait"


def test_reason_after_later_presses_still_points_at_the_right_rating(make_rig):
    rig = make_rig()
    first = rig.press(5)
    rig.clock.advance(10)
    second = rig.press(3)
    rig.clock.advance(1)
    rig.kiosk.recorder.reason(first.event, "attitude")
    rig.kiosk.recorder.reason(second.event, "unclear")
    reasons = stored(rig.data_dir, "reason")
    assert [(r["ref"], r["level"]) for r in reasons] == [(first.event.id, 5), (second.event.id, 3)]


# -- other wirings ---------------------------------------------------------------


def three_or_four(n):
    pins = [(5, 18), (6, 23), (13, 24), (19, 25)][:n]
    return [{"label": f"L{i}", "label_en": f"L{i}", "pin": p, "led": led} for i, (p, led) in enumerate(pins, start=1)]


@pytest.mark.parametrize("n", [3, 4])
def test_three_and_four_level_configs(make_rig, n):
    rig = make_rig({"buttons": {"levels": three_or_four(n)}})
    assert sorted(rig.kiosk.buttons.buttons) == list(range(1, n + 1))
    for level in range(1, n + 1):
        rig.press(level)
        rig.clock.advance(6)
    rows = stored(rig.data_dir)
    assert [(r["level"], r["misuse"]) for r in rows] == [(lvl, 0) for lvl in range(1, n + 1)]
    assert all(rig.lit_when_heard)


def test_unused_default_pin_is_not_a_button_in_three_level_config(make_rig):
    rig = make_rig({"buttons": {"levels": three_or_four(3)}})
    pin19 = rig.factory.pin(19)  # level 4's pin in the default wiring
    pin19.drive_low()
    pin19.drive_high()
    assert stored(rig.data_dir) == []


def test_pull_down_wiring_pressed_is_high(make_rig):
    rig = make_rig({"buttons": {"pull_up": False}})
    pin = rig.pin(2)
    pin.drive_high()
    pin.drive_low()
    assert [(r["level"], r["misuse"]) for r in stored(rig.data_dir)] == [(2, 0)]


def test_staff_next_pin_calls_on_next_and_stores_nothing(make_rig):
    calls = []
    rig = make_rig(on_next=lambda: calls.append("next"))
    pin = rig.factory.pin(17)  # buttons.next_pin default
    pin.drive_low()
    pin.drive_high()
    assert calls == ["next"]
    assert stored(rig.data_dir) == []
    assert rig.heard == []


def test_next_pin_zero_means_no_staff_button(make_rig):
    calls = []
    rig = make_rig({"buttons": {"next_pin": 0}}, on_next=lambda: calls.append("next"))
    assert rig.kiosk.buttons.next_button is None
    pin = rig.factory.pin(17)
    pin.drive_low()
    pin.drive_high()
    assert calls == []


def test_press_failed_is_reported_not_raised_and_leaves_led_dark(make_rig, tmp_path):
    blocker = tmp_path / "blocked"
    rig = make_rig(data_dir=blocker / "data")
    rig.press(1)
    rig.clock.advance(6)
    # Take the data folder away and put a file in its place: nothing can be written.
    rig.kiosk.store.close()
    (blocker / "data").rename(blocker / "moved")
    (blocker / "data").write_text("not a folder")
    rig.kiosk.buttons.leds[1].off()
    outcome = rig.press(1)
    assert isinstance(outcome, PressFailed)
    assert outcome.level == 1
    assert outcome.error.zh and outcome.error.en
    assert rig.lit_when_heard == [True, False]
    (blocker / "data").unlink()
    (blocker / "moved").rename(blocker / "data")
    rig.clock.advance(0.1)
    # The refused press never happened, so it did not restart the repeat window.
    again = rig.press(1)
    assert isinstance(again, PressOutcome) and again.counted
    assert [(r["level"], r["misuse"]) for r in stored(blocker / "data")] == [(1, 0), (1, 0)]
