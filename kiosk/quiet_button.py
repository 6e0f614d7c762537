"""A gpiozero ``Button`` whose hold thread sleeps until the button is pressed.

gpiozero gives every ``Button`` a thread that looks ten times a second whether
it has been pressed (``HoldThread``: ``holding.wait(0.1)``), only so that it
notices a ``close()`` in time. Six buttons at a window are sixty wake-ups a
second, all day, for presses that come a few times an hour: most of an idle
kiosk's CPU. ``QuietButton`` swaps in a thread that waits for a press (gpiozero
sets ``holding`` on every activation) or for ``stop()``, which wakes it too.
Held-button events (``when_held``, ``hold_time``, ``hold_repeat``) behave as before.
"""

from __future__ import annotations

from gpiozero import Button
from gpiozero.mixins import HoldThread


class _WaitingHoldThread(HoldThread):
    """gpiozero's HoldThread loop, waiting without a timeout between presses (gpiozero 2.0)."""

    def held(self, parent):
        try:
            while not self.stopping.is_set():
                self.holding.wait()
                if self.stopping.is_set():
                    break
                self.holding.clear()
                while not (self.stopping.is_set() or parent._inactive_event.wait(parent.hold_time)):
                    if parent._held_from is None:
                        parent._held_from = parent.pin_factory.ticks()
                    parent._fire_held()
                    if not parent.hold_repeat:
                        break
        except ReferenceError:  # the button is gone: so is this thread's work
            pass

    def stop(self, timeout=10):
        self.stopping.set()
        self.holding.set()  # wake the wait above
        self.join(timeout)


class QuietButton(Button):
    _hold_thread: HoldThread  # gpiozero's HoldMixin makes one; ours replaces it

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        polling = self._hold_thread
        self._hold_thread = _WaitingHoldThread(self)
        # gpiozero's own thread ends at its next look (within 0.1 s); not joined here,
        # so start-up does not wait for it.
        polling.stopping.set()
