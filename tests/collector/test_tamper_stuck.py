"""The kiosk's side of a stuck button: a rating button held far longer than any press is
recorded as ``button_stuck`` (one press counted, not a stream of them), and ``button_released``
when it lets go; the collector alerts on the first (test_tamper.py)."""

from __future__ import annotations

from waiting import wait_until

from kiosk.buttons import RatingButtons
from kiosk.config import DEFAULT_LEVELS, validate
from kiosk.ratings import RatingRecorder
from kiosk.store import Store
from server_sync.wire.events import BUTTON_RELEASED, BUTTON_STUCK, TYPES


def test_a_held_button_is_recorded_as_stuck_then_released(tmp_path, mock_factory, clock):
    config = validate({"kiosk": {"id": "test-w1", "window": "1"}})
    store = Store(tmp_path, kiosk_id="test-w1", clock=clock)
    buttons = RatingButtons(
        config.levels, RatingRecorder(store, repeat_window=5), pin_factory=mock_factory, stuck_seconds=0.2
    )
    try:
        pin = mock_factory.pin(config.levels[4].pin)
        pin.drive_low()  # pull-up wiring: pressed
        stuck = wait_until(lambda: list(store.events(type=BUTTON_STUCK)), 10, "the stuck event")
        assert [(e.level, e.detail["held_seconds"]) for e in stuck] == [(5, 0.2)]
        pin.drive_high()
        released = wait_until(lambda: list(store.events(type=BUTTON_RELEASED)), 10, "the released event")
        assert [e.level for e in released] == [5]
        assert len(list(store.events(type="rating"))) == 1  # the press itself, once
    finally:
        buttons.close()
        store.close()
    assert {BUTTON_STUCK, BUTTON_RELEASED} <= TYPES
    assert len(DEFAULT_LEVELS) == 5
