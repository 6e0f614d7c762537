"""我的號碼: tickets issued here in the last hour, newest first, still there after a restart."""

from __future__ import annotations

from queuehelp import Counter, queue_config

from kiosk.queue import RECALL_SECONDS


def numbers(queue) -> list[str]:
    return [t.number for t in queue.recent()]


def test_recent_tickets_newest_first_within_the_hour(counter):
    q = counter.queue
    q.issue("candidate_registration")
    counter.clock.advance(RECALL_SECONDS - 60)
    q.issue("polling_place")
    q.issue("polling_place", priority=True)
    assert numbers(q) == ["P001", "D001", "A001"]
    counter.clock.advance(61)
    assert numbers(q) == ["P001", "D001"]  # A001 is over an hour old


def test_served_and_no_show_tickets_are_not_recalled(counter):
    q = counter.queue
    q.issue("polling_place")
    q.issue("polling_place")
    counter.clock.advance(10)
    assert counter.next().called.number == "D001"
    assert numbers(q) == ["D002", "D001"]  # a called number is still the visitor's
    counter.clock.advance(10)
    counter.next()  # D001 served, D002 called
    assert numbers(q) == ["D002"]
    q.no_show()
    assert numbers(q) == []


def test_recent_tickets_survive_a_restart(tmp_path, directory_file):
    config = queue_config(directory_file)
    first = Counter(tmp_path / "data", config)
    issued = first.queue.issue("certificates").number
    first.close()
    again = Counter(tmp_path / "data", config, clock=first.clock)
    try:
        again.clock.advance(5)
        assert [t.number for t in again.queue.recent()] == [issued]
    finally:
        again.close()
