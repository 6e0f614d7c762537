"""A window's press whose answer was lost, sent again: the host answers as it did the first time.

Plain Python: the host's queue (kiosk.queue with office=True) on a simulated clock, and the
window kiosk's RemoteQueue talking to it through a link that can lose an answer after the
host stored the press (as a read timeout does).
"""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

import pytest

from kiosk.clock import SimulatedClock, SystemClock
from kiosk.office.client import HostUnreachable, RemoteQueue
from kiosk.office.messages import outcome_json
from kiosk.office.simulation import office_directory
from kiosk.queue import LocalDirectory, Queue
from kiosk.store import Store
from server_sync.wire.directory import load_file
from server_sync.wire.tz import OFFICE_TZ

SERVICE = "polling_place"
STEP = 10.0  # simulated seconds between presses: past kiosk.queue.NEXT_GUARD


def noon_today() -> datetime:
    return datetime.combine(SystemClock().now().astimezone(OFFICE_TZ).date(), time(12), tzinfo=OFFICE_TZ)


@pytest.fixture
def host(tmp_path):
    clock = SimulatedClock(noon_today())
    directory = office_directory(tmp_path / "services.csv", 2, hours="mon-sun 00:00-24:00")

    def open_queue() -> tuple[Store, Queue]:
        store = Store(tmp_path / "host", kiosk_id="host", window="", clock=clock)
        return store, Queue(store, window="", directory=LocalDirectory(store, directory).get, office=True)

    store, queue = open_queue()
    yield clock, store, queue, open_queue, directory
    store.close()


def numbers(outcome) -> dict[str, str | None]:
    return {k: (t.number if t else None) for k, t in (("called", outcome.called), ("no_show", outcome.no_show))}


def test_a_retried_no_show_answers_with_the_next_visitor_it_called(host):
    clock, store, queue, open_queue, _ = host
    absent, present = queue.issue(SERVICE), queue.issue(SERVICE)
    queue.call_next(window="1", press="next-1")
    clock.advance(STEP)
    first = queue.no_show(window="1", press="no-show-1")
    assert numbers(first) == {"called": present.number, "no_show": absent.number}
    events = store.count()
    clock.advance(STEP)
    assert numbers(queue.no_show(window="1", press="no-show-1")) == numbers(first)
    assert store.count() == events  # nothing stored again
    assert queue.serving["1"].number == present.number
    store.close()
    store, again = open_queue()  # a restarted host remembers the press and what followed it
    assert numbers(again.no_show(window="1", press="no-show-1")) == numbers(first)
    store.close()


def test_a_retried_next_answers_with_the_visitor_it_finished_and_the_one_it_called(host):
    clock, store, queue, open_queue, _ = host
    first, second = queue.issue(SERVICE), queue.issue(SERVICE)
    queue.call_next(window="1", press="next-1")
    clock.advance(STEP)
    answer = queue.call_next(window="1", press="next-2")
    assert (answer.served.number, answer.called.number) == (first.number, second.number)
    events = store.count()
    clock.advance(STEP)
    again = queue.call_next(window="1", press="next-2")
    assert (again.served.number, again.called.number) == (first.number, second.number)
    assert store.count() == events  # nothing stored again
    store.close()
    store, restarted = open_queue()  # a restarted host still knows whom that press finished
    again = restarted.call_next(window="1", press="next-2")
    assert (again.served.number, again.called.number) == (first.number, second.number)
    store.close()


def test_a_retried_next_with_nobody_waiting_names_the_visitor_it_finished(host):
    clock, store, queue, _, _ = host
    only = queue.issue(SERVICE)
    queue.call_next(window="1", press="next-1")
    clock.advance(STEP)
    assert queue.call_next(window="1", press="next-2").served.number == only.number
    events = store.count()
    clock.advance(STEP)
    again = queue.call_next(window="1", press="next-2")
    assert again.called is None and again.served is not None and again.served.number == only.number
    assert store.count() == events


def test_a_retried_recall_past_the_limit_answers_with_the_next_visitor_it_called(host):
    clock, store, queue, _, _ = host
    absent, present = queue.issue(SERVICE), queue.issue(SERVICE)
    queue.call_next(window="1", press="next-1")
    for i in range(queue.no_show_after_calls - 1):
        clock.advance(STEP)
        assert queue.recall(window="1", press=f"recall-{i}").recall
    clock.advance(STEP)
    gave_up = queue.recall(window="1", press="recall-last")
    assert numbers(gave_up) == {"called": present.number, "no_show": absent.number}
    clock.advance(STEP)
    assert numbers(queue.recall(window="1", press="recall-last")) == numbers(gave_up)
    assert store.count("ticket_called") == queue.no_show_after_calls + 1


class LossyLink:
    """The host's API as RemoteQueue uses it, in process; ``lose`` drops the next answer after the host
    stored the press, as a read timeout does."""

    def __init__(self, queue: Queue):
        self.queue = queue
        self.lose = False
        self.keys: list[tuple[str, str]] = []

    def press(self, window: str, action: str, *, press: str, **extra: Any) -> dict[str, Any]:
        self.keys.append((action, press))
        act = {"next": self.queue.call_next, "recall": self.queue.recall, "no-show": self.queue.no_show}[action]
        data = outcome_json(act("host", window=window, press=press))
        if self.lose:
            self.lose = False
            raise HostUnreachable("無法連線到叫號主機", "Cannot reach the host", "read timeout")
        return data


def test_a_window_resends_a_lost_press_and_sees_what_the_host_did(host):
    clock, _, queue, _, directory = host
    absent, present = queue.issue(SERVICE), queue.issue(SERVICE)
    link = LossyLink(queue)
    window = RemoteQueue(link, window="1", directory=lambda: load_file(directory), clock=clock)  # type: ignore[arg-type]
    assert window.call_next().called.number == absent.number
    clock.advance(STEP)
    link.lose = True
    with pytest.raises(HostUnreachable):
        window.no_show()
    clock.advance(STEP)
    outcome = window.no_show()  # staff press again: the same key
    assert link.keys[-1] == link.keys[-2]
    assert numbers(outcome) == {"called": present.number, "no_show": absent.number}
    assert window.current is not None and window.current.number == present.number == queue.serving["1"].number


def test_once_the_host_answers_a_press_a_lost_one_of_another_kind_is_not_resent_later(host):
    clock, _, queue, _, directory = host
    tickets = [queue.issue(SERVICE) for _ in range(3)]
    link = LossyLink(queue)
    window = RemoteQueue(link, window="1", directory=lambda: load_file(directory), clock=clock)  # type: ignore[arg-type]
    window.call_next()
    clock.advance(STEP)
    link.lose = True
    with pytest.raises(HostUnreachable):
        window.no_show()  # stored: tickets[0] no-show, tickets[1] called
    clock.advance(STEP)
    assert window.call_next().called.number == tickets[2].number  # staff moved on; the host answered
    clock.advance(STEP)
    later = window.no_show()  # a new press for the visitor now at the counter, not the lost one again
    assert later.no_show is not None and later.no_show.number == tickets[2].number
    assert len({key for _, key in link.keys}) == len(link.keys)


def test_a_rating_after_a_lost_next_is_the_leaving_visitors(host):
    """Staff press next, the answer is lost, they press again: a rating pressed at once is still
    the visitor who just left, as it is when the first answer arrives."""
    clock, _, queue, _, directory = host
    leaving, coming = queue.issue(SERVICE), queue.issue(SERVICE)
    link = LossyLink(queue)
    window = RemoteQueue(link, window="1", directory=lambda: load_file(directory), clock=clock)  # type: ignore[arg-type]
    window.call_next()
    clock.advance(STEP)
    link.lose = True
    with pytest.raises(HostUnreachable):
        window.call_next()
    clock.advance(STEP)
    outcome = window.call_next()
    assert link.keys[-1] == link.keys[-2]
    assert (outcome.served.number, outcome.called.number) == (leaving.number, coming.number)
    link_to = window.rating_link()
    assert link_to is not None and link_to[1]["ticket"] == leaving.number
