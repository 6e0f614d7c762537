"""Turns on the event loop (server_sync/collector/turns.py): a burst of requests is spread over loop
iterations, first come first served, and whatever else is ready runs between them."""

from __future__ import annotations

import asyncio

import pytest

from server_sync.collector.turns import Turns


class Iterations:
    """Counts event-loop iterations: a callback that re-schedules itself runs once per iteration."""

    def __init__(self, loop: asyncio.AbstractEventLoop):
        self.n = 0
        self._loop = loop
        self._stopped = False
        loop.call_soon(self._tick)

    def _tick(self) -> None:
        if not self._stopped:
            self.n += 1
            self._loop.call_soon(self._tick)

    def stop(self) -> None:
        self._stopped = True


async def _burst(turns: Turns, n: int) -> list[tuple[int, int]]:
    """n requests arriving in one iteration; (request, iteration it got its turn) in turn order."""
    it = Iterations(asyncio.get_running_loop())
    order: list[tuple[int, int]] = []

    async def request(i: int) -> None:
        await turns.take()
        order.append((i, it.n))

    await asyncio.gather(*(request(i) for i in range(n)))
    it.stop()
    return order


def test_a_burst_gets_at_most_its_turns_per_iteration_first_come_first_served():
    order = asyncio.run(_burst(Turns(per_iteration=3), 10))

    assert [i for i, _ in order] == list(range(10))
    per_iteration: dict[int, int] = {}
    for _, iteration in order:
        per_iteration[iteration] = per_iteration.get(iteration, 0) + 1
    assert max(per_iteration.values()) <= 3
    assert len(per_iteration) >= 4  # ten requests, three a turn: four iterations at least


def test_what_else_is_ready_runs_while_the_burst_waits():
    async def scenario() -> tuple[int, int]:
        turns = Turns(per_iteration=2)
        passed: list[int] = []
        health_done_after: list[int] = []

        async def request(i: int) -> None:
            await turns.take()
            passed.append(i)

        async def health() -> None:
            await asyncio.sleep(0)  # arrives one iteration after the burst
            health_done_after.append(len(passed))

        await asyncio.gather(*(request(i) for i in range(20)), health())
        return health_done_after[0], len(passed)

    answered_after, total = asyncio.run(scenario())
    assert total == 20
    assert answered_after < 20 // 2  # answered while most of the burst still waited for its turn


def test_a_request_cancelled_while_waiting_gives_its_turn_on():
    async def scenario() -> list[int]:
        turns = Turns(per_iteration=1)
        passed: list[int] = []

        async def request(i: int) -> None:
            await turns.take()
            passed.append(i)

        tasks = [asyncio.create_task(request(i)) for i in range(4)]
        await asyncio.sleep(0)  # all four have asked; the first got through
        tasks[1].cancel()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        assert isinstance(results[1], asyncio.CancelledError)
        assert turns.waiting() == 0
        return passed

    assert asyncio.run(scenario()) == [0, 2, 3]


def test_turns_start_afresh_on_a_new_event_loop():
    turns = Turns(per_iteration=1)
    first = asyncio.run(_burst(turns, 3))
    second = asyncio.run(_burst(turns, 3))
    assert [i for i, _ in first] == [i for i, _ in second] == [0, 1, 2]


@pytest.mark.parametrize("per_iteration", [1, 4])
def test_fewer_requests_than_turns_pass_without_waiting_an_iteration(per_iteration):
    async def scenario() -> int:
        turns = Turns(per_iteration=per_iteration)
        it = Iterations(asyncio.get_running_loop())
        await turns.take()
        it.stop()
        return it.n

    assert asyncio.run(scenario()) == 0
