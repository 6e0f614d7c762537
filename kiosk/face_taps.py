"""Taps on the home screen's faces, as presses of the physical buttons (``[buttons] touch_faces``).

A tapped face goes to the same ``RatingRecorder`` as its button, so the repeat-press
rule counts a tap and a press alike, and its outcome goes to the same listener
(a ``PressOutcome``, or ``PressFailed`` when the disk refused it). Call ``tap``
off the UI thread, as gpiozero calls the buttons: it waits for the durable commit.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from kiosk.buttons import PressFailed
from kiosk.ratings import RatingRecorder
from kiosk.store import StoreUnavailable

log = logging.getLogger(__name__)


class FaceTaps:
    """enabled: ``buttons.touch_faces``; when False a tap records nothing (the screen points to the buttons)."""

    def __init__(self, recorder: RatingRecorder, listener: Callable[[object], None], *, enabled: bool):
        self.recorder, self.listener, self.enabled = recorder, listener, enabled

    def tap(self, level: int) -> bool:
        """Record a tap on ``level``'s face; False when taps do not rate here."""
        if not self.enabled:
            return False
        try:
            outcome = self.recorder.press(level)
        except StoreUnavailable as exc:
            log.error("Tap on level %s not stored: %s", level, exc)
            self.listener(PressFailed(level, exc))
            return True
        self.listener(outcome)
        return True
