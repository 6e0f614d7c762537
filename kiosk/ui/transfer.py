"""轉介 Transfer on the staff panel: choose the service (and optionally a window), front or back, confirm.

The staff panel (kiosk/ui/queue_screens.py) swaps ``TransferPanel`` into its body; the press goes
through the window's queue like next and recall (the office's queue host, or the local queue), and
the panel ends on what was done ("A012 已轉至 選舉公報 第 2 號窗口") or why nothing was.
Log lines: ``transfer: NUMBER -> SERVICE window W front|back``, ``transferred: NUMBER``,
``transfer failed: …``.
"""

from __future__ import annotations

from kivy.app import App
from kivy.properties import BooleanProperty, ObjectProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout

from kiosk.i18n import text
from kiosk.ui import widgets

STEPS = ("service", "options", "done")


class TransferServiceButton(widgets.BigButton):
    service = ObjectProperty(None, allownone=True)
    panel = ObjectProperty(None, allownone=True)


class ChoiceButton(widgets.BigButton):
    """One of a row of choices (a window, front or back); ``chosen`` is drawn filled."""

    chosen = BooleanProperty(False)
    value = StringProperty("")


class WindowChoice(ChoiceButton):
    panel = ObjectProperty(None, allownone=True)


class TransferPart(BoxLayout):
    """One step's widgets; ``panel`` is the TransferPanel they act on."""

    panel = ObjectProperty(None, allownone=True)


class TransferServices(TransferPart):
    pass


class TransferOptions(TransferPart):
    pass


class TransferDone(TransferPart):
    pass


def where_words(to_window: str, lang: str) -> str:
    return text("window_n", lang, window=to_window) if to_window else text("any_window", lang)


def done_words(number: str, service, to_window: str, lang: str) -> str:
    """What the panel says once the host stored it: A012 已轉至 選舉公報 第 2 號窗口."""
    return text("transfer_done", lang, number=number, service=service.label(lang), where=where_words(to_window, lang))


class TransferPanel(BoxLayout):
    """The transfer's three steps: the service, then window / front or back / confirm, then the result."""

    step = StringProperty("service")
    number = StringProperty("")  # the ticket being sent on
    service = ObjectProperty(None, allownone=True)  # the chosen kiosk Service
    chosen_window = StringProperty("")  # "" for any window that serves it (not to_window: a Widget method)
    front = BooleanProperty(False)
    busy = BooleanProperty(False)  # the press is on its way to the host
    failed = BooleanProperty(False)
    result_zh = StringProperty("")
    result_en = StringProperty("")

    def on_kv_post(self, _base):
        self.show("service")

    @property
    def ui(self):
        return App.get_running_app().queue_ui

    def show(self, step: str) -> None:
        assert step in STEPS
        self.step = step
        body = self.ids.step_body
        body.clear_widgets()
        part: TransferPart
        if step == "service":
            part = TransferServices(panel=self)
            grid = part.ids.grid
            primary = widgets.FitGroup()
            for service in self.ui.directory().services:
                grid.add_widget(TransferServiceButton(service=service, panel=self, primary_group=primary))
        elif step == "options":
            part = TransferOptions(panel=self)
            row = part.ids.windows
            for value in ("", *self.service.windows):
                row.add_widget(WindowChoice(value=value, panel=self))
        else:
            part = TransferDone(panel=self)
        body.add_widget(part)
        App.get_running_app()._announce("staff")  # the touch targets changed

    def choose_service(self, service) -> None:
        if self.step != "service" or service is None:
            return
        self.service, self.chosen_window, self.front = service, "", False
        self.show("options")

    def choose_window(self, value: str) -> None:
        self.chosen_window = value

    def question(self, lang: str, to_window: str, front: bool) -> str:
        """A012 → 選舉公報 · 第 2 號窗口 · 排最前？ (the kv passes the choices so it follows them)."""
        if self.service is None:
            return ""
        return text(
            "transfer_question",
            lang,
            number=self.number,
            service=self.service.label(lang),
            where=where_words(to_window, lang),
            position=text("front" if front else "back_of_line", lang),
        )

    def confirm(self) -> None:
        if self.step != "options" or self.busy or self.service is None:
            return
        self.busy = True
        self.ui.transfer(self, self.service, self.chosen_window or None, self.front)

    def finished(self, outcome_or_error) -> None:
        """The host's answer (on the UI thread): a CallOutcome, or the QueueRefused / StoreUnavailable."""
        self.busy = False
        error = outcome_or_error if isinstance(outcome_or_error, Exception) else None
        self.failed = error is not None
        if error is None:
            ticket = outcome_or_error.transferred
            number = ticket.number if ticket is not None else self.number
            self.result_zh = done_words(number, self.service, self.chosen_window, "zh-TW")
            self.result_en = done_words(number, self.service, self.chosen_window, "en")
        else:
            zh, en = self.ui.error_words(error, "transfer")
            self.result_zh = text("transfer_failed", "zh-TW", reason=zh)
            self.result_en = text("transfer_failed", "en", reason=en)
        self.show("done")
