"""From a pressed button to a stored rating: the repeat-press rule and reasons.

A press within ``repeat_window`` seconds of the previous press (any button) is
stored but flagged ``misuse`` and left out of every count, as HappyOrNot
terminals do: one visitor hammering a button must not outvote the queue.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from kiosk.store import Store
from server_sync.wire.events import Event


@dataclass(frozen=True)
class PressOutcome:
    """What became of one press; returned only once it is durably stored."""

    event: Event
    level: int

    @property
    def counted(self) -> bool:
        return not self.event.misuse


class RatingRecorder:
    """Records presses and follow-up reasons in the store.

    repeat_window: seconds after a press in which another press is flagged misuse.
    """

    def __init__(self, store: Store, *, repeat_window: float = 5.0):
        self.store = store
        self.repeat_window = repeat_window
        self._last_press: float | None = None
        self._lock = threading.Lock()
        # Ties a rating to the visitor's ticket: returns (ref, detail) or None (kiosk.queue.Queue.rating_link).
        self.link: Callable[[], tuple[str, dict] | None] | None = None

    def press(self, level: int) -> PressOutcome:
        """Store a press of the button for ``level``; raises StoreUnavailable if it could not be."""
        with self._lock:
            now = self.store.clock.monotonic()
            misuse = self._last_press is not None and now - self._last_press < self.repeat_window
            ref, detail = (self.link() if self.link else None) or (None, None)
            event = self.store.append("rating", level=level, misuse=misuse, ref=ref, detail=detail)
            # Only a stored press restarts the window: a press the disk refused never happened.
            self._last_press = now
            return PressOutcome(event, level)

    def reason(self, rating: Event, code: str) -> Event:
        """Store the follow-up reason a visitor chose for ``rating``."""
        return self.store.append("reason", ref=rating.id, level=rating.level, detail={"reason": code})
