"""Large-text mode for one visitor: switched on from any screen, off when the visit ends.

Plain Python, like kiosk/flow.py, so the rule is tested without a window. A visit
ends as the flow's language choice does: when the screens return home, or after
``idle_timeout`` on the home screen without a touch.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class TextSize:
    idle_timeout: float = 60.0
    large: bool = False
    _screen: str = "home"
    _since: float = 0.0

    def toggle(self, now: float) -> bool:
        """The visitor touched the text-size button."""
        self.large = not self.large
        self._since = now
        return self.large

    def touched(self, now: float) -> None:
        self._since = now

    def update(self, screen: str, now: float) -> bool:
        """The flow now shows ``screen``: whether large text is still on."""
        if screen == "home" and self._screen != "home":
            self.large = False  # back home: the next visitor starts with normal text
        elif screen == "home" and now - self._since >= self.idle_timeout:
            self.large = False
        self._screen = screen
        return self.large

    def next_change(self) -> float | None:
        """When ``update`` on home would next turn large text off by itself, or None."""
        if self.large and self._screen == "home":
            return self._since + self.idle_timeout
        return None
