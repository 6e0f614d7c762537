"""Demo mode's keyboard: keys 1–5 press the rating buttons and N the staff "next"
button, through gpiozero's mock pins, on every screen.

On the case lookup the same keyboard is also the barcode scanner's: there keys go
through ``kiosk.keystream.KeySplitter``, so a scanner's fast burst still types the
case number while a key pressed on its own is a button (on the on-screen keypad
the visitor types by touch, which never comes this way).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from kivy.clock import Clock

from kiosk.buttons import press_mock_pin
from kiosk.keystream import KeySplitter

# Kivy key codes of the digit keys 1-9 and of the keypad's 1-9.
DIGIT_KEYS = {**{48 + n: n for n in range(1, 10)}, **{256 + n: n for n in range(1, 10)}}
ENTER_KEYS = {13, 271}  # Return, keypad Enter
NEXT_KEY = ord("n")
IGNORED_MODIFIERS = {"numlock", "capslock"}

Typed = Callable[[int, str, list], bool]  # the screen's own handler: (key, codepoint, modifiers) → handled


class DemoKeys:
    """kiosk_getter: returns the running Kiosk (its mock-pin buttons), or None before there is one."""

    def __init__(self, kiosk_getter: Callable[[], object | None]):
        self._kiosk = kiosk_getter
        self.splitter = KeySplitter()
        self._check = None

    # -- buttons ----------------------------------------------------------------------
    def button_for(self, key: int, modifiers) -> object | None:
        """The mock button key ``key`` presses, or None."""
        if modifiers and set(modifiers) - IGNORED_MODIFIERS:
            return None
        kiosk = self._kiosk()
        buttons = getattr(kiosk, "buttons", None)
        if buttons is None:
            return None
        if key == NEXT_KEY:
            return buttons.next_button
        number = DIGIT_KEYS.get(key)
        return buttons.buttons.get(number) if number is not None else None

    def press(self, key: int, modifiers) -> bool:
        """Press the button for ``key`` off the main thread, like a real GPIO edge."""
        button = self.button_for(key, modifiers)
        if button is None:
            return False
        threading.Thread(target=press_mock_pin, args=(button,), name=f"demo-press-{key}", daemon=True).start()
        return True

    # -- a screen with its own keyboard (the scanner's field) ----------------------------
    def feed(self, key: int, codepoint: str, modifiers, typed: Typed) -> bool:
        """A key on a screen that types: decided once the scanner's gap has passed."""
        item = (key, codepoint, list(modifiers or []), typed)
        for decision in self.splitter.key(item, time.monotonic(), enter=key in ENTER_KEYS):
            self._act(decision)
        self._schedule()
        return True

    def _schedule(self) -> None:
        if self.splitter.waiting():
            if self._check is not None:
                self._check.cancel()
            self._check = Clock.schedule_once(self._due, self.splitter.gap * 1.5)

    def _due(self, _dt) -> None:
        # Kivy may run this early (its clock counts from the last frame): ask again until decided.
        self._check = None
        for decision in self.splitter.due(time.monotonic()):
            self._act(decision)
        self._schedule()

    def _act(self, decision) -> None:
        kind, items = decision
        if kind == "lone":
            key, codepoint, modifiers, typed = items
            if not self.press(key, modifiers):
                typed(key, codepoint, modifiers)
            return
        for key, codepoint, modifiers, typed in items:  # the scanner: type it all, Enter included
            typed(key, codepoint, modifiers)
