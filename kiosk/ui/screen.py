"""The base of every screen: fits its labels on entry and names its touch targets.

Every screen module (kioskapp, lookup_screens, queue_screens) builds on this one,
and none of them imports the app: the app imports them.
"""

from __future__ import annotations

from collections.abc import Iterator

from kivy.clock import Clock
from kivy.uix.screenmanager import Screen
from kivy.uix.widget import Widget

from kiosk.ui import widgets


def walk(widget: Widget) -> Iterator[Widget]:
    """``widget`` and every widget below it."""
    yield widget
    for child in widget.children:
        yield from walk(child)


class KioskScreen(Screen):
    def on_pre_enter(self, *_):
        self.refit_labels()

    def refit_labels(self) -> None:
        """Labels fit themselves only while on screen: fit them on the next frame, once they are."""
        Clock.schedule_once(self._refit_now, -1)

    def _refit_now(self, _dt) -> None:
        for w in walk(self):
            if isinstance(w, widgets.FitLabel):
                w.refit()

    def touch_targets(self) -> dict[str, Widget]:
        """Every named touch target on this screen: {target: widget}."""
        return {w.target: w for w in walk(self) if getattr(w, "target", "")}
