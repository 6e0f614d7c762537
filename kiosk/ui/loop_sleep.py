"""The idle main loop sleeps inside SDL until something happens, instead of waking on a beat.

Kivy's clock sleeps a fixed frame time (``maxfps``) and then looks for input, so an idle
window still wakes several times a second all day (kiosk/ui/frame_rate.py slows that beat
to ``IDLE_FPS``; it does not stop it). Once the frame rate has gone idle, ``LoopSleep``
replaces that sleep with ``SDL_WaitEventTimeout``: SDL blocks on the display connection
until a touch, a key or a window event arrives, or until the clock's next scheduled event
is due. What other threads hand the loop ends the wait too:

- anything scheduled on the clock (a stored button press, a queue call, a sync result)
  pushes an SDL user event while the loop sleeps (``Clock.on_schedule``);
- touches read by Kivy's kernel input providers (``hidinput``, ``mtdev``: a Pi's touch
  panel) go into queues that wake the loop as they are filled (``waking_providers``).

This only works where SDL really blocks: its x11 and wayland drivers. Elsewhere (kmsdrm on
Raspberry Pi OS Lite, or an SDL that is not Kivy's) SDL's wait polls every millisecond,
so ``LoopSleep.install`` declines and the frame rate's idle beat stays.

Kivy's own "interrupt" clock was measured and not used: with any event due within a frame
it stops sleeping altogether (150,000 loops a second here), and it still cannot see input.
The clock's sleep is an internal of Kivy 2.3 (pinned in pyproject.toml); ``install`` keeps
Kivy's sleep for the active frame rate and replaces only the idle one.
"""

from __future__ import annotations

import ctypes
import logging
import math
import struct
from collections import deque

from kiosk.ui.shared_libraries import loaded_library

log = logging.getLogger("kiosk.ui")

# Drivers whose SDL_WaitEventTimeout blocks on the display and can be woken from a thread.
BLOCKING_DRIVERS = ("x11", "wayland")
# Below this frame rate the loop is idle (FrameRate's idle rate when LoopSleep is on):
# it then sleeps until input or the clock's next event, and at most 1/fps.
SLEEPS_BELOW_FPS = 1.0
SDL_EVENT_SIZE = 56  # sizeof(SDL_Event) in SDL2: a union padded to 56 bytes


class LoopSleep:
    """The clock's idle sleep, done in ``SDL_WaitEventTimeout``.

    clock: Kivy's Clock (the default clock: its ``idle``, ``time``, ``get_min_timeout``,
    ``_max_fps`` and ``_last_tick``).
    sdl: the loaded SDL2 library (ctypes), with a video driver in ``BLOCKING_DRIVERS``.
    """

    def __init__(self, clock, sdl) -> None:
        self.clock, self.sdl = clock, sdl
        sdl.SDL_WaitEventTimeout.argtypes = [ctypes.c_void_p, ctypes.c_int]
        sdl.SDL_WaitEventTimeout.restype = ctypes.c_int
        sdl.SDL_PushEvent.argtypes = [ctypes.c_void_p]
        sdl.SDL_PushEvent.restype = ctypes.c_int
        sdl.SDL_RegisterEvents.argtypes = [ctypes.c_int]
        sdl.SDL_RegisterEvents.restype = ctypes.c_uint32
        kind = sdl.SDL_RegisterEvents(1)
        if kind == 0xFFFFFFFF:
            raise OSError("SDL has no user event type left")
        # Kivy's window reads unknown event types and drops them: the wake-up leaves no trace.
        self._wake_event = ctypes.create_string_buffer(struct.pack("<I", kind), SDL_EVENT_SIZE)
        self._kivy_idle = clock.idle
        self.asleep = False
        self.sleeps = 0  # idle sleeps so far, and how many input or a wake-up ended early
        self.woken = 0

    @classmethod
    def install(cls, clock) -> LoopSleep | None:
        """Take over ``clock``'s idle sleep, or None (and why, in the log) where SDL cannot block."""
        # Kivy's wheel loads its own copy (libSDL2-2-<hash>.0.so...), a system Kivy libSDL2-2.0.so;
        # libSDL2_image, _mixer and _ttf have "_" where these have "-".
        path = loaded_library("libSDL2-2")
        if path is None:
            log.info("main loop: idle beat (SDL not found in this process)")
            return None
        sdl = ctypes.CDLL(path)  # the library already loaded: the same handle, not a second copy
        sdl.SDL_GetCurrentVideoDriver.restype = ctypes.c_char_p
        driver = (sdl.SDL_GetCurrentVideoDriver() or b"").decode()
        if driver not in BLOCKING_DRIVERS:
            log.info("main loop: idle beat (SDL video driver %s cannot wait for input)", driver or "none")
            return None
        sleep = cls(clock, sdl)
        clock.idle = sleep.idle
        clock.on_schedule = sleep.scheduled
        log.info("main loop: sleeps until input when idle (SDL %s)", driver)
        return sleep

    def idle(self) -> float:
        """Kivy's ``Clock.idle``: wait for the next frame; when idle, for input or the next event."""
        clock = self.clock
        fps = clock._max_fps
        if fps <= 0 or fps >= SLEEPS_BELOW_FPS:
            return self._kivy_idle()  # drawing: Kivy's own frame pacing
        now = clock.time()
        until = min(clock.get_min_timeout(), clock._last_tick + 1 / fps)
        if until > now:
            self.sleeps += 1
            self.asleep = True
            try:
                if self.sdl.SDL_WaitEventTimeout(None, math.ceil((until - now) * 1000)):
                    self.woken += 1
            finally:
                self.asleep = False
        current = clock.time()
        clock._dt = current - clock._last_tick
        clock._last_tick = current
        return current

    def wake(self) -> None:
        """End the sleep now (from any thread): something needs the loop."""
        if self.asleep:
            self.sdl.SDL_PushEvent(self._wake_event)

    def scheduled(self, _event) -> None:
        """``Clock.on_schedule``: an event scheduled while the loop sleeps may be due before its wake."""
        self.wake()


class _Wakes:
    """A provider's queue that wakes the sleeping loop as its thread fills it."""

    def append(self, item) -> None:
        super().append(item)  # type: ignore[misc]
        waking_providers.wake()


class _WakingDeque(_Wakes, deque):
    """The touch queue (hidinput, mtdev)."""


class _WakingList(_Wakes, list):
    """hidinput's queue of key and mouse-position events."""


class _Waking:
    """A provider attribute that turns the queue ``start()`` assigns into a waking one."""

    def __init__(self, make: type) -> None:
        self.make = make

    def __set_name__(self, _owner, name: str) -> None:
        self.name = "_waking_" + name

    def __get__(self, obj, _owner=None):
        return self if obj is None else obj.__dict__.get(self.name)

    def __set__(self, obj, value) -> None:
        obj.__dict__[self.name] = self.make(value)


class _ProviderWake:
    """Where the kernel input providers' queues send their wake-ups (set once LoopSleep is on)."""

    def __init__(self) -> None:
        self.sleep: LoopSleep | None = None

    def wake(self) -> None:
        if self.sleep is not None:
            self.sleep.wake()

    def register(self, factory) -> list[str]:
        """Replace Kivy's hidinput and mtdev providers in ``factory`` by ones whose queues wake
        the loop; before the app runs, since Kivy creates its providers as it starts."""
        replaced = []
        for name, attrs in (("hidinput", ("queue", "dispatch_queue")), ("mtdev", ("queue",))):
            base = factory.get(name)
            if base is None or getattr(base, "_wakes_loop", False):
                continue
            body: dict[str, object] = {"_wakes_loop": True}
            for attr in attrs:
                body[attr] = _Waking(_WakingList if attr == "dispatch_queue" else _WakingDeque)
            factory.register(name, type("Waking" + base.__name__, (base,), body))
            replaced.append(name)
        return replaced


waking_providers = _ProviderWake()
