"""Turns on the event loop: how many requests may do their CPU-heavy part in one loop iteration.

In a reconnect storm hundreds of batches arrive together. Each request decodes and validates its
body on the event loop (cheaper than a hop to a thread), and asyncio runs every task that became
ready in the same iteration before it polls the sockets again, so a burst of 300 batches is one
iteration of 300 validations, and a health check that came in meanwhile waits that long, three
times over (accept, read, answer). Waiting for a turn spreads the burst over iterations, a few
validations each, with the sockets polled in between: the health check, a dashboard request and
the acks of committed batches are served between turns. The total work, and so the throughput,
is the same.
"""

from __future__ import annotations

import asyncio
from collections import deque

PER_ITERATION = 4  # a 20-event batch validates in about 0.3 ms here: 4 keep an iteration near 1-2 ms


class Turns:
    """``await turns.take()`` returns at once while this iteration has turns left and nobody is
    waiting, else in a later iteration, first come first served. One per event loop (a worker
    process has one); not thread-safe, like everything on the loop."""

    def __init__(self, per_iteration: int = PER_ITERATION):
        self.per_iteration = per_iteration
        self._left = per_iteration
        self._waiting: deque[asyncio.Future[None]] = deque()
        self._refill_scheduled = False
        self._loop: asyncio.AbstractEventLoop | None = None

    async def take(self) -> None:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # a new loop (the app served again, as tests do): start afresh
            self._loop, self._left, self._waiting, self._refill_scheduled = loop, self.per_iteration, deque(), False
        if self._left > 0 and not self._waiting:
            self._left -= 1
            self._schedule_refill()
            return
        fut: asyncio.Future[None] = loop.create_future()
        self._waiting.append(fut)
        self._schedule_refill()
        try:
            await fut
        except asyncio.CancelledError:
            # A request cancelled while waiting (the client went away) gives its turn on; a future
            # already resolved was counted as a turn taken, which is harmless.
            if fut in self._waiting:
                self._waiting.remove(fut)
            raise

    def waiting(self) -> int:
        return len(self._waiting)

    def _schedule_refill(self) -> None:
        if not self._refill_scheduled:
            self._refill_scheduled = True
            # call_soon: runs in the next iteration, after the loop has polled the sockets.
            assert self._loop is not None
            self._loop.call_soon(self._refill)

    def _refill(self) -> None:
        self._refill_scheduled = False
        self._left = self.per_iteration
        while self._left > 0 and self._waiting:
            fut = self._waiting.popleft()
            if not fut.done():
                fut.set_result(None)  # the waiter runs in the iteration after this one
                self._left -= 1
        if self._waiting:
            self._schedule_refill()
