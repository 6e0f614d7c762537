"""The background thread of `kiosk run`: a sync round every interval, backing off on failure.

The UI never waits for it: the thread has its own SQLite connection and HTTP
session, and ``stop`` only asks it to finish (it is a daemon, so a request
stuck until its read timeout never holds up shutdown).
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable

from server_sync.client.errors import SyncError
from server_sync.client.push import RoundResult, SyncClient

log = logging.getLogger(__name__)

BACKOFF_CAP = 600.0  # ten minutes


class Backoff:
    """Exponential backoff with full jitter: wait uniform(0, min(cap, base * 2**n)) after n+1 failures.

    Jitter keeps a room full of kiosks from hammering a collector that just came back
    all at the same second. ``reset`` after a success.
    """

    def __init__(self, base: float = 5.0, cap: float = BACKOFF_CAP, rng: random.Random | None = None):
        if base <= 0 or cap <= 0:
            raise ValueError("base and cap must be above 0")
        self.base, self.cap = base, cap
        self.rng = rng or random.Random()
        self.failures = 0

    def ceiling(self) -> float:
        """The upper bound of the next delay."""
        # min() before the power would overflow after ~1,000 failures; clamp the exponent.
        return min(self.cap, self.base * 2 ** min(self.failures, 64))

    def next_delay(self) -> float:
        """Seconds to wait after one more failure."""
        delay = self.rng.uniform(0, self.ceiling())
        self.failures += 1
        return delay

    def reset(self) -> None:
        self.failures = 0


class SyncWorker:
    """Runs ``client.run_round`` in a daemon thread.

    interval: seconds between rounds while all is well ([sync] interval).
    backoff: delays between failed rounds (default: base 5 s, capped at 10 minutes).
    on_round: called with each RoundResult, in the worker thread.
    """

    def __init__(
        self,
        client: SyncClient,
        *,
        interval: float = 30.0,
        backoff: Backoff | None = None,
        on_round: Callable[[RoundResult], None] = lambda result: None,
    ):
        self.client = client
        self.interval = interval
        self.backoff = backoff or Backoff()
        self.on_round = on_round
        self.last_result: RoundResult | None = None
        self.rounds = 0
        self._wake = threading.Event()
        self._stopping = False
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="kiosk-sync", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """Run the next round now (e.g. after the network came back)."""
        self._wake.set()

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping = True
        self._wake.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout)
            if thread.is_alive():
                # Mid-request until its read timeout; it checks _stopping right after.
                log.warning("sync thread still busy after %.0f s; leaving it (daemon)", timeout)
                return
        self.client.close()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def next_delay(self, result: RoundResult) -> float:
        if result.error is None:
            self.backoff.reset()
            return self.interval
        if result.sent:  # progress before the failure: the link works, try again soon
            self.backoff.reset()
        return self.backoff.next_delay()

    def _run(self) -> None:
        while not self._stopping:
            try:
                result = self.client.run_round()
            except Exception as exc:  # a bug must not kill the thread for good
                log.exception("sync round crashed")
                result = RoundResult(
                    error=SyncError("同步程式發生內部錯誤", "the sync client hit an internal error", repr(exc)[:300])
                )
                delay = self.backoff.next_delay()
            else:
                delay = self.next_delay(result)
            self.last_result = result
            self.rounds += 1
            try:
                self.on_round(result)
            except Exception:
                log.exception("sync on_round callback failed")
            if self._stopping:
                break
            self._wake.wait(delay)
            self._wake.clear()
