"""The entrance kiosk's home ([queue] entrance = true): every service of the office, its line, and 取號.

Each service is a card: its name (a tap opens 服務導引's page for it, with what to bring), how many
wait and the wait band pooled across the windows that serve it (from the office's queue host), and
取號 / 優先 to take a number at once. No rating tiles and no rating hint: the entrance has no
rating buttons (kiosk/runtime.py builds none). The lines are read from the host off the UI thread
every few seconds while the screen shows; a host that does not answer turns every card to
暫時無法取號 instead of freezing the screen.
"""

from __future__ import annotations

import logging
import threading

from kivy.app import App
from kivy.clock import Clock
from kivy.properties import BooleanProperty, NumericProperty, ObjectProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout

from kiosk import estimate
from kiosk.i18n import text
from kiosk.ui import widgets
from kiosk.ui.screen import KioskScreen

log = logging.getLogger("kiosk.ui.entrance")

REFRESH_SECONDS = 5.0


class EntranceCard(BoxLayout):
    """One service on the entrance's home: name and line, 取號, 優先."""

    service = ObjectProperty(None, allownone=True)
    st = ObjectProperty(None, allownone=True)  # its kiosk.queue.ServiceStatus, None until read
    lost = BooleanProperty(False)  # the host did not answer
    primary_group = ObjectProperty(None, allownone=True)

    def line(self, lang: str, st, lost: bool) -> str:
        """前面 3 人 · 約 5–10 分鐘, 無人等候 · 少於 5 分鐘, 未開放, 暫時無法取號."""
        if lost:
            return text("numbers_unavailable", lang)
        if st is None:
            return ""
        if not st.open:
            return text("closed_short", lang)
        band = estimate.label(st.band, lang)
        if not st.ahead:
            return text("entrance_line_none", lang, band=band)
        return text("entrance_line", lang, n=st.ahead, band=band)

    def can_take(self, st, lost: bool) -> bool:
        return bool(st is not None and not lost and st.open and st.here)


class EntranceScreen(KioskScreen):
    """The entrance's home (named "home": the flow's home is this screen on an entrance kiosk)."""

    recent = NumericProperty(0)  # tickets 我的號碼 can recall (issued here in the last hour)
    host_lost = BooleanProperty(False)
    message = StringProperty("")  # a refusal ("not open now") in the current language
    revision = ObjectProperty(None, allownone=True)  # the directory's the cards were built from

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._event = None
        self._reading = False

    @property
    def ui(self):
        return App.get_running_app().queue_ui

    def on_pre_enter(self, *_):
        self.message = ""
        super().on_pre_enter()

    def on_enter(self, *_):
        # Next frame: at start-up this screen shows before the app has built the kiosk.
        Clock.schedule_once(lambda dt: self.read_lines())
        if self._event is None:
            self._event = Clock.schedule_interval(lambda dt: self.read_lines(), REFRESH_SECONDS)

    def on_leave(self, *_):
        if self._event is not None:
            self._event.cancel()
            self._event = None

    def build_cards(self) -> None:
        directory = self.ui.directory()
        if self.revision == directory.revision and self.ids.grid.children:
            return
        self.revision = directory.revision
        grid = self.ids.grid
        grid.clear_widgets()
        group = widgets.FitGroup()
        for service in directory.services:
            grid.add_widget(EntranceCard(service=service, primary_group=group))

    def read_lines(self) -> None:
        """Every service's line from the host, off the UI thread (the host may be slow or gone)."""
        if self._reading or getattr(App.get_running_app(), "kiosk", None) is None:
            return
        self._reading = True
        self.recent = len(self.ui.recent())
        self.build_cards()
        codes = [card.service.code for card in self.ids.grid.children]
        threading.Thread(target=self._read, args=(codes,), name="kiosk-entrance-lines", daemon=True).start()

    def _read(self, codes: list[str]) -> None:
        statuses, lost = {}, False
        for code in codes:
            status, lost = self.ui.status_of(code)
            if lost:
                break  # the host is gone: no need to wait on it once per service
            statuses[code] = status
        Clock.schedule_once(lambda dt: self._show_lines(statuses, lost))

    def _show_lines(self, statuses: dict, lost: bool) -> None:
        self._reading = False
        if lost != self.host_lost:
            log.warning("entrance: queue host %s", "lost" if lost else "back")
        self.host_lost = lost
        cards = self.ids.grid.children
        before = [card.can_take(card.st, card.lost) for card in cards]
        for card in cards:
            card.lost = lost
            card.st = statuses.get(card.service.code, card.st)
        self.refit_labels()
        app = App.get_running_app()
        if app.sm.current == self.name and before != [card.can_take(card.st, card.lost) for card in cards]:
            app._announce(self.name)  # 取號 buttons came or went: the layout log says so

    def take(self, card, priority: bool) -> None:
        if App.get_running_app().flow.screen != "home" or not card.can_take(card.st, card.lost):
            return

        def refused(words: str) -> None:
            self.message = words
            self.read_lines()

        def taking(on: bool) -> None:
            self.message = text("taking_number", App.get_running_app().lang) if on else ""

        self.ui.take_number(card.service, priority=priority, on_screen="home", refused=refused, taking=taking)

    def detail(self, service) -> None:
        """The service's page (what to bring, hours), 服務導引's; back returns here."""
        app = App.get_running_app()
        app.open_entry("guidance")
        self.ui.pick(service)
