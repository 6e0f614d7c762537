"""One queue for the whole office: the host's queue across windows (kiosk.queue with office=True).

Services at windows "1;2" share one line that either window calls from; presses carry
idempotency keys; a transfer keeps the number; the queue is rebuilt from the host's log.
"""

from __future__ import annotations

import threading

import pytest
from queuehelp import MONDAY_9AM

from kiosk.clock import SimulatedClock
from kiosk.queue import LocalDirectory, Queue, QueueRefused
from kiosk.store import Store


@pytest.fixture
def office(tmp_path, directory_file):
    clock = SimulatedClock(MONDAY_9AM)

    def open_queue():
        store = Store(tmp_path / "host", kiosk_id="host", unit="第一組", window="", clock=clock)
        directory = LocalDirectory(store, directory_file)
        return store, Queue(store, window="", directory=directory.get, office=True)

    store, queue = open_queue()
    queue.reopen = open_queue  # type: ignore[attr-defined]
    yield clock, store, queue
    store.close()


def test_either_window_calls_from_a_shared_line_and_each_only_its_services(office):
    clock, _, queue = office
    bulletin = [queue.issue("election_bulletin").number for _ in range(2)]  # windows 1;2
    roll = queue.issue("electoral_roll").number  # window 2 only
    registration = queue.issue("candidate_registration").number  # window 1 only
    assert queue.call_next(window="1").called.number == bulletin[0]
    assert queue.call_next(window="2").called.number == bulletin[1]
    clock.advance(10)
    assert queue.call_next(window="1").called.number == registration  # the roll question is not window 1's
    assert queue.call_next(window="2").called.number == roll
    clock.advance(10)
    assert queue.call_next(window="1").called is None
    assert {w: t.number for w, t in queue.serving.items()} == {"2": roll}


def test_many_windows_pressing_at_once_call_every_ticket_once(office, tmp_path):
    clock, store, queue = office
    issued = [queue.issue(code).number for code in ["polling_place", "election_bulletin"] * 15]
    called: list[str] = []
    start = threading.Barrier(4)

    def window(name: str):
        start.wait()
        for _ in range(10):
            outcome = queue.call_next(window=name, press=f"{name}-{len(called)}-{threading.get_ident()}")
            if outcome.called is not None and not outcome.ignored:
                called.append(outcome.called.number)
            clock.advance(NEXT_GUARD_STEP)

    threads = [threading.Thread(target=window, args=(w,)) for w in ("1", "2", "1", "2")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    while (outcome := queue.call_next(window="1")).called is not None:
        called.append(outcome.called.number)
        clock.advance(NEXT_GUARD_STEP)
    assert sorted(called) == sorted(issued)  # none twice, none skipped
    stored = [e.detail["ticket"] for e in store.events(type="ticket_called")]
    assert sorted(stored) == sorted(issued)


NEXT_GUARD_STEP = 3.5  # past kiosk.queue.NEXT_GUARD: each press is a real one


def test_a_retried_press_is_not_a_second_call(office):
    clock, store, queue = office
    first, second = queue.issue("polling_place"), queue.issue("polling_place")
    again = queue.issue("polling_place", press="entrance-7")
    assert queue.issue("polling_place", press="entrance-7").number == again.number
    one = queue.call_next(window="1", press="w1-a")
    clock.advance(10)
    retry = queue.call_next(window="1", press="w1-a")
    assert one.called.number == retry.called.number == first.number
    assert store.count("ticket_called") == 1
    assert queue.recall(window="1", press="w1-b").recall
    assert queue.recall(window="1", press="w1-b").called.number == first.number
    assert store.count("ticket_called") == 2
    assert [t.number for t in queue.waiting] == [second.number, again.number]


def test_the_host_rebuilds_every_window_from_its_log(office):
    clock, store, queue = office
    for _ in range(4):
        queue.issue("election_bulletin")
    queue.call_next(window="1", press="p1")
    queue.call_next(window="2", press="p2")
    clock.advance(60)
    before = ({w: t.number for w, t in queue.serving.items()}, [t.number for t in queue.waiting])
    store.close()
    store, again = queue.reopen()
    assert ({w: t.number for w, t in again.serving.items()}, [t.number for t in again.waiting]) == before
    assert again.call_next(window="1", press="p1").called.number == before[0]["1"]  # the old press, remembered
    store.close()


@pytest.mark.parametrize("front", [False, True])
def test_a_transfer_keeps_the_number_and_counts_both_services(office, front):
    clock, store, queue = office
    visitor = queue.issue("polling_place")
    waiting = queue.issue("election_bulletin")
    queue.call_next(window="1")
    clock.advance(120)
    outcome = queue.transfer("election_bulletin", window="1", front=front)
    assert outcome.transferred.number == visitor.number and "1" not in queue.serving
    assert [t.number for t in queue.waiting] == (
        [visitor.number, waiting.number] if front else [waiting.number, visitor.number]
    )
    clock.advance(30)
    called = queue.call_next(window="2").called
    assert called.number == (visitor.number if front else waiting.number)
    served = [e.detail for e in store.events(type="ticket_served")]
    assert served[0]["service_seconds"] == pytest.approx(120) and served[0]["transferred_to"] == "election_bulletin"
    if front:
        call = [e for e in store.events(type="ticket_called")][-1]
        assert call.window == "2" and call.detail["wait_seconds"] == pytest.approx(30)  # counted from the transfer


def test_a_transfer_names_what_is_wrong(office):
    _, _, queue = office
    with pytest.raises(QueueRefused, match="serving no number"):
        queue.transfer("polling_place", window="1")
    queue.issue("polling_place")
    queue.call_next(window="1")
    with pytest.raises(QueueRefused, match="does not serve"):
        queue.transfer("electoral_roll", window="1", to_window="1")
    with pytest.raises(QueueRefused, match="No such service"):
        queue.transfer("nothing", window="1")


def test_the_wait_is_shared_among_the_windows_of_a_line(office):
    _, _, queue = office
    for _ in range(4):
        queue.issue("polling_place")  # windows 1;2, 4 minutes typical
        queue.issue("electoral_roll")  # window 2 only, 6 minutes typical
    both = queue.status("polling_place")
    one = queue.status("candidate_registration")  # window 1 only; window 1 also serves polling_place
    assert both.ahead == 8  # window 2 also takes the roll questions, so they come before a new ticket
    assert one.ahead == 4
    # Both windows free, the eight in line order (4, 6, 4, 6 … minutes) each to the window that frees
    # first: the windows free at 18 and 22 minutes, so a new ticket is called at 18 (not the 20 of
    # all the work divided by two, nor the 40 of one window).
    assert both.estimate_seconds == pytest.approx(18 * 60)


def test_a_line_waits_for_the_first_window_to_free_not_for_all_of_them():
    from kiosk.estimate import FixedEstimator

    fixed = FixedEstimator({"a": 600.0})
    # Two windows, each 2 minutes into a 10-minute service, nobody ahead: called when the first frees.
    assert fixed.pooled_wait([("a", 120.0), ("a", 120.0)], [], servers=2) == pytest.approx(480)
    # One window free: called at once.
    assert fixed.pooled_wait([("a", 120.0)], [], servers=2) == 0
    # One window: the rest of the current service and everyone ahead, as before.
    assert fixed.pooled_wait([("a", 120.0)], ["a", "a"], servers=1) == pytest.approx(480 + 1200)
    assert fixed.wait(("a", 120.0), ["a", "a"]) == pytest.approx(480 + 1200)
    # A ticket ahead whose line also has windows elsewhere weighs its share here.
    assert fixed.pooled_wait([], ["a", "a", "a"], servers=2, shares=[1, 0.5, 0.5]) == pytest.approx(600)


def test_a_ticket_transferred_to_one_window_is_called_only_there(office):
    clock, _, queue = office
    visitor = queue.issue("election_bulletin")  # windows 1;2
    queue.call_next(window="1")
    queue.transfer("election_bulletin", window="1", to_window="2")
    clock.advance(10)
    assert queue.call_next(window="1").called is None
    assert queue.call_next(window="2").called.number == visitor.number
