"""A window kiosk's side of the office's queue: ``RemoteQueue`` asks the host for every ticket and call.

It has the local queue's methods (issue, call_next, recall, no_show, transfer, status,
now_serving, counts, recent, rating_link), so the screens do not care which role the kiosk
has. Each press gets an idempotency key, and a press the host did not answer is sent again
with the same key (urllib3's Retry on the one Session; (connect, read) timeouts on every
call): the host then returns its first answer instead of calling a second visitor. A press
that still gets no answer raises ``HostUnavailable`` (a StoreUnavailable: nothing was
called, and the screen says so to staff as it does for a failing disk).

A host that has hung (accepting connections but never answering) must not hold the screens:
reads (a service's line, the window's state; the staff panel's still on the UI thread) get
short timeouts and no read retries, and for HOLD_OFF seconds after the host failed to answer
they fail at once without asking it. Presses are not held off: they run off the UI thread,
carry their key, and are how staff find out the host is back.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from kiosk import estimate
from kiosk.office.messages import PREFIX, outcome_from, ticket_from
from kiosk.queue import RATING_GRACE, RECALL_SECONDS, CallOutcome, QueueRefused, ServiceStatus, Ticket
from kiosk.store import StoreUnavailable
from server_sync.wire.directory import Directory

log = logging.getLogger(__name__)

TIMEOUT = (2.0, 5.0)  # (connect, read) seconds: staff wait at most this long to learn the host is gone
READ_TIMEOUT = (1.0, 2.0)  # a screen's read: a visitor waits at most this long, once per HOLD_OFF
HOLD_OFF = 10.0  # seconds after the host failed to answer during which reads fail without asking it


class HostUnavailable(StoreUnavailable):
    """The office's queue host did not answer or refused this device: nothing was issued or called."""


class HostUnreachable(HostUnavailable):
    """No answer at all (host down, link cut): the screens say 無法連線到叫號主機."""

    unreachable = True  # read by the screens, which do not import this module (it brings requests)

    @classmethod
    def because(cls, reason: str) -> HostUnreachable:
        return cls(
            "無法連線到叫號主機，未叫號也未取號",
            "Cannot reach the office's queue host: nothing was called or issued",
            reason,
        )


def make_session(token: str) -> requests.Session:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    # POST is retried: every write carries an idempotency key, so a retry is never a second call.
    # A GET that timed out is not read again: the screen waiting on it would wait three times as long.
    retry = Retry(
        total=2,
        connect=2,
        read=2,
        backoff_factor=0.2,
        status_forcelist=(502, 503, 504),
        allowed_methods=frozenset({"POST"}),
        raise_on_status=False,
    )
    session.mount("http://", HTTPAdapter(max_retries=retry))
    session.mount("https://", HTTPAdapter(max_retries=retry))
    return session


class HostClient:
    """The host's API, one method per call."""

    def __init__(
        self,
        url: str,
        token: str,
        *,
        timeout: tuple[float, float] = TIMEOUT,
        token_file: Path | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ):
        """token_file: where the host writes the token of its own device's screens (kiosk.office.devices
        ensure_local), read when no token is given: the host may start after the screens."""
        self.base = url.rstrip("/") + PREFIX
        self.timeout = timeout
        self.session = make_session(token)
        self.token_file = None if token else token_file
        self.monotonic = monotonic
        self._lost_at: float | None = None  # when the host last failed to answer; None once it answers

    def _token_from_file(self) -> None:
        if self.token_file is not None and self.token_file.is_file():
            token = self.token_file.read_text(encoding="ascii").strip()
            if token:
                self.session.headers["Authorization"] = f"Bearer {token}"
                self.token_file = None

    def close(self) -> None:
        self.session.close()

    def request(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        self._token_from_file()
        reading = method == "GET"
        if reading and self._lost_at is not None:
            ago = self.monotonic() - self._lost_at
            if 0 <= ago < HOLD_OFF:
                raise HostUnreachable.because(f"it did not answer {ago:.0f} s ago; asked again after {HOLD_OFF:.0f} s")
        try:
            response = self.session.request(
                method, self.base + path, json=body, timeout=READ_TIMEOUT if reading else self.timeout
            )
        except requests.RequestException as exc:
            log.warning("queue host unreachable: %s", exc)
            self._lost_at = self.monotonic()
            raise HostUnreachable.because(str(exc)) from exc
        self._lost_at = None
        if response.status_code < 300:
            return response.json()
        try:
            detail = response.json()
            detail = detail.get("detail", detail)
            zh, en = detail["zh"], detail["en"]
        except (ValueError, KeyError, TypeError, AttributeError):
            zh, en = "叫號主機回應錯誤", f"The queue host answered {response.status_code}"
        if response.status_code == 409:
            raise QueueRefused(zh, en)
        raise HostUnavailable(zh, en, f"HTTP {response.status_code}")

    def issue(self, service: str, *, priority: bool, press: str) -> dict[str, Any]:
        return self.request("POST", "/tickets", {"service": service, "priority": priority, "press": press})["ticket"]

    def press(self, window: str, action: str, *, press: str, **extra: Any) -> dict[str, Any]:
        return self.request("POST", f"/windows/{window}/{action}", {"press": press, **extra})

    def status(self, service: str) -> dict[str, Any]:
        return self.request("GET", f"/services/{service}")

    def window_state(self, window: str) -> dict[str, Any]:
        return self.request("GET", f"/windows/{window}")


def new_press() -> str:
    return uuid.uuid4().hex


class RemoteQueue:
    """The queue of a window kiosk whose office has a queue host ([queue] role = "window")."""

    office = False

    def __init__(self, client: HostClient, *, window: str, directory, clock):
        self.client = client
        self.window = str(window)
        self.directory = directory  # the local copy, for names and documents
        self.clock = clock
        self._lock = threading.Lock()
        self.current: Ticket | None = None  # what this window serves, as the host last said
        self._served: tuple[Ticket, float] | None = None  # the last finished here, and when (monotonic)
        self._called_mono: float | None = None
        self._issued: list[tuple[Ticket, float]] = []  # tickets taken at this kiosk (entrance), for 我的號碼
        # The key of a press the host did not acknowledge, per action: the next press of the same
        # kind sends it again, so a call the host stored but could not confirm is not made twice.
        # Any answer from the host ends that: a later press is a new one (sent again then, the old key
        # would get the old answer, e.g. the last visitor's no-show instead of this one's).
        self._unacknowledged: dict[str, str] = {}

    def _press(self, action: str, **extra: Any) -> CallOutcome:
        with self._lock:
            key = self._unacknowledged.setdefault(action, new_press())
        try:
            data = self.client.press(self.window, action, press=key, **extra)
        except QueueRefused:
            with self._lock:
                self._unacknowledged.clear()  # refused: nothing was stored under it
            raise
        with self._lock:
            self._unacknowledged.clear()
        return self._outcome(data)

    def _ticket(self, data: dict[str, Any] | None) -> Ticket | None:
        return ticket_from(data, mono=self.clock.monotonic(), boot_id=self.clock.boot_id)

    def _outcome(self, data: dict[str, Any]) -> CallOutcome:
        outcome = outcome_from(data, mono=self.clock.monotonic(), boot_id=self.clock.boot_id)
        with self._lock:
            if outcome.served is not None or outcome.no_show is not None or outcome.transferred is not None:
                finished = outcome.served or outcome.transferred
                if finished is not None:
                    self._served = (finished, self.clock.monotonic())
                self.current = None
            if outcome.called is not None and not outcome.ignored:
                if not outcome.recall:
                    self._called_mono = self.clock.monotonic()
                self.current = outcome.called
        return outcome

    # -- visitors ----------------------------------------------------------------------
    def issue(self, code: str, *, priority: bool = False) -> Ticket:
        ticket = self._ticket(self.client.issue(code, priority=priority, press=new_press()))
        assert ticket is not None
        with self._lock:
            self._issued.append((ticket, self.clock.monotonic()))
        return ticket

    def recent(self, within: float = RECALL_SECONDS) -> list[Ticket]:
        now = self.clock.monotonic()
        with self._lock:
            return [t for t, at in reversed(self._issued) if now - at < within]

    def status(self, code: str) -> ServiceStatus | None:
        directory: Directory = self.directory()
        service = directory.get(code)
        if service is None:
            return None
        data = self.client.status(code)
        return ServiceStatus(
            service,
            bool(data["here"]),
            bool(data["open"]),
            data["now_serving"],
            int(data["ahead"]),
            int(data["ahead_priority"]),
            data["estimate_seconds"],
            data.get("band", estimate.CLOSED),
            data.get("band_priority", estimate.CLOSED),
        )

    # -- staff -------------------------------------------------------------------------
    def call_next(self, via: str = "button") -> CallOutcome:
        return self._press("next")

    def recall(self, via: str = "staff") -> CallOutcome:
        return self._press("recall")

    def no_show(self, via: str = "staff") -> CallOutcome:
        return self._press("no-show")

    def transfer(self, service: str, *, to_window: str | None = None, front: bool = False) -> CallOutcome:
        return self._press("transfer", service=service, to_window=to_window, position="front" if front else "back")

    def now_serving(self) -> Ticket | None:
        try:
            data = self.client.window_state(self.window)
        except (HostUnavailable, QueueRefused):
            return self.current  # the staff panel says the host is gone; keep showing what it said last
        with self._lock:
            self.current = self._ticket(data["serving"])
            self._counts = (int(data["waiting"]), int(data["waiting_priority"]))
        return self.current

    def counts(self) -> tuple[int, int]:
        return getattr(self, "_counts", (0, 0))

    # -- ratings -------------------------------------------------------------------------
    def rating_link(self) -> tuple[str, dict] | None:
        """The ticket a rating pressed now belongs to, as kiosk.queue.Queue.rating_link decides it."""
        now = self.clock.monotonic()
        with self._lock:
            t, called = self.current, self._called_mono
            if t is not None and called is not None and (now - called >= RATING_GRACE or self._served is None):
                return t.issued_id, {
                    "ticket": t.number,
                    "service": t.service,
                    "priority": t.priority,
                    "wait_seconds": t.wait_seconds,
                }
            if self._served is not None and now - self._served[1] < RATING_GRACE + 15:
                p = self._served[0]
                return p.issued_id, {
                    "ticket": p.number,
                    "service": p.service,
                    "priority": p.priority,
                    "wait_seconds": p.wait_seconds,
                }
            return None
