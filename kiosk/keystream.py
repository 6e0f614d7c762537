"""Telling a barcode scanner's typing from single key presses, by timing alone.

A USB scanner is a keyboard that types a whole case number in a few
milliseconds and ends with Enter; a person presses one key at a time. In demo
mode keys 1–5 and N press the kiosk's buttons on every screen, including the
case lookup, whose field a scanner types into: a key that arrives on its own is
a press, a fast burst is the scanner's. Plain Python with the time passed in,
so tests drive it without a window or a clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SCANNER_GAP = 0.1  # seconds: a scanner types far faster than this between keys; two separate presses are slower


@dataclass
class KeySplitter:
    """Groups keys into a lone key or a scanner's burst.

    gap: longest pause inside a burst. ``key`` and ``due`` return what is decided:
    ``("lone", item)`` for a key with no neighbour within ``gap``, ``("burst", [items])``
    for two or more keys each within ``gap`` of the one before (an Enter ends a burst).
    A lone key is known only once ``gap`` has passed with nothing after it.
    """

    gap: float = SCANNER_GAP
    _pending: list[Any] = field(default_factory=list)
    _last: float = 0.0

    def key(self, item: Any, now: float, *, enter: bool = False) -> list[tuple[str, Any]]:
        decided = self.due(now)
        self._pending.append(item)
        self._last = now
        if enter:
            decided += self._flush()
        return decided

    def due(self, now: float) -> list[tuple[str, Any]]:
        """What the pause since the last key decides (call ``gap`` after a key)."""
        if self._pending and now - self._last > self.gap:
            return self._flush()
        return []

    def waiting(self) -> bool:
        return bool(self._pending)

    def _flush(self) -> list[tuple[str, Any]]:
        pending, self._pending = self._pending, []
        if len(pending) == 1:
            return [("lone", pending[0])]
        return [("burst", pending)]
