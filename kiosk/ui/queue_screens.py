"""The queue's screens: 服務導引 (guidance), the ticket, a called number, the staff panel.

The app makes one ``QueueUI`` at start as ``app.queue_ui`` (what the .kv files call);
``make_screens(app)`` loads their .kv files and returns the screens to add (after the first frame).

Order of things for a ticket: the queue stores it durably (kiosk.queue.Queue.issue),
then the ticket screen is shown, then it is printed in a background thread (a
jammed printer must not hold the screen). A number called by the GPIO "next"
button arrives on a gpiozero thread and is handed to Kivy's main thread.

Log lines (tests and bench/ read them): ``ticket: NUMBER stored``, ``ticket-on-screen
NUMBER MS`` (from the tap to the frame that shows it), ``printed: NUMBER`` /
``print failed: …``, ``called: NUMBER via`` (then ``chime: played`` or the spoken call, kiosk/ui/speech.py),
``staff: unlocked``, ``staff: wrong PIN (N)``, ``staff: locked for N s``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from importlib import resources

from kivy.app import App
from kivy.clock import Clock
from kivy.core.window import Window
from kivy.factory import Factory
from kivy.lang import Builder
from kivy.properties import BooleanProperty, ListProperty, NumericProperty, ObjectProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.screenmanager import Screen

from kiosk import estimate
from kiosk.flow import TAKE_GUARD
from kiosk.fonts import find_cjk_font
from kiosk.i18n import text
from kiosk.printer import PrinterSpec, TicketPrint, parse_spec, print_ticket
from kiosk.queue import QueueRefused, ServiceStatus
from kiosk.runtime import public_host_url
from kiosk.staffpin import StaffPinGuard
from kiosk.store import StoreUnavailable
from kiosk.ticket_qr import TicketFacts, TicketQR, modules
from kiosk.ui import widgets
from kiosk.ui.qr_view import QRView  # noqa: F401  (ticket.kv draws the code with it)
from kiosk.ui.screen import KioskScreen
from kiosk.ui.transfer import TransferPanel
from server_sync.wire.directory import EMPTY
from server_sync.wire.tz import OFFICE_TZ

log = logging.getLogger("kiosk.ui.queue")

SCREENS_DIR = resources.files("kiosk.ui") / "screens"  # package data (pyproject.toml)
KV_FILES = ("guidance.kv", "ticket.kv", "calling.kv", "staff.kv", "host_lost.kv", "transfer.kv")
PIN_MAX_DIGITS = 12  # kiosk.pinhash.MAX_DIGITS: more keys than that are ignored


class ServiceButton(widgets.BigButton):
    service = ObjectProperty(None, allownone=True)


class ServiceDetail(BoxLayout):
    """One service: where, what to bring, the queue here, the wait, take a number (guidance.kv)."""

    scr = ObjectProperty(None, allownone=True)
    svc = ObjectProperty(None, allownone=True)
    st = ObjectProperty(None, allownone=True)


class GuidanceScreen(KioskScreen):
    service = ObjectProperty(None, allownone=True)  # the Service picked, None for the list
    status = ObjectProperty(None, allownone=True)  # its kiosk.queue.ServiceStatus
    message = StringProperty("")  # a refusal ("not open now") in the current language
    taking = StringProperty("")  # "regular"/"priority": that 取號 is on its way to the office's queue host
    staff_enabled = BooleanProperty(False)
    host_lost = BooleanProperty(False)  # the office's queue host did not answer: HostLostDetail instead

    def on_pre_enter(self, *_):
        self.show_list()
        super().on_pre_enter()

    def show_list(self):
        self.service, self.status, self.message, self.taking = None, None, "", ""
        body = self.ids.body
        body.clear_widgets()
        panel = Factory.ServiceList()
        grid = panel.ids.grid
        primary, secondary = widgets.FitGroup(), widgets.FitGroup()
        for service in self.ui.directory().services:
            grid.add_widget(ServiceButton(service=service, primary_group=primary, secondary_group=secondary))
        body.add_widget(panel)

    def show_service(self, service):
        if service is not self.service:
            self.status = None  # not another service's line while this one's is read
        self.service = service
        self.refresh()
        self._show_detail()
        super().on_pre_enter()

    def _show_detail(self):
        body = self.ids.body
        body.clear_widgets()
        body.add_widget(Factory.HostLostDetail() if self.host_lost else ServiceDetail())

    def refresh(self):
        """The picked service's line, now. Through the office's queue host it is read off the UI
        thread (a hung host must not freeze the page): the page shows what it knew until the
        answer comes, and an answer for a service no longer picked is dropped."""
        service = self.service
        if service is None:
            return
        if getattr(self.ui.queue, "client", None) is None:  # the local queue: its disk answers at once
            self._show_status(service, *self.ui.status_of(service.code))
            return

        def read() -> None:
            status, lost = self.ui.status_of(service.code)
            Clock.schedule_once(lambda dt: self._show_status(service, status, lost, announce=True))

        threading.Thread(target=read, name="kiosk-service-status", daemon=True).start()

    def _show_status(self, service, status, lost: bool, *, announce: bool = False) -> None:
        if service is not self.service:
            return  # the visitor went back or picked another service meanwhile
        was_lost, could_take = self.host_lost, self._can_take()
        self.status, self.host_lost = status, lost
        if was_lost != lost and self.ids.body.children:
            self._show_detail()
        app = App.get_running_app()
        if announce and app.sm.current == self.name and (was_lost != lost or could_take != self._can_take()):
            app._announce(self.name)  # 取號 came or went: the layout log says so

    def _can_take(self) -> bool:
        st = self.status
        return bool(st and st.here and st.open and not self.host_lost)

    @property
    def ui(self) -> QueueUI:
        return App.get_running_app().queue_ui


class TicketScreen(KioskScreen):
    """A ticket just taken, or recalled from 我的號碼 (``recalled``: the others of the last hour)."""

    ticket = ObjectProperty(None, allownone=True)
    print_key = StringProperty("no_printer")
    window = StringProperty("")
    issued = StringProperty("")  # HH:MM, office time
    qr = ListProperty([])  # the code's modules, shown where nothing is printed
    ready = BooleanProperty(True)  # False in the first TAKE_GUARD s: a second tap on 取號 does nothing
    recalled = ListProperty([])

    def show(self, ticket, qr_text: str, print_key: str) -> None:
        self.ticket, self.print_key = ticket, print_key
        self.issued = ticket.issued_at.astimezone(OFFICE_TZ).strftime("%H:%M")
        self.qr = modules(qr_text)
        self.ready = False
        Clock.schedule_once(self._ready, TAKE_GUARD)

    def _ready(self, _dt) -> None:
        self.ready = True
        App.get_running_app()._announce(self.name)  # its layout now has the back button

    def earlier(self) -> None:
        """前一張: the next older ticket of the last hour (round again after the oldest)."""
        if len(self.recalled) < 2 or self.ticket not in self.recalled:
            return
        i = (self.recalled.index(self.ticket) + 1) % len(self.recalled)
        App.get_running_app().queue_ui.show_ticket(self.recalled[i], recalled=list(self.recalled))


class CallingScreen(KioskScreen):
    number = StringProperty("")
    window = StringProperty("")


class StaffScreen(KioskScreen):
    unlocked = BooleanProperty(False)
    entered = StringProperty("")
    message_key = StringProperty("pin_prompt")
    locked_for = NumericProperty(0)  # seconds left of a lock, for the pin_locked message
    now_serving = StringProperty("")
    regular = NumericProperty(0)
    priority = NumericProperty(0)
    error = StringProperty("")
    note_key = StringProperty("")  # e.g. queue_empty after Call next found nobody
    confirm_no_show = BooleanProperty(False)  # No-show was tapped: asking before it is stored
    transferring = BooleanProperty(False)  # 轉介: TransferPanel in the body (kiosk/ui/transfer.py)
    busy = BooleanProperty(False)  # a press is on its way to the office's queue host

    def on_pre_enter(self, *_):
        self.unlocked, self.entered, self.message_key, self.error = False, "", "pin_prompt", ""
        self.note_key, self.confirm_no_show = "", False
        self.transferring = self.busy = False
        self.locked_for = 0
        self.build_body()
        super().on_pre_enter()

    def build_body(self):
        body = self.ids.body
        body.clear_widgets()
        if self.unlocked and self.transferring:
            body.add_widget(TransferPanel(number=self.now_serving))
        else:
            body.add_widget(Factory.StaffPanel() if self.unlocked else Factory.PinPad())
        self.refit_labels()


class QueueUI:
    """What the queue's .kv files call; one per app (``app.queue_ui``)."""

    def __init__(self, app):
        self.app = app
        self.staff_pin_hash = app.kiosk_config["queue.staff_pin_hash"]
        self.staff_enabled = bool(self.staff_pin_hash)
        self.printer = parse_spec(app.kiosk_config["queue.printer"])
        self._pin_guard: StaffPinGuard | None = None  # made once the kiosk's store is there
        self._lock_ends = 0.0  # time.monotonic() when the shown lock is over
        self._lock_tick = None
        # (number, perf_counter at the press) of a ticket not yet on screen
        self._ticket_pending: tuple[str, float] | None = None
        self._taking = False  # a 取號 on its way to the office's queue host
        self.qr = TicketQR()
        # Through the office's queue host: the QR code opens the ticket's page there (docs/queue.md).
        self.host = public_host_url(app.kiosk_config).rstrip("/")
        if self.host:
            self.qr.link = lambda facts: f"{self.host}/t/{facts.token}" if facts.token else None
        self.entrance = bool(app.kiosk_config["queue.entrance"])
        Window.bind(on_flip=self._on_flip)

    def band(self, key: str, lang: str) -> str:
        return estimate.label(key, lang)

    # -- reading ----------------------------------------------------------------------
    @property
    def queue(self):
        kiosk = self.app.kiosk
        return kiosk.queue if kiosk is not None else None

    def directory(self):
        kiosk = self.app.kiosk
        if kiosk is None or kiosk.directory is None:
            return EMPTY
        return kiosk.directory.get()

    def status(self, code: str):
        return self.status_of(code)[0]

    def status_of(self, code: str) -> tuple[ServiceStatus | None, bool]:
        """(the service's status here, whether the office's queue host failed to answer).

        A window kiosk gives numbers only for its own window's services, as without a host; the
        entrance for every service. A lost host gives a closed status: nothing can be taken.
        """
        queue = self.queue
        if queue is None:
            return None, False
        try:
            status = queue.status(code)
        except StoreUnavailable as exc:  # HostUnavailable: no numbers now, the screen says why
            log.warning("service %s: no status: %s", code, exc)
            service = self.directory().get(code)
            lost = (
                None
                if service is None
                else ServiceStatus(service, True, False, "", 0, 0, None, *(estimate.CLOSED,) * 2)
            )
            return lost, True
        if status is not None and self.host and not self.entrance and not status.service.served_at(self.window):
            status = replace(status, here=False)
        return status, False

    @property
    def window(self) -> str:
        return str(self.app.kiosk_config["kiosk.window"])

    def ticket_window(self, ticket) -> str:
        """Where a ticket is called: this window, or at the entrance every window of its service."""
        if not self.entrance:
            return self.window
        service = self.directory().get(ticket.service)
        return " / ".join(service.windows) if service is not None else ticket.window

    def hours_text(self, service, lang: str) -> str:
        """Office hours as visitors read them: 週一至週五 08:30–12:00、13:30–17:00."""
        zh_days, en_days = "一二三四五六日", ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
        groups: dict[tuple, list[str]] = {}
        for span in service.spans:
            end = "24:00" if span.end.hour == 23 and span.end.minute == 59 else span.end.strftime("%H:%M")
            groups.setdefault(span.days, []).append(f"{span.start.strftime('%H:%M')}–{end}")
        parts = []
        for days, times in groups.items():
            if len(days) == 7:
                label = "Daily" if lang == "en" else "每日"
            elif len(days) == 1:
                label = en_days[days[0]] if lang == "en" else f"週{zh_days[days[0]]}"
            else:
                label = (
                    f"{en_days[days[0]]}–{en_days[days[-1]]}"
                    if lang == "en"
                    else f"週{zh_days[days[0]]}至週{zh_days[days[-1]]}"
                )
            parts.append(f"{label} {(', ' if lang == 'en' else '、').join(times)}")
        return text("hours", lang, hours="; ".join(parts))

    # -- visitors --------------------------------------------------------------------
    def pick(self, service) -> None:
        if service is None or self.app.flow.screen != "guidance":
            return
        log.info("service: %s", service.code)
        self.app.sm.get_screen("guidance").show_service(service)
        self.app._announce("guidance")

    def back(self) -> None:
        screen = self.app.sm.get_screen("guidance")
        if screen.service is None or self.entrance:  # the entrance's list is its home
            self.app.go_home()
            return
        screen.show_list()
        self.app._announce("guidance")

    def take(self, priority: bool) -> None:
        screen = self.app.sm.get_screen("guidance")
        if self.app.flow.screen != "guidance" or screen.service is None or self.queue is None:
            return  # a second tap after the screen moved on

        def refused(words: str) -> None:
            screen.message = words
            screen.refresh()  # the refusal may mean the line closed: show its state as it is now

        def taking(on: bool) -> None:  # the tapped button reads 取號中… until the host answers
            screen.taking = ("priority" if priority else "regular") if on else ""

        self.take_number(screen.service, priority=priority, on_screen="guidance", refused=refused, taking=taking)

    def take_number(
        self,
        service,
        *,
        priority: bool,
        on_screen: str,
        refused: Callable[[str], None],
        taking: Callable[[bool], None],
    ) -> None:
        """Take a number for ``service``, then show and print it; ``refused(words)`` says why not on the
        screen the visitor tapped (``on_screen``, the flow's name for it), ``taking(on)`` shows the wait.

        A local queue answers from its disk at once. Through the office's queue host the answer can
        take seconds (a hung host: the whole retry), so the press waits off the UI thread with
        取號中… shown: the screen keeps drawing and the buttons keep rating, a second tap meanwhile
        does nothing, and a number that comes after the visitor has left ``on_screen`` is kept in
        我的號碼 instead of taking over whatever is on screen now.
        """
        queue = self.queue
        if queue is None:
            return
        t0 = time.perf_counter()

        def work():
            return queue.issue(service.code, priority=priority)

        if getattr(queue, "client", None) is None:
            try:
                result = work()
            except (QueueRefused, StoreUnavailable) as exc:
                result = exc
            self._issued(result, t0, on_screen, refused)
            return
        if self._taking:
            log.info("ticket: tap ignored (the last one is still on its way to the host)")
            return
        self._taking = True
        log.info("ticket: taking a number for %s through the office's queue host", service.code)
        taking(True)

        def done(result) -> None:
            self._taking = False
            taking(False)
            self._issued(result, t0, on_screen, refused)

        self._off_the_ui_thread(work, done)

    def _issued(self, result, t0: float, on_screen: str, refused: Callable[[str], None]) -> None:
        """What the queue answered to 取號: a ticket, a refusal, or nothing stored."""
        here = self.app.flow.screen == on_screen
        if isinstance(result, QueueRefused):
            log.info("ticket refused: %s", result.en)
            if here:
                refused(result.en if self.app.lang == "en" else result.zh)
            return
        if isinstance(result, StoreUnavailable):  # a failing disk, or the office's queue host not answering
            log.error("ticket not stored: %s", result)
            if here:
                self.app.notice_zh, self.app.notice_en = result.zh, result.en
                self.app.notice_key = "notice_ticket_title"
                self.app.flow.store_failed(result.zh, result.en, self.app.now())
                self.app._show()
            return
        ticket = result
        log.info("ticket: %s stored", ticket.number)  # durably: Store.append returned (or the host's)
        if not here:
            log.info("ticket: %s kept in 我的號碼 (the visitor left the page before it came)", ticket.number)
            return
        self._ticket_pending = (ticket.number, t0)
        self.show_ticket(ticket, print_key="printing" if self.printer else "no_printer")
        if self.printer is not None:
            threading.Thread(target=self._print, args=(self.printer, ticket), name="kiosk-print", daemon=True).start()

    def facts(self, ticket) -> TicketFacts:
        cfg = self.app.kiosk_config
        return TicketFacts(
            number=ticket.number,
            issued_at=ticket.issued_at.astimezone(OFFICE_TZ),
            service=ticket.name,
            service_en=ticket.name_en,
            office=cfg["kiosk.office"],
            office_en=cfg["kiosk.office_en"],
            window=self.ticket_window(ticket),
            priority=ticket.priority,
            token=getattr(ticket, "token", ""),
        )

    def show_ticket(self, ticket, *, print_key: str = "no_printer", recalled: list | None = None) -> None:
        """The ticket screen for ``ticket`` (just stored, or recalled from 我的號碼)."""
        shown = self.app.sm.get_screen("ticket")
        shown.window = self.ticket_window(ticket)
        shown.recalled = recalled or []
        facts = self.facts(ticket)
        if self.host and facts.token:  # the token itself stays out of the log: it opens the ticket's page
            log.info("ticket-qr: %s links %s/t/…", ticket.number, self.host)
        shown.show(ticket, self.qr.text(facts), print_key)
        self.app.flow.queue_screen("ticket", self.app.now())
        self.app._show()
        self.app._announce("ticket")

    def recent(self) -> list:
        """Tickets issued here in the last hour and not yet served (我的號碼)."""
        if self.queue is None:
            return []
        try:
            return self.queue.recent()
        except StoreUnavailable:
            return []

    def recall(self) -> None:
        """我的號碼 on the home screen: the newest ticket of the last hour, the others a tap away."""
        tickets = self.recent()
        if not tickets or self.app.flow.screen != "home":
            return
        log.info("recall: %s (%d in the last hour)", tickets[0].number, len(tickets))
        self.show_ticket(tickets[0], recalled=tickets)

    def _print(self, printer: PrinterSpec, ticket) -> None:
        cfg = self.app.kiosk_config
        try:
            print_ticket(
                printer,
                TicketPrint(
                    number=ticket.number,
                    service=ticket.name,
                    service_en=ticket.name_en,
                    window=self.ticket_window(ticket),
                    issued_at=ticket.issued_at.astimezone(OFFICE_TZ),
                    office=cfg["kiosk.office"],
                    office_en=cfg["kiosk.office_en"],
                    ahead=ticket.ahead,
                    band_zh=estimate.label(ticket.estimate_band, "zh-TW"),
                    band_en=estimate.label(ticket.estimate_band, "en"),
                    priority=ticket.priority,
                    qr_text=self.qr.text(self.facts(ticket)),
                ),
                font_path=_font(cfg["display.font"]),
            )
            key = "printed"
            log.info("printed: %s", ticket.number)
        except Exception as exc:  # any printer trouble: the ticket is stored and on screen
            key = "print_failed"
            log.error("print failed: %s: %s", ticket.number, exc)
        Clock.schedule_once(lambda dt: setattr(self.app.sm.get_screen("ticket"), "print_key", key))

    def _on_flip(self, _window) -> None:
        if self._ticket_pending is not None and self.app.sm.current == "ticket":
            number, t0 = self._ticket_pending
            self._ticket_pending = None
            ms = (time.perf_counter() - t0) * 1000
            Clock.schedule_once(lambda dt: log.info("ticket-on-screen %s %.1f", number, ms))

    # -- calling ---------------------------------------------------------------------------
    def on_call(self, outcome) -> None:
        """From the GPIO "next" button, on a gpiozero thread: hand over to the main thread."""
        Clock.schedule_once(partial(self._called, outcome))

    def _called(self, outcome, _dt=None) -> None:
        if isinstance(outcome, StoreUnavailable):
            log.error("call not stored: %s", outcome)
            self._staff_error(outcome)
            if self.app.flow.screen != "staff":  # the GPIO button: said at the window, over whatever shows
                zh, en = self.error_words(outcome, "button")
                self.app.notice_zh, self.app.notice_en = zh, en
                self.app.notice_key = "notice_call_title"
                self.app.flow.press_failed(zh, en, self.app.now())
                self.app._show()
            return
        if outcome.ignored:
            log.info("next: ignored (pressed twice)")
            return
        if outcome.no_show is not None:
            log.info("no-show: %s", outcome.no_show.number)
        if outcome.called is None:
            log.info("called: none (nobody waiting)")
            self.app.sm.get_screen("staff").note_key = "queue_empty"
            self._refresh_staff()
            return
        number = outcome.called.number
        window = str(self.app.kiosk_config["kiosk.window"])
        log.info("called: %s %s", number, "recall" if outcome.recall else "next")
        screen = self.app.sm.get_screen("calling")
        screen.number, screen.window = number, window
        self.app.speech.call(number, window)  # after any prompt being read; again on a recall
        self.app.flow.called(number, window, self.app.now())  # whole screen, or a banner over a task
        self.app._show()
        self._refresh_staff()
        guidance = self.app.sm.get_screen("guidance")
        if guidance.service is not None:
            guidance.refresh()

    # -- staff -------------------------------------------------------------------------------
    def open_staff(self) -> None:
        if not self.staff_enabled:
            return
        self.app.flow.queue_screen("staff", self.app.now())
        self.app._show()
        guard = self._guard()
        try:
            left = guard.locked_for() if guard is not None else 0.0
        except StoreUnavailable as exc:
            log.error("staff: PIN lock unreadable: %s", exc)
            self.app.sm.get_screen("staff").message_key = "pin_unavailable"
            return
        if left:
            self._show_lock(left)  # say so before anyone types

    def _guard(self) -> StaffPinGuard | None:
        kiosk = self.app.kiosk
        if self._pin_guard is None and kiosk is not None:
            self._pin_guard = StaffPinGuard(kiosk.store, self.staff_pin_hash)
        return self._pin_guard

    def wait_words(self, seconds: float, lang: str) -> str:
        """How long a lock still lasts, as the pin_locked message says it: 45 秒, 3 分鐘."""
        seconds = max(1, int(-(-seconds // 1)))
        if seconds < 60:
            return f"{seconds} s" if lang == "en" else f"{seconds} 秒"
        minutes = -(-seconds // 60)
        return f"{minutes} min" if lang == "en" else f"{minutes} 分鐘"

    def _show_lock(self, seconds: float) -> None:
        screen = self.app.sm.get_screen("staff")
        screen.entered, screen.message_key, screen.locked_for = "", "pin_locked", seconds
        self._lock_ends = time.monotonic() + seconds
        log.info("staff: locked for %d s", round(seconds))
        if self._lock_tick is None:
            self._lock_tick = Clock.schedule_interval(self._count_down, 1.0)

    def _count_down(self, _dt) -> bool:
        screen = self.app.sm.get_screen("staff")
        left = self._lock_ends - time.monotonic()
        if self.app.flow.screen != "staff" or screen.message_key != "pin_locked" or left <= 0:
            if screen.message_key == "pin_locked" and left <= 0:
                screen.message_key = "pin_prompt"
            self._lock_tick = None
            return False  # unschedules the countdown
        screen.locked_for = left
        return True

    def pin_key(self, key: str) -> None:
        screen = self.app.sm.get_screen("staff")
        if screen.unlocked or self.app.flow.screen != "staff":
            return
        if key == "clear":
            screen.entered = ""
            return
        if key != "ok":
            screen.entered = (screen.entered + key)[:PIN_MAX_DIGITS]
            return
        guard, entered = self._guard(), screen.entered
        if guard is None or not entered:
            return  # OK on nothing typed is no try
        screen.entered = ""
        try:
            attempt = guard.attempt(entered)  # the count and any lock are on disk before this returns
        except StoreUnavailable as exc:
            log.error("staff: PIN not checked: %s", exc)
            screen.message_key = "pin_unavailable"
            return
        if attempt.unlocked:
            screen.unlocked = True
            log.info("staff: unlocked")
            self._refresh_staff()
            screen.build_body()
            self.app._announce("staff")
            return
        if attempt.checked:
            log.warning("staff: wrong PIN (%d)", attempt.failures)
            screen.message_key = "pin_wrong"
        if attempt.locked_for:
            self._show_lock(attempt.locked_for)

    def _refresh_staff(self) -> None:
        screen = self.app.sm.get_screen("staff")
        if self.queue is None:
            return
        current = self.queue.now_serving()
        screen.now_serving = current.number if current else ""
        screen.regular, screen.priority = self.queue.counts()

    def error_words(self, exc, action: str) -> tuple[str, str]:
        """(zh, en) for a press that stored nothing: the host unreachable names what was not done."""
        if getattr(exc, "unreachable", False):  # kiosk.office.client.HostUnreachable
            zh, en = (text("host_lost", lang, undone=text(f"undone_{action}", lang)) for lang in ("zh-TW", "en"))
            return zh, en
        return exc.zh, exc.en

    def _staff_error(self, exc, action: str = "next") -> None:
        screen = self.app.sm.get_screen("staff")
        if getattr(exc, "unreachable", False):
            zh, en = self.error_words(exc, action)  # both: staff may read either
            screen.error = f"{zh}\n{en}"
            return
        screen.error = text("call_failed", self.app.lang, reason=exc.en if self.app.lang == "en" else exc.zh)

    def _off_the_ui_thread(self, work, done) -> None:
        """Run a press that may wait on the office's queue host in a thread; ``done(result)`` on the UI's."""

        def run():
            try:
                result = work()
            except (StoreUnavailable, QueueRefused) as exc:
                result = exc
            Clock.schedule_once(lambda dt: done(result))

        threading.Thread(target=run, name="kiosk-staff-press", daemon=True).start()

    def staff_action(self, action: str) -> None:
        screen = self.app.sm.get_screen("staff")
        if not screen.unlocked or self.app.flow.screen != "staff" or self.queue is None:
            return
        screen.error, screen.note_key = "", ""
        # No-show is asked twice: one tap beside Call again must not mark anyone.
        if action in ("no_show", "no_show_cancel"):
            screen.confirm_no_show = action == "no_show"
            self.app._announce("staff")  # its touch targets changed
            return
        if screen.confirm_no_show:
            screen.confirm_no_show = False
            self.app._announce("staff")  # the usual buttons are back
        if action == "transfer":
            self.start_transfer()
            return
        queue = self.queue
        work = {
            "next": lambda: queue.call_next(via="staff"),
            "recall": lambda: queue.recall(via="staff"),
            "no_show_confirm": lambda: queue.no_show(via="staff"),
        }[action]

        def done(outcome) -> None:
            screen.busy = False
            if isinstance(outcome, StoreUnavailable):
                log.error("staff %s not stored: %s", action, outcome)
                self._staff_error(outcome, action)
                self.app._announce("staff")  # drawn with the error (tests and screenshots wait for it)
                return
            log.info("staff: %s", action)
            self._called(outcome)

        if getattr(queue, "client", None) is None:  # the local queue: its disk answers at once
            try:
                outcome = work()
            except StoreUnavailable as exc:
                outcome = exc
            done(outcome)
            return
        if screen.busy:
            log.info("staff: %s ignored (the last press is still on its way)", action)
            return
        screen.busy = True
        self._off_the_ui_thread(work, done)

    # -- 轉介 Transfer (kiosk/ui/transfer.py) ------------------------------------------------
    def start_transfer(self) -> None:
        screen = self.app.sm.get_screen("staff")
        self._refresh_staff()
        if not screen.now_serving:
            screen.note_key = "transfer_nobody"
            return
        screen.transferring = True
        screen.build_body()
        self.app._announce("staff")

    def transfer(self, panel: TransferPanel, service, to_window: str | None, front: bool) -> None:
        """The confirmed transfer: through the queue (the host's answer may take a moment)."""
        queue = self.queue
        if queue is None:
            return
        log.info(
            "transfer: %s -> %s window %s %s",
            panel.number,
            service.code,
            to_window or "any",
            "front" if front else "back",
        )

        def done(result) -> None:
            if isinstance(result, Exception):
                log.error("transfer failed: %s", result)
            else:
                number = result.transferred.number if result.transferred else panel.number
                log.info("transferred: %s", number)
                self.app.flow.call_moved(number)  # its call banner here would send the visitor to this window
                self.app._show()
            panel.finished(result)
            self._refresh_staff()

        self._off_the_ui_thread(lambda: queue.transfer(service.code, to_window=to_window, front=front), done)

    def end_transfer(self) -> None:
        screen = self.app.sm.get_screen("staff")
        screen.transferring = False
        screen.build_body()
        self.app._announce("staff")

    def leave_staff(self) -> None:
        self.app.sm.get_screen("staff").unlocked = False
        self.app.go_home()


def _font(configured: str) -> str | None:
    try:
        return str(find_cjk_font(configured)["Regular"])
    except Exception:
        return None


def make_screens(app) -> list[Screen]:
    """Load the queue's .kv files and return the four screens (``app.queue_ui`` is made before, at start)."""
    for name in KV_FILES:
        Builder.load_file(str(SCREENS_DIR / name))
    guidance = GuidanceScreen(name="guidance")
    guidance.staff_enabled = app.queue_ui.staff_enabled
    return [guidance, TicketScreen(name="ticket"), CallingScreen(name="calling"), StaffScreen(name="staff")]
