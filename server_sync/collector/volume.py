"""How much one kiosk may send (docs/collector.md "How much a kiosk may send").

Two bounds, both per kiosk, sized so that a real kiosk never meets them and a stolen token
cannot fill the disk or the figures:

* **Upload rate**: a token bucket of ``BURST`` events refilled at ``RATE`` events a second.
  A batch that would overdraw it is refused whole with 429 and a Retry-After saying when it
  would fit; the kiosk keeps it and sends it again. A kiosk back after 30 days offline with a
  normal backlog (5,000 ratings) is well inside the burst, and what a batch did not store
  (duplicates resent after a lost ack) is given back; a much larger one drains at
  ``RATE`` (18,000 events an hour), losing nothing.
* **Event time**: at most ``HOUR_CAP`` events stored per kiosk per hour of (clock-corrected)
  event time, one a second for the whole hour. Events beyond it are acknowledged but not
  stored, and counted as dropped: refusing them would leave a kiosk resending the same batch
  for ever, while no real kiosk records that much (presses within ``buttons.repeat_window`` of
  each other are misuse anyway).

Refusals and drops are kept in memory and written to the kiosk's row with the next stored batch
(``flush``); the fleet page adds those not yet written.
"""

from __future__ import annotations

import math
import sqlite3
import threading
from dataclasses import dataclass

BURST = 20_000  # a month's backlog of a busy window's ratings and reasons
RATE = 5.0  # events per second
HOUR_CAP = 3_600


class TooMuch(Exception):
    """Refused for volume: answer 429 with Retry-After ``retry_after`` seconds."""

    def __init__(self, retry_after: int, message: str):
        self.retry_after = retry_after
        super().__init__(message)


@dataclass
class _Bucket:
    tokens: float
    at: float


class Limits:
    """The per-kiosk bounds of one collector process. ``clock`` returns seconds (monotonic or not)."""

    def __init__(self, clock, *, burst: int = BURST, rate: float = RATE, hour_cap: int = HOUR_CAP):
        self.clock, self.burst, self.rate, self.hour_cap = clock, burst, rate, hour_cap
        self._lock = threading.Lock()
        self._buckets: dict[int, _Bucket] = {}
        self._pending: dict[str, list] = {}  # kiosk name -> [refused events, dropped events, last at]

    def take(self, kiosk_id: int, name: str, n: int) -> None:
        """Spend ``n`` events of the kiosk's upload allowance, or raise TooMuch (nothing spent)."""
        if n <= 0:
            return
        now = self.clock()
        with self._lock:
            b = self._buckets.get(kiosk_id)
            if b is None:
                b = self._buckets[kiosk_id] = _Bucket(float(self.burst), now)
            b.tokens = min(float(self.burst), b.tokens + max(0.0, now - b.at) * self.rate)
            b.at = now
            if n <= b.tokens:
                b.tokens -= n
                return
            wait = max(1, math.ceil((min(n, self.burst) - b.tokens) / self.rate))
            self._note(name, refused=n)
        raise TooMuch(
            wait,
            f"機台上傳過多，請 {wait} 秒後再試 / kiosk {name!r} is sending too fast: "
            f"{n} events refused, retry in {wait} s",
        )

    def give_back(self, kiosk_id: int, n: int) -> None:
        """Return ``n`` events of an allowance spent on a batch: those it did not store (duplicates a
        kiosk resent after a lost ack, or a batch that failed). Only what is stored costs a kiosk."""
        if n <= 0:
            return
        with self._lock:
            b = self._buckets.get(kiosk_id)
            if b is not None:
                b.tokens = min(float(self.burst), b.tokens + n)

    def _note(self, name: str, *, refused: int = 0, dropped: int = 0) -> None:
        p = self._pending.setdefault(name, [0, 0, None])
        p[0] += refused
        p[1] += dropped
        p[2] = self.clock()

    def dropped(self, name: str, n: int) -> None:
        if n:
            with self._lock:
                self._note(name, dropped=n)

    def cap_hours(self, conn: sqlite3.Connection, kiosk_id: int, hours: list[int]) -> list[bool]:
        """Which of these events (by hour of event time, in order) fit under the hour cap; counts
        the ones that do (inside the caller's transaction)."""
        wanted: dict[int, int] = {}
        for h in hours:
            wanted[h] = wanted.get(h, 0) + 1
        room = {}
        for h in wanted:
            row = conn.execute("SELECT n FROM kiosk_hours WHERE kiosk = ? AND hour = ?", [kiosk_id, h]).fetchone()
            room[h] = self.hour_cap - (row[0] if row else 0)
        keep, kept = [], dict.fromkeys(wanted, 0)
        for h in hours:
            ok = kept[h] < room[h]
            kept[h] += ok
            keep.append(ok)
        conn.executemany(
            "INSERT INTO kiosk_hours (kiosk, hour, n) VALUES (?,?,?)"
            " ON CONFLICT (kiosk, hour) DO UPDATE SET n = n + excluded.n",
            [(kiosk_id, h, n) for h, n in kept.items() if n],
        )
        return keep

    def pending(self) -> dict[str, tuple[int, int]]:
        """Refused and dropped events per kiosk name not yet written to its row."""
        with self._lock:
            return {k: (v[0], v[1]) for k, v in self._pending.items()}

    def flush(self, conn: sqlite3.Connection, iso) -> dict[str, list]:
        """Add the pending counts to the kiosks' rows (inside the caller's transaction); return them,
        for ``restore`` if that transaction fails."""
        with self._lock:
            pending, self._pending = self._pending, {}
        if not pending:
            return pending
        conn.executemany(
            "UPDATE kiosks SET refused = refused + ?, dropped = dropped + ?, refused_at = ? WHERE name = ?",
            [(r, d, iso(at), name) for name, (r, d, at) in pending.items()],
        )
        return pending

    def restore(self, pending: dict[str, list]) -> None:
        """Put back counts whose flush was rolled back."""
        with self._lock:
            for name, (r, d, at) in pending.items():
                p = self._pending.setdefault(name, [0, 0, at])
                p[0] += r
                p[1] += d
