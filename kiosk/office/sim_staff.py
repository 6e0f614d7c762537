"""The people of a simulated office, one process each: the staff of one window, or the entrance.

``kiosk simulate --queue-days N --windows W`` (kiosk/office/simulation.py) starts these as
real processes beside a real ``kiosk host``; all of them share one accelerated clock
(kiosk.clock.AcceleratedClock: the same start, speed and epoch), so an office day takes
seconds. Run as ``python -m kiosk.office.sim_staff window|entrance ...`` with the device's
token in KIOSK_HOST_TOKEN, as a window kiosk has it.

* The entrance issues tickets through HostClient: a Poisson process per service, its rate
  that service's share of the office's visitors, following the day (kiosk/queue_sim.py).
* A window's staff press next, recall, no-show and transfer through RemoteQueue, the window
  kiosk's own client (idempotency keys, retries). What each visitor does is drawn from the
  seed, the day, the ticket and its service: the same run makes the same office, whichever
  process calls whom. Service times are log-normal around a true mean that differs from the
  directory's and drifts through the day, as in the one-window simulation.

A window stops when its standard input closes (the simulation closes it once the office's
queue is empty and the entrance has finished) and prints what it did as one JSON line.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import sys
import threading
import time
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta

from kiosk.clock import AcceleratedClock
from kiosk.office.client import HostClient, HostUnavailable, RemoteQueue
from kiosk.queue import CallOutcome, QueueRefused, Ticket
from kiosk.queue_sim import DEMAND, OPEN, PRIORITY_SHARE, SIGMA, TRUE_VS_TYPICAL, arrivals, drift
from server_sync.wire.directory import Directory, load_file
from server_sync.wire.tz import OFFICE_TZ

ABSENT_SHARE = 0.05  # visitors gone before their number is called
EARLY_NO_SHOW = 0.5  # of those, staff press 未到 after two calls instead of recalling to the limit
TRANSFER_SHARE = 0.08  # visitors sent on to another service (轉介) after this one
RECALL_GAP = 40.0  # simulated seconds between calls of a number nobody answers
POLL = 30.0  # simulated seconds between an idle window's looks at its lines
NOTICE = (3.0, 12.0)  # simulated seconds before idle staff notice a new ticket and press next
RETRY_REAL = 0.05  # real seconds between tries while the host does not answer
RETRY_FOR = 20.0  # real seconds of an unreachable host after which the process gives up


@dataclass(frozen=True)
class Visit:
    """What one visitor does at one service."""

    absent: bool
    early_no_show: bool
    duration: float  # simulated seconds at the counter, before the day's drift
    transfer_to: str | None
    transfer_front: bool


def visit(seed: int, day: date, ticket: Ticket, directory: Directory) -> Visit:
    """The visitor holding ``ticket`` at its present service, the same in every process."""
    rng = random.Random(f"{seed}:{day}:{ticket.number}:{ticket.service}")
    service = directory.get(ticket.service)
    typical = (service.typical_minutes if service else 10) * 60
    mean = typical * TRUE_VS_TYPICAL.get(ticket.service, 1.0) * math.exp(rng.gauss(0, 0.1))
    duration = max(30.0, rng.lognormvariate(math.log(mean) - SIGMA**2 / 2, SIGMA))
    # Only on to a service later in the directory: a visitor is never sent round in a circle.
    codes = [s.code for s in directory.services]
    others = codes[codes.index(ticket.service) + 1 :] if ticket.service in codes else []
    transfer = rng.random() < TRANSFER_SHARE and bool(others)
    return Visit(
        absent=rng.random() < ABSENT_SHARE,
        early_no_show=rng.random() < EARLY_NO_SHOW,
        duration=duration,
        transfer_to=rng.choice(others) if transfer else None,
        transfer_front=rng.random() < 0.5,
    )


def schedule(seed: int, day: date, directory: Directory, windows: int) -> list[tuple[float, str, bool]]:
    """(seconds after opening, service, priority) of the day's visitors: one Poisson process per
    service, its rate the service's share (DEMAND) of ``windows`` windows' visitors."""
    rng = random.Random(f"{seed}:{day}:arrivals")
    weights = {s.code: DEMAND.get(s.code, 1.0) for s in directory.services}
    total = sum(weights.values()) or 1.0
    out = []
    for code, weight in weights.items():
        for t in arrivals(rng, day, scale=windows * weight / total):
            out.append((t, code, rng.random() < PRIORITY_SHARE))
    return sorted(out)


def sleep_until(clock: AcceleratedClock, when: datetime, stop: threading.Event | None = None) -> bool:
    """Wait (real time) for the simulated ``when``; True if ``stop`` was set meanwhile."""
    seconds = clock.real_seconds_until(when)
    if stop is not None:
        return stop.wait(seconds)
    time.sleep(seconds)
    return False


def persist(action):
    """Call ``action`` until the host answers: a window kiosk's staff press again when the panel
    says the host is gone (RemoteQueue resends the unacknowledged press under its key)."""
    deadline = time.monotonic() + RETRY_FOR
    while True:
        try:
            return action()
        except HostUnavailable:
            if time.monotonic() > deadline:
                raise
            time.sleep(RETRY_REAL)


@dataclass
class WindowTally:
    window: str
    calls: int = 0
    recalls: int = 0
    served: int = 0
    no_shows: int = 0
    transfers: int = 0
    ignored: int = 0


class Staff:
    """The staff of one window, pressing through the window kiosk's RemoteQueue."""

    def __init__(self, queue: RemoteQueue, clock: AcceleratedClock, directory: Directory, seed: int, day: date):
        self.queue, self.clock, self.directory = queue, clock, directory
        self.seed, self.day = seed, day
        self.rng = random.Random(f"{seed}:{day}:window:{queue.window}")
        self.tally = WindowTally(queue.window)

    def later(self, seconds: float) -> datetime:
        return self.clock.now() + timedelta(seconds=seconds)

    def note(self, outcome: CallOutcome) -> Ticket | None:
        t = self.tally
        if outcome.ignored:
            t.ignored += 1
            return self.queue.current
        t.served += outcome.served is not None
        t.no_shows += outcome.no_show is not None
        t.transfers += outcome.transferred is not None
        if outcome.called is not None:
            if outcome.recall:
                t.recalls += 1
            else:
                t.calls += 1
        return None if outcome.recall else outcome.called

    def run(self, stop: threading.Event) -> WindowTally:
        current: Ticket | None = None
        client = self.queue.client
        while True:
            if current is None:
                state = persist(lambda: client.window_state(self.queue.window))
                if not state["waiting"] and not state["waiting_priority"]:
                    if stop.is_set():
                        return self.tally
                    sleep_until(self.clock, self.later(POLL), stop)
                    continue
                sleep_until(self.clock, self.later(self.rng.uniform(*NOTICE)))
                current = self.note(persist(self.queue.call_next))
                continue
            current = self.serve(current)

    def serve(self, ticket: Ticket) -> Ticket | None:
        """One visitor at the counter, from the call to the press that ends it; the next one called."""
        v = visit(self.seed, self.day, ticket, self.directory)
        if v.absent:
            calls = 1
            while True:
                sleep_until(self.clock, self.later(RECALL_GAP))
                if v.early_no_show and calls >= 2:
                    return self.note(persist(self.queue.no_show))
                outcome = persist(self.queue.recall)
                if outcome.no_show is not None:  # the host gave up after no_show_after_calls
                    return self.note(outcome)
                self.note(outcome)
                calls += 1
        local = self.clock.now().astimezone(OFFICE_TZ)
        sleep_until(self.clock, self.later(v.duration * drift(local)))
        if v.transfer_to is not None:
            target = v.transfer_to
            try:
                self.note(persist(lambda: self.queue.transfer(target, front=v.transfer_front)))
                return None
            except QueueRefused:
                pass  # not possible now: staff simply finish
        return self.note(persist(self.queue.call_next))


@dataclass
class EntranceTally:
    issued: int = 0
    refused: int = 0


def run_entrance(client: HostClient, clock: AcceleratedClock, directory: Directory, seed: int, day: date, windows: int):
    opening = datetime.combine(day, OPEN, tzinfo=OFFICE_TZ)
    tally = EntranceTally()
    for i, (at, service, priority) in enumerate(schedule(seed, day, directory, windows)):
        sleep_until(clock, opening + timedelta(seconds=at))
        press = f"sim-{day}-{i:05d}"  # the same key on every retry: one ticket, however many tries
        try:
            persist(lambda s=service, p=priority, k=press: client.issue(s, priority=p, press=k))
            tally.issued += 1
        except QueueRefused:
            tally.refused += 1  # e.g. a service closed over lunch
    return tally


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("role", choices=("window", "entrance"))
    parser.add_argument("--host", required=True, help="the queue host's URL")
    parser.add_argument("--window", default="")
    parser.add_argument("--windows", type=int, default=1, help="how many windows the office has (entrance)")
    parser.add_argument("--directory", required=True, help="the office's service directory file")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--day", type=date.fromisoformat, required=True)
    parser.add_argument("--clock-start", type=datetime.fromisoformat, required=True)
    parser.add_argument("--clock-speed", type=float, required=True)
    parser.add_argument("--clock-epoch", type=float, required=True)
    args = parser.parse_args(argv)
    clock = AcceleratedClock(args.clock_start, args.clock_speed, epoch=args.clock_epoch)
    directory = load_file(args.directory)
    client = HostClient(args.host, os.environ["KIOSK_HOST_TOKEN"])
    print("ready", flush=True)  # the simulation times the processes' start against the clock's epoch
    try:
        if args.role == "entrance":
            result: object = run_entrance(client, clock, directory, args.seed, args.day, args.windows)
        else:
            stop = threading.Event()

            def watch_stdin() -> None:
                sys.stdin.read()  # returns at end of file: the simulation closed it
                stop.set()

            threading.Thread(target=watch_stdin, daemon=True).start()
            queue = RemoteQueue(client, window=args.window, directory=lambda: directory, clock=clock)
            result = Staff(queue, clock, directory, args.seed, args.day).run(stop)
    finally:
        client.close()
    print(json.dumps(asdict(result)), flush=True)  # type: ignore[call-overload]


if __name__ == "__main__":
    main()
