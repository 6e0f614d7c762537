"""The queue of this kiosk's window: tickets, calls, recalls, no-shows, service times.

Every change is an event in the append-only store, written durably *before*
the queue's state changes or anything is shown: ``ticket_issued``,
``ticket_called`` (each call and recall), ``ticket_served`` (the service time,
from the ticket's first call to the next call) and ``ticket_no_show``. The
state is therefore only a cache: at start-up it is rebuilt by replaying today's
events, so a power cut loses no ticket, and the same events go to the collector
through the ordinary outbox.

Numbers: one series per service (its directory letter, A001, A002 …) and one
``P`` series for priority tickets (elderly, disabled, pregnant), which are
called before regular ones. Series restart every day at midnight, Asia/Taipei.
After ``no_show_after_calls`` calls without the visitor coming, a recall
marks the ticket no-show and calls the next one.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from kiosk import estimate
from kiosk.directory import bundled_path
from kiosk.outbox import read_services
from kiosk.store import Store, StoreUnavailable
from server_sync.wire.directory import EMPTY, PRIORITY_SERIES, Directory, DirectoryError, Service, load_file, parse_json
from server_sync.wire.events import Event
from server_sync.wire.tz import OFFICE_TZ

log = logging.getLogger(__name__)

QUEUE_TYPES = ("ticket_issued", "ticket_called", "ticket_served", "ticket_no_show")
NEXT_GUARD = 3.0  # seconds: a second "next" this soon is a bounce or a double press, not a second visitor
RATING_GRACE = 45.0  # seconds: a rating this soon after a call is still the previous visitor's
RECALL_SECONDS = 3600.0  # 我的號碼 on the home screen shows tickets issued this recently
REPLAY_EVENTS = 20_000  # how far back start-up looks (today's queue and recent service times)


class QueueRefused(Exception):
    """A ticket cannot be issued here or now; zh/en say why, for the visitor."""

    def __init__(self, zh: str, en: str):
        self.zh, self.en = zh, en
        super().__init__(f"{zh} / {en}")


@dataclass
class Ticket:
    number: str
    service: str
    name: str
    name_en: str
    priority: bool
    issued_id: str
    issued_at: datetime
    issued_mono: float
    boot_id: str
    estimate_seconds: float | None
    estimate_band: str
    ahead: int
    calls: int = 0
    called_at: datetime | None = None  # first call
    called_mono: float | None = None
    called_boot: str = ""
    status: str = "waiting"  # waiting, called, served, no_show
    wait_seconds: float | None = None
    service_seconds: float | None = None

    def label(self, lang: str) -> str:
        return self.name_en if lang == "en" else self.name


@dataclass(frozen=True)
class CallOutcome:
    """What one press of "next", recall or no-show did, once durably stored."""

    called: Ticket | None  # the ticket now called (None: nobody waiting)
    served: Ticket | None = None  # the ticket finished by this press
    no_show: Ticket | None = None  # the ticket given up on
    recall: bool = False
    ignored: bool = False  # a double press inside NEXT_GUARD: nothing stored


@dataclass(frozen=True)
class ServiceStatus:
    """What the guidance screen shows for one service at this window."""

    service: Service
    here: bool  # this window serves it (tickets can be taken here)
    open: bool
    now_serving: str  # "" when nobody is called
    ahead: int
    ahead_priority: int
    estimate_seconds: float | None
    band: str
    band_priority: str


class LocalDirectory:
    """The service directory this kiosk uses: the collector's copy if one came, else a file.

    store: the kiosk's Store; the copy is read through its connection, under its lock
        (a second connection would keep the file open for writing, and a failing card
        must be able to go read-only under the kiosk, see tests/test_disk_errors.py).
    fallback: a directory file ([queue] directory), or the bundled demo directory.
    """

    def __init__(self, store: Store, fallback: str | Path | None = None):
        self.store = store
        self.fallback_path = Path(fallback) if fallback else bundled_path()
        self._cached: Directory | None = None
        self._fallback: Directory | None = None

    def _fallback_directory(self) -> Directory:
        if self._fallback is None:
            try:
                self._fallback = load_file(self.fallback_path)
            except DirectoryError as exc:
                log.error("no usable service directory file: %s", exc)
                self._fallback = EMPTY
        return self._fallback

    def get(self) -> Directory:
        try:
            with self.store._lock:
                revision, text = read_services(self.store._reader())
        except (sqlite3.Error, StoreUnavailable) as exc:
            log.warning("service directory copy unreadable, using the last one: %s", exc)
            return self._cached or self._fallback_directory()
        if text is None:
            return self._fallback_directory()
        if self._cached is None or self._cached.revision != revision:
            self._cached = parse_json(json.loads(text), revision=revision)
        return self._cached

    def close(self) -> None:
        pass


def local_day(when: datetime) -> date:
    return when.astimezone(OFFICE_TZ).date()


class Queue:
    """One window's queue over the kiosk's store.

    window: this kiosk's window ([kiosk] window); only services listed for it take tickets here.
    directory: a callable returning the current Directory (LocalDirectory.get).
    no_show_after_calls: calls after which a recall gives up on the ticket.
    """

    def __init__(
        self,
        store: Store,
        *,
        window: str,
        directory: Callable[[], Directory],
        no_show_after_calls: int = 3,
        estimator: estimate.LearnedEstimator | None = None,
    ):
        self.store = store
        self.clock = store.clock
        self.window = str(window)
        self.directory = directory
        self.no_show_after_calls = no_show_after_calls
        self.estimator = estimator or estimate.LearnedEstimator({})
        self._lock = threading.RLock()
        self.day: date | None = None
        self.tickets: dict[str, Ticket] = {}
        self.by_id: dict[str, Ticket] = {}
        self.waiting: list[Ticket] = []  # regular and priority, in issue order
        self.current: Ticket | None = None
        self.previous: Ticket | None = None  # the last ticket served, for a late rating
        self.counters: dict[str, int] = {}
        self._last_next: float | None = None
        self._served_mono: tuple[float, str, datetime] = (0.0, "", datetime.min)  # when `previous` was served
        self._sync_priors(directory())
        self.replay()

    # -- state ------------------------------------------------------------------------
    def _sync_priors(self, directory: Directory) -> None:
        self.estimator.set_priors({s.code: s.typical_minutes * 60 for s in directory.services})

    def _reset_day(self, day: date) -> None:
        if self.day is not None and day != self.day:
            log.info("new day %s: ticket numbers start again", day)
        self.day = day
        self.tickets, self.by_id, self.waiting, self.counters = {}, {}, [], {}
        self.current = self.previous = None

    def _check_day(self) -> None:
        today = local_day(self.clock.now())
        if today != self.day:
            self._reset_day(today)

    def _elapsed(self, wall: datetime, mono: float, boot_id: str) -> float:
        """Seconds since (wall, mono): monotonic within one boot (immune to NTP jumps), else wall."""
        if boot_id == self.clock.boot_id:
            return max(0.0, self.clock.monotonic() - mono)
        return max(0.0, (self.clock.now() - wall).total_seconds())

    def replay(self) -> None:
        """Rebuild today's queue and recent service times from the stored events."""
        with self._lock:
            self._reset_day(local_day(self.clock.now()))
            start = max(0, self.store.count() - REPLAY_EVENTS)
            for event in self.store.events(after_seq=start):
                if event.type in QUEUE_TYPES:
                    self._apply(event, replaying=True)

    def _apply(self, e: Event, *, replaying: bool = False) -> None:
        d = e.detail
        wall = datetime.fromisoformat(e.recorded_at)
        if e.type == "ticket_served" and d.get("service_seconds") is not None and replaying:
            self.estimator.observe(d.get("service", ""), float(d["service_seconds"]))
        if local_day(wall) != self.day:
            return
        if e.type == "ticket_issued":
            issued = Ticket(
                d["ticket"],
                d.get("service", ""),
                d.get("service_name", ""),
                d.get("service_name_en", ""),
                bool(d.get("priority")),
                e.id,
                wall,
                e.monotonic,
                e.boot_id,
                d.get("estimate_seconds"),
                d.get("estimate_band", estimate.CLOSED),
                d.get("ahead", 0),
            )
            self.tickets[issued.number] = issued
            self.by_id[e.id] = issued
            self.waiting.append(issued)
            series = issued.number[0]
            self.counters[series] = max(self.counters.get(series, 0), int(issued.number[1:]))
            return
        t = self.by_id.get(e.ref or "")
        if t is None:
            return
        if e.type == "ticket_called":
            if t in self.waiting:
                self.waiting.remove(t)
            t.calls = d.get("call", t.calls + 1)
            if t.called_at is None:
                t.called_at, t.called_mono, t.wait_seconds = wall, e.monotonic, d.get("wait_seconds")
                t.called_boot = e.boot_id
            t.status = "called"
            self.current = t
        elif e.type == "ticket_served":
            t.status, t.service_seconds = "served", d.get("service_seconds")
            if self.current is t:
                self.current = None
            self.previous = t
            self._served_mono = (e.monotonic, e.boot_id, wall)
        elif e.type == "ticket_no_show":
            t.status = "no_show"
            if t in self.waiting:
                self.waiting.remove(t)
            if self.current is t:
                self.current = None

    def _append(self, type_: str, ticket: Ticket | None, detail: dict) -> Event:
        event = self.store.append(type_, ref=ticket.issued_id if ticket else None, detail=detail)
        self._apply(event)
        return event

    # -- reading -----------------------------------------------------------------------
    def _ahead(self, priority: bool) -> list[Ticket]:
        """Tickets that will be called before a new one: every priority ticket, and regular ones too for a regular ticket."""
        return [t for t in self.waiting if t.priority or not priority]

    def _current_elapsed(self) -> tuple[str, float] | None:
        t = self.current
        if t is None or t.called_at is None or t.called_mono is None:  # set together at the first call
            return None
        return t.service, self._elapsed(t.called_at, t.called_mono, t.called_boot)

    def status(self, code: str) -> ServiceStatus | None:
        """Where to go and how long, for the guidance screen; None if the directory has no such service."""
        with self._lock:
            self._check_day()
            directory = self.directory()
            self._sync_priors(directory)
            service = directory.get(code)
            if service is None:
                return None
            here = service.served_at(self.window)
            is_open = service.open_at(self.clock.now())
            waits = {}
            for priority in (False, True):
                ahead = self._ahead(priority)
                secs = (
                    self.estimator.wait(self._current_elapsed(), [t.service for t in ahead])
                    if is_open and here
                    else None
                )
                waits[priority] = (len(ahead), secs)
            return ServiceStatus(
                service,
                here,
                is_open,
                self.current.number if self.current else "",
                waits[False][0],
                waits[True][0],
                waits[False][1],
                estimate.band(waits[False][1]),
                estimate.band(waits[True][1]),
            )

    def estimate_with(self, estimator, *, priority: bool = False) -> float:
        """What ``estimator`` would say for a ticket taken now (to compare methods on the same queue)."""
        with self._lock:
            return estimator.wait(self._current_elapsed(), [t.service for t in self._ahead(priority)])

    def now_serving(self) -> Ticket | None:
        with self._lock:
            self._check_day()
            return self.current

    def recent(self, within: float = RECALL_SECONDS) -> list[Ticket]:
        """Tickets issued here in the last ``within`` seconds and still to be served, newest first.

        What the home screen's 我的號碼 recalls; rebuilt from the store at start-up, so
        a restart does not lose them.
        """
        with self._lock:
            self._check_day()
            return [
                t
                for t in reversed(list(self.tickets.values()))
                if t.status in ("waiting", "called") and self._elapsed(t.issued_at, t.issued_mono, t.boot_id) < within
            ]

    def counts(self) -> tuple[int, int]:
        """(regular, priority) tickets waiting."""
        with self._lock:
            self._check_day()
            return (sum(1 for t in self.waiting if not t.priority), sum(1 for t in self.waiting if t.priority))

    # -- visitors ----------------------------------------------------------------------
    def issue(self, code: str, *, priority: bool = False) -> Ticket:
        """Durably store a new ticket and return it; raises QueueRefused or StoreUnavailable."""
        with self._lock:
            self._check_day()
            directory = self.directory()
            self._sync_priors(directory)
            service = directory.get(code)
            if service is None:
                raise QueueRefused("此服務項目已更新，請重新選擇", "This service was changed; please choose again")
            if not service.served_at(self.window):
                raise QueueRefused(
                    f"請至 {'、'.join(service.windows)} 號窗口取號", f"Please go to window {', '.join(service.windows)}"
                )
            if not service.open_at(self.clock.now()):
                raise QueueRefused("目前非服務時間", "This service is not open now")
            series = PRIORITY_SERIES if priority else service.series
            number = f"{series}{self.counters.get(series, 0) + 1:03d}"
            ahead = self._ahead(priority)
            secs = self.estimator.wait(self._current_elapsed(), [t.service for t in ahead])
            event = self._append(
                "ticket_issued",
                None,
                {
                    "ticket": number,
                    "service": service.code,
                    "service_name": service.name,
                    "service_name_en": service.name_en,
                    "priority": priority,
                    "ahead": len(ahead),
                    "estimate_seconds": round(secs, 1),
                    "estimate_band": estimate.band(secs),
                    "directory_revision": directory.revision,
                },
            )
            log.info("ticket %s issued for %s (%d ahead, estimate %s)", number, code, len(ahead), estimate.band(secs))
            return self.by_id[event.id]

    # -- staff -------------------------------------------------------------------------
    def _finish_current(self, via: str) -> Ticket | None:
        t = self.current
        if t is None or t.called_at is None or t.called_mono is None:  # set together at the first call
            return None
        seconds = self._elapsed(t.called_at, t.called_mono, t.called_boot)
        self._append(
            "ticket_served",
            t,
            {
                "ticket": t.number,
                "service": t.service,
                "priority": t.priority,
                "wait_seconds": t.wait_seconds,
                "service_seconds": round(seconds, 1),
                "via": via,
            },
        )
        self.estimator.observe(t.service, seconds)
        return t

    def _call(self, t: Ticket, via: str, *, recall: bool = False) -> None:
        wait = (
            t.wait_seconds
            if t.called_at is not None
            else round(self._elapsed(t.issued_at, t.issued_mono, t.boot_id), 1)
        )
        self._append(
            "ticket_called",
            t,
            {
                "ticket": t.number,
                "service": t.service,
                "priority": t.priority,
                "call": t.calls + 1,
                "recall": recall,
                "wait_seconds": wait,
                "via": via,
            },
        )

    def _next_waiting(self) -> Ticket | None:
        for t in self.waiting:
            if t.priority:
                return t
        return self.waiting[0] if self.waiting else None

    def call_next(self, via: str = "button") -> CallOutcome:
        """Finish the ticket being served and call the next (priority first)."""
        with self._lock:
            self._check_day()
            now = self.clock.monotonic()
            if self._last_next is not None and 0 <= now - self._last_next < NEXT_GUARD:
                return CallOutcome(self.current, ignored=True)
            served = self._finish_current(via)
            nxt = self._next_waiting()
            if nxt is not None:
                self._call(nxt, via)
            self._last_next = now
            return CallOutcome(nxt, served=served)

    def recall(self, via: str = "staff") -> CallOutcome:
        """Call the current ticket again; past the limit, give up on it and call the next."""
        with self._lock:
            self._check_day()
            t = self.current
            if t is None:
                return self.call_next(via)
            if t.calls >= self.no_show_after_calls:
                return self.no_show(via)
            self._call(t, via, recall=True)
            return CallOutcome(t, recall=True)

    def no_show(self, via: str = "staff") -> CallOutcome:
        """The called visitor did not come: record it and call the next."""
        with self._lock:
            self._check_day()
            t = self.current
            if t is not None:
                self._append(
                    "ticket_no_show",
                    t,
                    {"ticket": t.number, "service": t.service, "priority": t.priority, "calls": t.calls, "via": via},
                )
            nxt = self._next_waiting()
            if nxt is not None:
                self._call(nxt, via)
            self._last_next = self.clock.monotonic()
            return CallOutcome(nxt, no_show=t)

    # -- ratings -------------------------------------------------------------------------
    def rating_link(self) -> tuple[str, dict] | None:
        """(ref, detail) tying a rating pressed now to the ticket served at this window, or None.

        The ticket being served; but right after a call the rating is still the previous
        visitor's (they rate on the way out while staff already call the next number).
        """
        with self._lock:
            self._check_day()
            t = self.current
            if t is not None and t.called_at is not None and t.called_mono is not None:
                in_service = self._elapsed(t.called_at, t.called_mono, t.called_boot)
                if in_service >= RATING_GRACE or self.previous is None:
                    return t.issued_id, {
                        "ticket": t.number,
                        "service": t.service,
                        "priority": t.priority,
                        "wait_seconds": t.wait_seconds,
                        "service_seconds": round(in_service, 1),
                    }
            p = self.previous
            if p is not None and p.status == "served":
                mono, boot, wall = self._served_mono
                if self._elapsed(wall, mono, boot) < RATING_GRACE + 15:
                    return p.issued_id, {
                        "ticket": p.number,
                        "service": p.service,
                        "priority": p.priority,
                        "wait_seconds": p.wait_seconds,
                        "service_seconds": p.service_seconds,
                    }
            return None
