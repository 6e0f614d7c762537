"""The queue's screens: 服務導引 (guidance), the ticket, a called number, the staff panel.

The app makes one ``QueueUI`` at start as ``app.queue_ui`` (what the .kv files call);
``make_screens(app)`` loads their .kv files and returns the screens to add (after the first frame).

Order of things for a ticket: the queue stores it durably (kiosk.queue.Queue.issue),
then the ticket screen is shown, then it is printed in a background thread (a
jammed printer must not hold the screen). A number called by the GPIO "next"
button arrives on a gpiozero thread and is handed to Kivy's main thread.

Log lines (tests and bench/ read them): ``ticket: NUMBER stored``, ``ticket-on-screen
NUMBER MS`` (from the tap to the frame that shows it), ``printed: NUMBER`` /
``print failed: …``, ``called: NUMBER via``, ``chime: played`` / ``chime: …``,
``staff: unlocked``, ``staff: wrong PIN (N)``, ``staff: locked for N s``.
"""

from __future__ import annotations

import logging
import threading
import time
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
from kiosk.chime import CHIME_PATH, speak
from kiosk.flow import TAKE_GUARD
from kiosk.fonts import find_cjk_font
from kiosk.i18n import text
from kiosk.printer import PrinterSpec, TicketPrint, parse_spec, print_ticket
from kiosk.queue import QueueRefused
from kiosk.staffpin import StaffPinGuard
from kiosk.store import StoreUnavailable
from kiosk.ticket_qr import TicketFacts, TicketQR, modules
from kiosk.ui import widgets
from kiosk.ui.qr_view import QRView  # noqa: F401  (ticket.kv draws the code with it)
from kiosk.ui.screen import KioskScreen
from server_sync.wire.directory import EMPTY
from server_sync.wire.tz import OFFICE_TZ

log = logging.getLogger("kiosk.ui.queue")

SCREENS_DIR = resources.files("kiosk.ui") / "screens"  # package data (pyproject.toml)
KV_FILES = ("guidance.kv", "ticket.kv", "calling.kv", "staff.kv")
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
    staff_enabled = BooleanProperty(False)

    def on_pre_enter(self, *_):
        self.show_list()
        super().on_pre_enter()

    def show_list(self):
        self.service, self.status, self.message = None, None, ""
        body = self.ids.body
        body.clear_widgets()
        panel = Factory.ServiceList()
        grid = panel.ids.grid
        primary, secondary = widgets.FitGroup(), widgets.FitGroup()
        for service in self.ui.directory().services:
            grid.add_widget(ServiceButton(service=service, primary_group=primary, secondary_group=secondary))
        body.add_widget(panel)

    def show_service(self, service):
        self.service = service
        self.refresh()
        body = self.ids.body
        body.clear_widgets()
        body.add_widget(ServiceDetail())
        super().on_pre_enter()

    def refresh(self):
        if self.service is not None:
            self.status = self.ui.status(self.service.code)

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

    def on_pre_enter(self, *_):
        self.unlocked, self.entered, self.message_key, self.error = False, "", "pin_prompt", ""
        self.locked_for = 0
        self.build_body()
        super().on_pre_enter()

    def build_body(self):
        body = self.ids.body
        body.clear_widgets()
        body.add_widget(Factory.StaffPanel() if self.unlocked else Factory.PinPad())
        self.refit_labels()


class QueueUI:
    """What the queue's .kv files call; one per app (``app.queue_ui``)."""

    def __init__(self, app):
        self.app = app
        self.staff_pin_hash = app.kiosk_config["queue.staff_pin_hash"]
        self.staff_enabled = bool(self.staff_pin_hash)
        self.speak = app.kiosk_config["queue.speak"]
        self.printer = parse_spec(app.kiosk_config["queue.printer"])
        self._sound = None
        self._sound_failed = False
        self._pin_guard: StaffPinGuard | None = None  # made once the kiosk's store is there
        self._lock_ends = 0.0  # time.monotonic() when the shown lock is over
        self._lock_tick = None
        # (number, perf_counter at the press) of a ticket not yet on screen
        self._ticket_pending: tuple[str, float] | None = None
        self.qr = TicketQR()  # issue 13's queue host plugs its /t/<token> link in here
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
        if self.queue is None:
            return None
        return self.queue.status(code)

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
        if screen.service is None:
            self.app.go_home()
            return
        screen.show_list()
        self.app._announce("guidance")

    def take(self, priority: bool) -> None:
        screen = self.app.sm.get_screen("guidance")
        if self.app.flow.screen != "guidance" or screen.service is None or self.queue is None:
            return  # a second tap after the screen moved on
        t0 = time.perf_counter()
        lang = self.app.lang
        try:
            ticket = self.queue.issue(screen.service.code, priority=priority)
        except QueueRefused as exc:
            screen.message = exc.en if lang == "en" else exc.zh
            screen.refresh()
            log.info("ticket refused: %s", exc.en)
            return
        except StoreUnavailable as exc:
            log.error("ticket not stored: %s", exc)
            self.app.notice_zh, self.app.notice_en = exc.zh, exc.en
            self.app.notice_key = "notice_ticket_title"
            self.app.flow.store_failed(exc.zh, exc.en, self.app.now())
            self.app._show()
            return
        log.info("ticket: %s stored", ticket.number)  # durably: Store.append returned
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
            window=str(cfg["kiosk.window"]),
            priority=ticket.priority,
        )

    def show_ticket(self, ticket, *, print_key: str = "no_printer", recalled: list | None = None) -> None:
        """The ticket screen for ``ticket`` (just stored, or recalled from 我的號碼)."""
        shown = self.app.sm.get_screen("ticket")
        shown.window = str(self.app.kiosk_config["kiosk.window"])
        shown.recalled = recalled or []
        shown.show(ticket, self.qr.text(self.facts(ticket)), print_key)
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
                    window=str(cfg["kiosk.window"]),
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
            return
        if outcome.ignored:
            log.info("next: ignored (pressed twice)")
            return
        if outcome.no_show is not None:
            log.info("no-show: %s", outcome.no_show.number)
        if outcome.called is None:
            log.info("called: none (nobody waiting)")
            self._refresh_staff()
            return
        number = outcome.called.number
        window = str(self.app.kiosk_config["kiosk.window"])
        log.info("called: %s %s", number, "recall" if outcome.recall else "next")
        screen = self.app.sm.get_screen("calling")
        screen.number, screen.window = number, window
        self._chime()
        if self.speak and speak(number, window) is None:
            log.info("speak: espeak-ng not installed")
        self.app.flow.called(number, window, self.app.now())  # whole screen, or a banner over a task
        self.app._show()
        self._refresh_staff()
        guidance = self.app.sm.get_screen("guidance")
        if guidance.service is not None:
            guidance.refresh()

    def _chime(self) -> None:
        if self._sound is None and not self._sound_failed:
            try:
                # Only on the first call: importing Kivy's audio core probes every audio
                # provider (GStreamer, ffpyplayer, SDL2), start-up time a kiosk that never
                # calls a number need not spend.
                from kivy.core.audio import SoundLoader

                self._sound = SoundLoader.load(str(CHIME_PATH))
            except Exception as exc:
                log.warning("chime: cannot load %s: %s", CHIME_PATH, exc)
            if self._sound is None or not self._sound.length:  # no audio device: SDL2 hands back an empty sound
                self._sound, self._sound_failed = None, True
                log.warning("chime: no audio output available; calls are shown only")
        if self._sound is not None:
            self._sound.stop()
            self._sound.play()
            log.info("chime: played %.2f s", self._sound.length)

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

    def _staff_error(self, exc) -> None:
        screen = self.app.sm.get_screen("staff")
        screen.error = text("call_failed", self.app.lang, reason=exc.en if self.app.lang == "en" else exc.zh)

    def staff_action(self, action: str) -> None:
        screen = self.app.sm.get_screen("staff")
        if not screen.unlocked or self.app.flow.screen != "staff" or self.queue is None:
            return
        screen.error = ""
        try:
            outcome = {
                "next": lambda: self.queue.call_next(via="staff"),
                "recall": lambda: self.queue.recall(via="staff"),
                "no_show": lambda: self.queue.no_show(via="staff"),
            }[action]()
        except StoreUnavailable as exc:
            log.error("staff %s not stored: %s", action, exc)
            self._staff_error(exc)
            return
        log.info("staff: %s", action)
        self._called(outcome)

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
