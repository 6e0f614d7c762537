"""A tapped face rates through the buttons' recorder and listener, repeat-press rule included."""

from __future__ import annotations

import pytest

from kiosk.buttons import PressFailed
from kiosk.face_taps import FaceTaps
from kiosk.ratings import RatingRecorder
from kiosk.store import Store, StoreUnavailable


@pytest.fixture
def store(tmp_path, clock):
    s = Store(tmp_path, kiosk_id="test-w1", clock=clock)
    yield s
    s.close()


def test_a_tap_is_a_press_and_a_quick_second_tap_is_misuse(store, clock):
    heard = []
    taps = FaceTaps(RatingRecorder(store, repeat_window=5), heard.append, enabled=True)
    assert taps.tap(2)
    clock.advance(1)
    assert taps.tap(4)
    assert [(o.level, o.counted) for o in heard] == [(2, True), (4, False)]
    stored = [(e.level, e.misuse) for e in store.events(type="rating")]
    assert stored == [(2, False), (4, True)]


def test_a_tap_and_a_button_share_the_repeat_window(store, clock):
    recorder = RatingRecorder(store, repeat_window=5)
    recorder.press(1)  # the physical button
    clock.advance(2)
    heard = []
    FaceTaps(recorder, heard.append, enabled=True).tap(1)
    assert not heard[0].counted


def test_taps_record_nothing_when_the_setting_is_off(store):
    heard = []
    assert not FaceTaps(RatingRecorder(store), heard.append, enabled=False).tap(3)
    assert heard == [] and list(store.events(type="rating")) == []


def test_a_refused_tap_is_reported_like_a_refused_press(store):
    class Refusing(RatingRecorder):
        def press(self, level):
            raise StoreUnavailable("儲存空間已滿", "storage is full")

    heard = []
    FaceTaps(Refusing(store), heard.append, enabled=True).tap(5)
    assert isinstance(heard[0], PressFailed) and heard[0].level == 5
