"""The physical rating buttons and their confirmation LEDs, through gpiozero.

Hardware sits behind gpiozero's pin factory: on a Pi the default (lgpio on
Bookworm), in demo and tests ``MockFactory``. Nothing here knows which.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from gpiozero import LED, Button

from kiosk.config import Level
from kiosk.quiet_button import QuietButton
from kiosk.ratings import PressOutcome, RatingRecorder
from kiosk.store import StoreUnavailable
from server_sync.wire.events import BUTTON_RELEASED, BUTTON_STUCK

log = logging.getLogger(__name__)
# A press held this long is no visitor's: a stuck or taped button (docs/admin.md "Tamper and
# health alerts"); the kiosk records button_stuck, and button_released when it lets go.
STUCK_SECONDS = 30.0


class PressFailed:
    """A press that could not be stored; nothing was acknowledged."""

    def __init__(self, level: int, error: StoreUnavailable):
        self.level, self.error = level, error


class _LedTimer:
    """Lights LEDs at once and turns each off when its time is up, from one thread.

    gpiozero's ``blink`` starts a new thread per call, which cost more than the
    durable commit itself on every press (bench/bench_press.py).
    """

    def __init__(self):
        self._cond = threading.Condition()
        self._due: dict[LED, float] = {}
        self._thread: threading.Thread | None = None
        self._closed = False

    def light(self, led: LED, seconds: float) -> None:
        with self._cond:  # on() and the timer's off() never interleave
            if self._closed:
                return
            led.on()
            due = time.monotonic() + seconds
            # Wake the timer only if this LED is due before anything it already waits for.
            wake = not self._due or due < min(self._due.values())
            self._due[led] = due
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="kiosk-leds", daemon=True)
                self._thread.start()
            elif wake:
                self._cond.notify()

    def _run(self) -> None:
        with self._cond:
            while not self._closed:
                now = time.monotonic()
                for led, due in list(self._due.items()):
                    if due <= now:
                        del self._due[led]
                        try:
                            led.off()
                        except Exception:  # closed under us; nothing left to turn off
                            log.debug("LED already closed", exc_info=True)
                self._cond.wait(min(self._due.values()) - now if self._due else None)

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._due.clear()
            self._cond.notify()
        if self._thread is not None:
            self._thread.join()


class RatingButtons:
    """One gpiozero ``Button`` (and optional ``LED``) per rating level.

    recorder: stores each press before anything is acknowledged.
    listener: called with a ``PressOutcome`` or ``PressFailed`` after each press.
    pull_up: True when a button connects its pin to ground.
    bounce_time: seconds of contact bounce to ignore after a press.
    led_seconds: how long an LED lights to confirm a stored press.
    next_pin: the staff "next" button's pin, or None.
    on_next: called when the staff "next" button is pressed.
    pin_factory: gpiozero pin factory; None means gpiozero's default.
    stuck_seconds: a button held this long is recorded as stuck (and as released when it lets go).
    """

    def __init__(
        self,
        levels: list[Level],
        recorder: RatingRecorder,
        *,
        listener: Callable[[object], None] = lambda outcome: None,
        pull_up: bool = True,
        bounce_time: float | None = 0.05,
        led_seconds: float = 1.0,
        next_pin=None,
        on_next: Callable[[], None] = lambda: None,
        pin_factory=None,
        stuck_seconds: float = STUCK_SECONDS,
    ):
        self.recorder = recorder
        self.listener = listener
        self.bounce_time = bounce_time or 0.0
        self.led_seconds = led_seconds
        self.on_next = on_next
        self.buttons: dict[int, Button] = {}
        self.leds: dict[int, LED] = {}
        self._last_edge: dict[int, float] = {}
        self._led_timer = _LedTimer()
        self._stuck: set[int] = set()
        kw = {"pin_factory": pin_factory} if pin_factory is not None else {}
        for level in levels:
            button = QuietButton(
                level.pin, pull_up=pull_up, bounce_time=bounce_time or None, hold_time=stuck_seconds, **kw
            )
            button.when_pressed = lambda _dev=None, n=level.number: self._pressed(n)
            button.when_held = lambda _dev=None, n=level.number: self._held(n, stuck_seconds)
            button.when_released = lambda _dev=None, n=level.number: self._released(n)
            self.buttons[level.number] = button
            if level.led is not None:
                self.leds[level.number] = LED(level.led, **kw)
        self.next_button = None
        if next_pin is not None:
            self.next_button = QuietButton(next_pin, pull_up=pull_up, bounce_time=bounce_time or None, **kw)
            self.next_button.when_pressed = lambda _dev=None: self.on_next()

    def _pressed(self, level: int) -> None:
        # gpiozero passes bounce_time to the pin driver (lgpio debounces in the
        # kernel); this guard repeats the check NativePin does in software, so a
        # driver without debounce (MockPin has none) cannot double-count a press.
        now = self.recorder.store.clock.monotonic()
        last = self._last_edge.get(level)
        if last is not None and 0 <= now - last < self.bounce_time:
            log.debug("Ignored bounce on level %s button", level)
            return
        self._last_edge[level] = now
        try:
            outcome = self.recorder.press(level)
        except StoreUnavailable as exc:
            log.error("Press on level %s not stored: %s", level, exc)
            self.listener(PressFailed(level, exc))
            return
        if outcome.counted and level in self.leds:
            # Lit before the listener hears of the press; turned off led_seconds later.
            self._led_timer.light(self.leds[level], self.led_seconds)
        self.listener(outcome)

    def _held(self, level: int, seconds: float) -> None:
        self._stuck.add(level)
        log.warning("Level %s button held for %.0f s: recorded as stuck", level, seconds)
        self._record_state(BUTTON_STUCK, level, {"held_seconds": seconds})

    def _released(self, level: int) -> None:
        if level in self._stuck:
            self._stuck.discard(level)
            self._record_state(BUTTON_RELEASED, level, None)

    def _record_state(self, type_: str, level: int, detail: dict | None) -> None:
        try:
            self.recorder.store.append(type_, level=level, detail=detail)
        except StoreUnavailable as exc:  # the notice is the press path's; a lost state event is only logged
            log.error("%s of level %s not stored: %s", type_, level, exc)

    def close(self) -> None:
        self._led_timer.close()
        for device in [*self.buttons.values(), *self.leds.values(), self.next_button]:
            if device is not None:
                device.close()


def press_mock_pin(button: Button, *, hold: float = 0.0) -> None:
    """Press and release a button wired to a gpiozero MockFactory pin (demo keys, simulate)."""
    import time

    pin = button.pin
    pressed_low = button.pull_up
    (pin.drive_low if pressed_low else pin.drive_high)()
    if hold:
        time.sleep(hold)
    (pin.drive_high if pressed_low else pin.drive_low)()


__all__ = ["PressFailed", "PressOutcome", "RatingButtons", "press_mock_pin"]
