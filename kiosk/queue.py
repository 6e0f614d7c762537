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
import secrets
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from kiosk import estimate
from kiosk.directory import bundled_path
from kiosk.store import Store, StoreUnavailable
from kiosk.sync_state import read_services
from server_sync.wire.directory import EMPTY, PRIORITY_SERIES, Directory, DirectoryError, Service, load_file, parse_json
from server_sync.wire.events import Event
from server_sync.wire.tz import OFFICE_TZ

log = logging.getLogger(__name__)

QUEUE_TYPES = ("ticket_issued", "ticket_called", "ticket_served", "ticket_no_show", "ticket_transferred")
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
    window: str = ""  # the window calling or serving it
    token: str = ""  # unguessable: the ticket's page on the office's queue host is /t/<token>
    # When it joined its present line: issue, or its last transfer (the wait is counted from here).
    queued_at: datetime | None = None
    queued_mono: float | None = None
    queued_boot: str = ""

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
    transferred: Ticket | None = None  # the ticket sent on to another line


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
        office: bool = False,
    ):
        self.store = store
        # The office's queue host holds every window's line: tickets for any service, calls from any window.
        self.office = office
        self.clock = store.clock
        self.window = str(window)
        self.directory = directory
        self.no_show_after_calls = no_show_after_calls
        self.estimator = estimator or estimate.LearnedEstimator({})
        self._lock = threading.RLock()
        self.day: date | None = None
        self.tickets: dict[str, Ticket] = {}
        self.by_id: dict[str, Ticket] = {}
        self.waiting: list[Ticket] = []  # regular and priority, in issue order (a transfer may go to the front)
        self.serving: dict[str, Ticket] = {}  # window -> the ticket it called last and has not finished
        self.last_served: dict[str, Ticket] = {}  # window -> its last ticket served, for a late rating
        self.presses: dict[str, Event] = {}  # idempotency key of a window's press -> the event it stored
        self.press_calls: dict[str, Event] = {}  # a no-show's key -> its call of the next visitor
        self.press_served: dict[str, Event] = {}  # a "next" press's key -> the finishing of the visitor before
        self.last_event: Event | None = None  # the latest one stored (the host announces calls from it)
        self.counters: dict[str, int] = {}
        self._last_next: dict[str, float] = {}
        self._served_mono: dict[str, tuple[float, str, datetime]] = {}  # when last_served[window] was
        self._sync_priors(directory())
        self.replay()

    @property
    def current(self) -> Ticket | None:
        """The ticket this kiosk's own window is serving."""
        return self.serving.get(self.window)

    @property
    def previous(self) -> Ticket | None:
        """The last ticket this kiosk's own window served."""
        return self.last_served.get(self.window)

    # -- state ------------------------------------------------------------------------
    def _sync_priors(self, directory: Directory) -> None:
        self.estimator.set_priors({s.code: s.typical_minutes * 60 for s in directory.services})

    def _reset_day(self, day: date) -> None:
        if self.day is not None and day != self.day:
            log.info("new day %s: ticket numbers start again", day)
        self.day = day
        self.tickets, self.by_id, self.waiting, self.counters = {}, {}, [], {}
        self.serving, self.last_served, self.presses, self._served_mono = {}, {}, {}, {}
        self.press_calls, self.press_served = {}, {}

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
            issued.token = d.get("token", "")
            issued.queued_at, issued.queued_mono, issued.queued_boot = wall, e.monotonic, e.boot_id
            self.tickets[issued.number] = issued
            self.by_id[e.id] = issued
            self.waiting.append(issued)
            if d.get("press"):
                self.presses[d["press"]] = e
            series = issued.number[0]
            self.counters[series] = max(self.counters.get(series, 0), int(issued.number[1:]))
            return
        t = self.by_id.get(e.ref or "")
        if t is None:
            return
        # A "next" press stores the finishing of one visitor and the call of the next, and a no-show's
        # the no-show and the call, all under the press's key: a retry answers with both. The press
        # itself is the call (or the no-show); the finishing is kept beside it.
        press = d.get("press")
        if press and e.type == "ticket_served":
            self.press_served[press] = e
        elif press and self.presses.setdefault(press, e) is not e and e.type == "ticket_called":
            self.press_calls[press] = e
        if e.type == "ticket_called":
            if t in self.waiting:
                self.waiting.remove(t)
            # Older events name no window: they are this kiosk's own.
            window = str(d.get("at_window") or e.window or self.window)
            if t.window and self.serving.get(t.window) is t and t.window != window:
                del self.serving[t.window]
            t.calls = d.get("call", t.calls + 1)
            if t.called_at is None:
                t.called_at, t.called_mono, t.wait_seconds = wall, e.monotonic, d.get("wait_seconds")
                t.called_boot = e.boot_id
            t.status, t.window = "called", window
            self.serving[window] = t
        elif e.type == "ticket_served":
            t.status, t.service_seconds = "served", d.get("service_seconds")
            if self.serving.get(t.window) is t:
                del self.serving[t.window]
            self.last_served[t.window] = t
            self._served_mono[t.window] = (e.monotonic, e.boot_id, wall)
        elif e.type == "ticket_no_show":
            t.status = "no_show"
            if t in self.waiting:
                self.waiting.remove(t)
            if self.serving.get(t.window) is t:
                del self.serving[t.window]
        elif e.type == "ticket_transferred":
            # Served at one window, now waiting in another line with the same number.
            if self.serving.get(t.window) is t:
                del self.serving[t.window]
            t.service = d.get("service", t.service)
            t.name, t.name_en = d.get("service_name", t.name), d.get("service_name_en", t.name_en)
            t.status, t.calls, t.called_at, t.called_mono, t.called_boot = "waiting", 0, None, None, ""
            t.wait_seconds = t.service_seconds = None
            t.queued_at, t.queued_mono, t.queued_boot = wall, e.monotonic, e.boot_id
            t.window = str(d.get("to_window") or "")
            if t in self.waiting:
                self.waiting.remove(t)
            if d.get("position") == "front":
                self.waiting.insert(0, t)
            else:
                self.waiting.append(t)

    def _append(self, type_: str, ticket: Ticket | None, detail: dict, *, window: str | None = None) -> Event:
        event = self.store.append(type_, ref=ticket.issued_id if ticket else None, detail=detail, window=window)
        self._apply(event)
        self.last_event = event
        return event

    # -- reading -----------------------------------------------------------------------
    def _windows_of(self, directory: Directory, service: str) -> tuple[str, ...]:
        """The windows whose line ``service`` is in: this kiosk's own, unless it holds the office's queue."""
        if not self.office:
            return (self.window,)
        found = directory.get(service)
        return tuple(found.windows) if found is not None else ()

    def _ahead(self, priority: bool, windows: tuple[str, ...] | None = None) -> list[Ticket]:
        """Tickets that will be called before a new one: every priority ticket, and regular ones too for a
        regular ticket; at the office's host, only those some window of ``windows`` would call."""
        waiting = [t for t in self.waiting if t.priority or not priority]
        if not self.office or windows is None:
            return waiting
        directory = self.directory()
        return [t for t in waiting if set(self._windows_of(directory, t.service)) & set(windows)]

    def _elapsed_at(self, windows: tuple[str, ...]) -> list[tuple[str, float]]:
        """(service, seconds so far) of the tickets being served at ``windows``."""
        out = []
        for window in windows:
            t = self.serving.get(window)
            if t is not None and t.called_at is not None and t.called_mono is not None:  # set together
                out.append((t.service, self._elapsed(t.called_at, t.called_mono, t.called_boot)))
        return out

    def _current_elapsed(self) -> tuple[str, float] | None:
        found = self._elapsed_at((self.window,))
        return found[0] if found else None

    def _wait_for(self, estimator, windows: tuple[str, ...], ahead: list[Ticket]) -> float:
        """The estimated wait in a line served by ``windows``: service times pooled over them."""
        directory = self.directory() if self.office else None
        shares = []
        for t in ahead:
            own = set(self._windows_of(directory, t.service)) if directory is not None else set(windows)
            shares.append(len(own & set(windows)) / len(own) if own else 1.0)
        return estimator.pooled_wait(
            self._elapsed_at(windows), [t.service for t in ahead], servers=len(windows), shares=shares
        )

    def status(self, code: str) -> ServiceStatus | None:
        """Where to go and how long, for the guidance screen; None if the directory has no such service."""
        with self._lock:
            self._check_day()
            directory = self.directory()
            self._sync_priors(directory)
            service = directory.get(code)
            if service is None:
                return None
            here = self.office or service.served_at(self.window)
            is_open = service.open_at(self.clock.now())
            windows = self._windows_of(directory, code)
            waits = {}
            for priority in (False, True):
                ahead = self._ahead(priority, windows)
                secs = self._wait_for(self.estimator, windows, ahead) if is_open and here and windows else None
                waits[priority] = (len(ahead), secs)
            serving = [self.serving[w].number for w in windows if w in self.serving]
            return ServiceStatus(
                service,
                here,
                is_open,
                "、".join(serving),
                waits[False][0],
                waits[True][0],
                waits[False][1],
                estimate.band(waits[False][1]),
                estimate.band(waits[True][1]),
            )

    def estimate_with(self, estimator, *, priority: bool = False, service: str | None = None) -> float:
        """What ``estimator`` would say for a ticket taken now (to compare methods on the same queue);
        ``service``: the line of that service, at the office's host."""
        with self._lock:
            windows = self._windows_of(self.directory(), service) if service else (self.window,)
            return self._wait_for(estimator, windows, self._ahead(priority, windows))

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
    def issue(self, code: str, *, priority: bool = False, press: str | None = None) -> Ticket:
        """Durably store a new ticket and return it; raises QueueRefused or StoreUnavailable.

        press: the idempotency key of the press that asked for it (a window kiosk asking the office's
        host); the same key again returns the same ticket instead of a second one.
        """
        with self._lock:
            self._check_day()
            if press and press in self.presses:
                return self.by_id[self.presses[press].id]
            directory = self.directory()
            self._sync_priors(directory)
            service = directory.get(code)
            if service is None:
                raise QueueRefused("此服務項目已更新，請重新選擇", "This service was changed; please choose again")
            if not self.office and not service.served_at(self.window):
                raise QueueRefused(
                    f"請至 {'、'.join(service.windows)} 號窗口取號", f"Please go to window {', '.join(service.windows)}"
                )
            if not service.open_at(self.clock.now()):
                raise QueueRefused("目前非服務時間", "This service is not open now")
            series = PRIORITY_SERIES if priority else service.series
            number = f"{series}{self.counters.get(series, 0) + 1:03d}"
            windows = self._windows_of(directory, service.code)
            ahead = self._ahead(priority, windows)
            secs = self._wait_for(self.estimator, windows, ahead)
            detail = {
                "ticket": number,
                "service": service.code,
                "service_name": service.name,
                "service_name_en": service.name_en,
                "priority": priority,
                "ahead": len(ahead),
                "estimate_seconds": round(secs, 1),
                "estimate_band": estimate.band(secs),
                "directory_revision": directory.revision,
                "token": secrets.token_urlsafe(12),
            }
            if press:
                detail["press"] = press
            event = self._append("ticket_issued", None, detail)
            log.info("ticket %s issued for %s (%d ahead, estimate %s)", number, code, len(ahead), estimate.band(secs))
            return self.by_id[event.id]

    # -- staff -------------------------------------------------------------------------
    # Each takes the window it is pressed at (this kiosk's own by default) and, from a window kiosk
    # through the office's host, the press's idempotency key: a retried press returns what the
    # first one did instead of calling a second visitor.
    @staticmethod
    def _detail(t: Ticket, window: str, via: str, press: str | None, fields: dict) -> dict:
        """A staff event's detail: the ticket's number, the event's own fields, how and at which window it
        was done, and the press's key (kept so that a retried press finds what the first one did)."""
        detail = {"ticket": t.number, **fields, "via": via, "at_window": window}
        if press:
            detail["press"] = press
        return detail

    def _finish(self, window: str, via: str, extra: dict | None = None, *, press: str | None = None) -> Ticket | None:
        t = self.serving.get(window)
        if t is None or t.called_at is None or t.called_mono is None:  # set together at the first call
            return None
        seconds = self._elapsed(t.called_at, t.called_mono, t.called_boot)
        fields = {
            "service": t.service,
            "priority": t.priority,
            "wait_seconds": t.wait_seconds,
            "service_seconds": round(seconds, 1),
        }
        detail = {**self._detail(t, window, via, press, fields), **(extra or {})}
        self._append("ticket_served", t, detail, window=window)
        self.estimator.observe(t.service, seconds)
        return t

    def _call(self, t: Ticket, window: str, via: str, *, recall: bool = False, press: str | None = None) -> None:
        if t.called_at is not None:
            wait = t.wait_seconds
        else:
            since = (
                (t.queued_at, t.queued_mono, t.queued_boot) if t.queued_at else (t.issued_at, t.issued_mono, t.boot_id)
            )
            wait = round(self._elapsed(*since), 1)  # type: ignore[arg-type]
        fields = {
            "service": t.service,
            "priority": t.priority,
            "call": t.calls + 1,
            "recall": recall,
            "wait_seconds": wait,
        }
        self._append("ticket_called", t, self._detail(t, window, via, press, fields), window=window)

    def _next_waiting(self, window: str) -> Ticket | None:
        """Priority first, then in line order; at the office's host only tickets this window serves."""
        if self.office:
            directory = self.directory()
            line = [t for t in self.waiting if window in self._windows_of(directory, t.service)]
            # A ticket transferred for one window (to_window) waits for that window's call only.
            line = [t for t in line if not t.window or t.window == window]
        else:
            line = self.waiting
        for t in line:
            if t.priority:
                return t
        return line[0] if line else None

    def _begin(self, window: str | None, press: str | None) -> tuple[str, CallOutcome | None]:
        """Start a staff press (under the lock): the window it is at, this kiosk's own by default, and what
        an earlier press with the same key did, to be returned instead of doing it again."""
        self._check_day()
        return (self.window if window is None else str(window)), self._repeat(press)

    def _repeat(self, press: str | None) -> CallOutcome | None:
        """What an earlier press with this key did, if it stored anything."""
        if not press:
            return None
        event = self.presses.get(press)
        finished = self.press_served.get(press)
        served = self.by_id.get(finished.ref or "") if finished else None
        if event is None:
            # "next" with nobody waiting: it only finished the visitor before
            return CallOutcome(None, served=served) if served is not None else None
        t = self.by_id.get(event.ref or "")
        if event.type == "ticket_called":
            return CallOutcome(t, served=served, recall=bool(event.detail.get("recall")))
        if event.type == "ticket_no_show":
            after = self.press_calls.get(press or "")
            return CallOutcome(self.by_id.get(after.ref or "") if after else None, no_show=t)
        if event.type == "ticket_transferred":
            return CallOutcome(None, transferred=t)
        return None

    def call_next(self, via: str = "button", *, window: str | None = None, press: str | None = None) -> CallOutcome:
        """Finish the ticket being served at the window and call the next (priority first)."""
        with self._lock:
            window, repeated = self._begin(window, press)
            if repeated is not None:
                return repeated
            now = self.clock.monotonic()
            last = self._last_next.get(window)
            if last is not None and 0 <= now - last < NEXT_GUARD:
                return CallOutcome(self.serving.get(window), ignored=True)
            served = self._finish(window, via, press=press)
            nxt = self._next_waiting(window)
            if nxt is not None:
                self._call(nxt, window, via, press=press)
            self._last_next[window] = now
            return CallOutcome(nxt, served=served)

    def recall(self, via: str = "staff", *, window: str | None = None, press: str | None = None) -> CallOutcome:
        """Call the window's ticket again; past the limit, give up on it and call the next."""
        with self._lock:
            window, repeated = self._begin(window, press)
            if repeated is not None:
                return repeated
            t = self.serving.get(window)
            if t is None:
                return self.call_next(via, window=window, press=press)
            if t.calls >= self.no_show_after_calls:
                return self.no_show(via, window=window, press=press)
            self._call(t, window, via, recall=True, press=press)
            return CallOutcome(t, recall=True)

    def no_show(self, via: str = "staff", *, window: str | None = None, press: str | None = None) -> CallOutcome:
        """The called visitor did not come: record it and call the next."""
        with self._lock:
            window, repeated = self._begin(window, press)
            if repeated is not None:
                return repeated
            t = self.serving.get(window)
            if t is not None:
                fields = {"service": t.service, "priority": t.priority, "calls": t.calls}
                self._append("ticket_no_show", t, self._detail(t, window, via, press, fields), window=window)
            nxt = self._next_waiting(window)
            if nxt is not None:
                self._call(nxt, window, via, press=press)
            self._last_next[window] = self.clock.monotonic()
            return CallOutcome(nxt, no_show=t)

    def transfer(
        self,
        service: str,
        *,
        window: str | None = None,
        to_window: str | None = None,
        front: bool = False,
        via: str = "staff",
        press: str | None = None,
    ) -> CallOutcome:
        """Send the window's visitor on to ``service`` (Qmatic's transfer): this service ends here (its
        time counts), and the same number waits in the new line, at its front or back; ``to_window``
        keeps it for one window's call."""
        with self._lock:
            window, repeated = self._begin(window, press)
            if repeated is not None:
                return repeated
            directory = self.directory()
            target = directory.get(service)
            if target is None:
                raise QueueRefused("沒有這項服務", f"No such service: {service}")
            if to_window is not None and not target.served_at(str(to_window)):
                raise QueueRefused(
                    f"{to_window} 號窗口不辦理{target.name}", f"Window {to_window} does not serve {target.name_en}"
                )
            t = self.serving.get(window)
            if t is None:
                raise QueueRefused("此窗口目前沒有服務中的號碼", "This window is serving no number")
            self._finish(window, via, {"transferred_to": target.code})
            fields = {
                "service": target.code,
                "service_name": target.name,
                "service_name_en": target.name_en,
                "from_service": t.service,
                "position": "front" if front else "back",
                "to_window": str(to_window) if to_window is not None else "",
            }
            self._append("ticket_transferred", t, self._detail(t, window, via, press, fields), window=window)
            return CallOutcome(None, transferred=t)

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
                mono, boot, wall = self._served_mono.get(self.window, (0.0, "", datetime.min))
                if self._elapsed(wall, mono, boot) < RATING_GRACE + 15:
                    return p.issued_id, {
                        "ticket": p.number,
                        "service": p.service,
                        "priority": p.priority,
                        "wait_seconds": p.wait_seconds,
                        "service_seconds": p.service_seconds,
                    }
            return None
