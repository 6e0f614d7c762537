"""A scanner's fast burst is told from single key presses (demo keys 1–5 and N on the lookup screen)."""

from __future__ import annotations

from kiosk.keystream import SCANNER_GAP, KeySplitter


def test_a_lone_key_is_known_once_the_gap_has_passed():
    keys = KeySplitter()
    assert keys.key("3", 10.0) == []
    assert keys.due(10.0 + SCANNER_GAP / 2) == []
    assert keys.due(10.0 + SCANNER_GAP * 1.1) == [("lone", "3")]
    assert not keys.waiting()


def test_a_scanner_burst_ending_in_enter_is_one_burst_at_once():
    keys, t, decided = KeySplitter(), 5.0, []
    for ch in "113-0042":
        decided += keys.key(ch, t)
        t += 0.004
    decided += keys.key("\n", t, enter=True)
    assert decided == [("burst", [*"113-0042", "\n"])]


def test_keys_pressed_by_a_person_are_each_lone():
    keys, decided = KeySplitter(), []
    for i, ch in enumerate("15n"):
        decided += keys.key(ch, i * 0.4)
    decided += keys.due(2.0)
    assert decided == [("lone", "1"), ("lone", "5"), ("lone", "n")]


def test_a_burst_without_enter_is_still_a_burst():
    keys = KeySplitter()
    keys.key("1", 0.0)
    keys.key("2", 0.01)
    assert keys.due(0.2) == [("burst", ["1", "2"])]


def test_a_lone_enter_after_a_pause():
    keys = KeySplitter()
    assert keys.key("\n", 3.0, enter=True) == [("lone", "\n")]
