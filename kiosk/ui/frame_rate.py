"""How often Kivy's main loop wakes: briskly while something changes, rarely when nothing does.

Kivy's default clock wakes ``maxfps`` times a second whether or not anything
moves, and each wake costs the same (polling input, ticking timers): on the
idle home screen, all day, that is most of the kiosk's CPU. So the loop runs at
``active`` frames a second while frames are being drawn or a finger or key is
down, and drops to ``idle`` once nothing has been drawn for ``linger`` seconds.
The idle rate bounds how long the first touch after a quiet spell waits to be
read (1/idle s), unless the loop sleeps until input (kiosk/ui/loop_sleep.py, on X11 and
Wayland): then a touch, a key or a handed-over button press ends the sleep at once, and
the idle rate is only the longest sleep when no timer is due (SLEEPING_IDLE_FPS).

Kivy has no public setter for the frame rate of a running clock; it reads
``Config['graphics']['maxfps']`` once into the clock's ``_max_fps``, which its
``idle()`` reads every frame (Kivy 2.3, pinned in pyproject.toml).
"""

from __future__ import annotations

from collections.abc import Callable

ACTIVE_FPS = 30
IDLE_FPS = 4  # the first touch after a quiet spell is read within a quarter of a second
# Where the loop sleeps until input (kiosk/ui/loop_sleep.py) the idle "rate" is only the
# longest sleep with nothing scheduled: a touch or a press ends it at once.
SLEEPING_IDLE_FPS = 1 / 60
LINGER_SECONDS = 2.0


class FrameRate:
    """Switches ``clock`` between ``active`` and ``idle`` frames a second.

    clock: Kivy's Clock (or anything with ``_max_fps`` and ``schedule_once``).
    now: a monotonic time source (the clock's own in the app, a fake one in tests).
    """

    def __init__(
        self,
        clock,
        now: Callable[[], float],
        *,
        active: float = ACTIVE_FPS,
        idle: float = IDLE_FPS,
        linger: float = LINGER_SECONDS,
    ):
        self.clock, self.now = clock, now
        self.active, self.idle, self.linger = active, idle, linger
        self._last_change = now()
        self._settle_pending = False
        self._set(active)  # start-up draws; the first settle brings it down

    @property
    def fps(self) -> float:
        return self.clock._max_fps

    def _set(self, fps: float) -> None:
        self.clock._max_fps = float(fps)

    def changed(self, *_args) -> None:
        """Something was drawn, touched or pressed: run at the active rate for a while."""
        self._last_change = self.now()
        if self.fps != self.active:
            self._set(self.active)
        if not self._settle_pending:
            self._settle_pending = True
            self.clock.schedule_once(self._settle, self.linger)

    def _settle(self, _dt=None) -> None:
        quiet = self.now() - self._last_change
        if quiet >= self.linger:
            self._settle_pending = False
            self._set(self.idle)
        else:  # changed again meanwhile: look again when that change is old enough
            self.clock.schedule_once(self._settle, self.linger - quiet)
