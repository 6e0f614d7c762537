"""Large-text mode lasts one visit (kiosk/large_text.py), without a window."""

from __future__ import annotations

from kiosk.large_text import TextSize


def test_switched_on_it_stays_on_through_the_visitors_screens():
    size = TextSize(idle_timeout=60)
    size.update("home", 0)
    assert size.toggle(1.0) is True
    for t, screen in enumerate(("guidance", "guidance", "ticket", "lookup", "case_result"), start=2):
        assert size.update(screen, float(t)) is True


def test_returning_home_ends_the_visit():
    size = TextSize(idle_timeout=60)
    size.update("lookup", 0)
    size.toggle(1.0)
    assert size.update("home", 2.0) is False
    assert size.update("guidance", 3.0) is False


def test_on_the_home_screen_it_lasts_until_idle():
    size = TextSize(idle_timeout=60)
    size.update("home", 0)
    size.toggle(10.0)
    assert size.update("home", 40.0) is True
    size.touched(50.0)
    assert size.update("home", 109.0) is True
    assert size.update("home", 110.0) is False


def test_switching_twice_is_normal_text():
    size = TextSize()
    size.toggle(0)
    assert size.toggle(1) is False
    assert size.update("guidance", 2) is False


def test_next_change_is_when_home_turns_it_off_by_itself():
    size = TextSize(idle_timeout=60)
    size.update("home", 0)
    assert size.next_change() is None  # normal text: nothing to wait for
    size.toggle(10.0)
    assert size.next_change() == 70.0
    size.touched(50.0)
    due = size.next_change()
    assert due == 110.0
    assert size.update("home", due - 0.5) is True and size.update("home", due) is False
    assert size.next_change() is None
    size.update("guidance", 120.0)
    size.toggle(121.0)
    assert size.next_change() is None  # away from home the visit ends on the way back, not by time
