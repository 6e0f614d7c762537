"""The main loop's frame rate: active while frames are drawn or touched, idle once quiet (kiosk/ui/frame_rate.py)."""

from __future__ import annotations

from kiosk.ui.frame_rate import FrameRate


class FakeClock:
    """Kivy's Clock as FrameRate uses it: ``_max_fps`` and one-shot events, run by ``advance``."""

    def __init__(self):
        self._max_fps = 30.0
        self.t = 100.0
        self.events: list[tuple[float, object]] = []

    def schedule_once(self, callback, timeout=0):
        self.events.append((self.t + timeout, callback))

    def advance(self, seconds: float) -> None:
        end = self.t + seconds
        while True:
            due = sorted((at, i) for i, (at, _cb) in enumerate(self.events) if at <= end)
            if not due:
                break
            at, i = due[0]
            _, callback = self.events.pop(i)
            self.t = at
            callback(0)
        self.t = end


def make(**kwargs):
    clock = FakeClock()
    return clock, FrameRate(clock, lambda: clock.t, active=30, idle=4, linger=2.0, **kwargs)


def test_it_starts_active_and_falls_idle_once_nothing_changes():
    clock, rate = make()
    assert rate.fps == 30
    rate.changed()  # the first frame
    clock.advance(1.9)
    assert rate.fps == 30
    clock.advance(0.2)
    assert rate.fps == 4
    assert clock.events == []  # idle: nothing left scheduled to wake the loop


def test_a_change_wakes_it_and_keeps_it_active_while_changes_go_on():
    clock, rate = make()
    rate.changed()
    clock.advance(3)
    assert rate.fps == 4
    rate.changed()  # a touch
    assert rate.fps == 30
    for _ in range(10):  # an animation: a frame drawn every 0.1 s for a second
        clock.advance(0.1)
        rate.changed()
    clock.advance(1.9)
    assert rate.fps == 30
    clock.advance(0.2)
    assert rate.fps == 4


def test_many_changes_schedule_one_look_at_a_time():
    clock, rate = make()
    for _ in range(50):
        rate.changed()
    assert len(clock.events) == 1
