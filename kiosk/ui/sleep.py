"""The dark screen outside office hours (kiosk.screen_power decides when)."""

from __future__ import annotations

from kivy.core.window import Window
from kivy.graphics import Color, Rectangle
from kivy.uix.widget import Widget


class SleepOverlay(Widget):
    """Black over the whole window while the screen sleeps.

    A panel without backlight control (HDMI) still goes dark, and the tap that
    wakes the screen stops here instead of pressing whatever lies under it.
    """

    def __init__(self, on_wake, **kwargs):
        super().__init__(**kwargs)
        self.on_wake = on_wake
        with self.canvas:
            Color(0, 0, 0, 1)
            self._rect = Rectangle(pos=(0, 0), size=Window.size)
        Window.bind(size=self._resize)

    def _resize(self, _window, size):
        self._rect.size = size

    def on_touch_down(self, touch):
        self.on_wake()
        return True

    def on_touch_move(self, touch):
        return True

    def on_touch_up(self, touch):
        return True
