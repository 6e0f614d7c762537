"""The staff panel's PIN checks, with a lock-out that survives restarts.

The config holds only the PIN's hash (``queue.staff_pin_hash``, kiosk/pinhash.py).
Lock schedule: the first ``FREE_TRIES`` wrong PINs in a row cost nothing; the
fifth locks the panel for a minute, and each further wrong PIN locks it twice as
long as the last, up to an hour (1, 2, 4, 8, 16, 32, 60, 60 … minutes). While
locked no PIN is checked at all. Only the right PIN resets the count; a restart
does not, because the count and the lock live in the kiosk's SQLite file (table
``staff_pin_lock``), written durably before "wrong" or "unlocked" is shown. So
after eleven wrong tries the touchscreen allows one guess an hour: the million
6-digit PINs take over a century.

Times are wall-clock unix seconds from the store's clock, so a lock outlasts a
reboot. A lock that seems longer than its own length means the clock went back
(a Pi has no RTC and may boot on an old time): it is cut to its length from now,
never dropped.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass

from kiosk.pinhash import check_pin
from kiosk.store import SideTables, unavailable

FREE_TRIES = 5  # wrong PINs in a row before the first lock
FIRST_LOCK = 60.0  # seconds; doubled for each further wrong PIN
MAX_LOCK = 3600.0


def lock_seconds(failures: int) -> float:
    """How long the panel stays locked after ``failures`` wrong PINs in a row (0: not locked)."""
    if failures < FREE_TRIES:
        return 0.0
    return min(MAX_LOCK, FIRST_LOCK * 2 ** min(failures - FREE_TRIES, 16))


@dataclass(frozen=True)
class Attempt:
    """The answer to one PIN entered."""

    unlocked: bool
    checked: bool = True  # False: refused unchecked, the panel was locked
    locked_for: float = 0.0  # seconds the panel stays locked (this try locked it, or it was already)
    failures: int = 0  # wrong PINs in a row so far


@dataclass
class StaffPinGuard(SideTables):
    """PIN checks against ``pin_hash`` with the lock kept in ``store``'s SQLite file.

    check: the hash check; tests may swap in a cheaper one.
    """

    pin_hash: str
    check: Callable[[str, str], bool] = check_pin

    def _now(self) -> float:
        return self.store.clock.now().timestamp()

    def _state(self, conn: sqlite3.Connection, now: float) -> tuple[int, float]:
        """(failures, seconds still locked), a lock from a clock gone back cut to its length from now."""
        row = conn.execute("SELECT failures, locked_until, lock_seconds FROM staff_pin_lock WHERE id = 1").fetchone()
        if row is None:
            return 0, 0.0
        failures, until, length = row
        left = (until or 0.0) - now
        if left <= 0:
            return failures, 0.0
        if left > length:
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.execute("UPDATE staff_pin_lock SET locked_until = ? WHERE id = 1", [now + length])
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            left = length
        return failures, left

    def locked_for(self) -> float:
        """Seconds the panel stays locked from now (0 when a PIN may be tried). Raises StoreUnavailable."""
        try:
            return self._state(self.conn(), self._now())[1]
        except sqlite3.Error as exc:
            raise unavailable(exc, self.store.data_dir) from exc

    def attempt(self, pin: str) -> Attempt:
        """Check ``pin`` unless locked; the new count and lock are durable before this returns.

        Raises StoreUnavailable when the count cannot be read or written: then nothing unlocks.
        """
        try:
            conn = self.conn()
            failures, left = self._state(conn, self._now())
        except sqlite3.Error as exc:
            raise unavailable(exc, self.store.data_dir) from exc
        if left:
            return Attempt(False, False, left, failures)
        # The slow hash runs outside any transaction: presses keep being stored meanwhile.
        right = bool(pin) and self.check(pin, self.pin_hash)
        now = self._now()
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                row = conn.execute("SELECT failures FROM staff_pin_lock WHERE id = 1").fetchone()
                failures = 0 if right else (row[0] if row else 0) + 1
                length = lock_seconds(failures)
                if not right:
                    conn.execute(
                        "INSERT OR REPLACE INTO staff_pin_lock (id, failures, locked_until, lock_seconds)"
                        " VALUES (1, ?, ?, ?)",
                        [failures, now + length if length else None, length],
                    )
                elif row is not None:  # no row: nothing to forget, spare the SD card a write
                    conn.execute("DELETE FROM staff_pin_lock WHERE id = 1")
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            raise unavailable(exc, self.store.data_dir) from exc
        return Attempt(right, True, length, failures)
