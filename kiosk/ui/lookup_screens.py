"""The 案件查詢 screens: entry with an on-screen keypad (lookup.kv) and the found case (case_result.kv).

A USB barcode scanner is a keyboard that types the case number and presses
Enter: while the entry screen is up, typed letters, digits and hyphens go into
the case-number field, Enter moves on to the code field (or searches from it).
Nothing typed or found outlives the screen: both screens wipe what they hold
when they are left, whether by 完成, 返回首頁 or the idle timeout.
"""

from __future__ import annotations

import logging

from kivy.app import App
from kivy.core.window import Window
from kivy.properties import BooleanProperty, ListProperty, NumericProperty, ObjectProperty, StringProperty
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.boxlayout import BoxLayout

from kiosk.lookup import CaseLookup, format_date
from kiosk.store import StoreUnavailable
from kiosk.ui.screen import KioskScreen

log = logging.getLogger("kiosk.ui")

MAX_CASE_NO = 32
MAX_CODE = 12
ENTER_KEYS = {13, 271}  # Return, keypad Enter
BACKSPACE = 8
KEYPAD_DIGITS = {256 + n: str(n) for n in range(10)}
MAX_TIMELINE = 6  # the latest stages shown (the timeline scrolls); earlier ones are summed up in one line


class EntryField(ButtonBehavior, BoxLayout):
    """A tappable field showing what the keypad typed (the code as dots)."""

    target = StringProperty("")
    label_key = StringProperty("")
    hint_key = StringProperty("")
    value = StringProperty("")
    secret = BooleanProperty(False)
    active = BooleanProperty(False)


class TimelineRow(BoxLayout):
    date = StringProperty("")
    stage = StringProperty("")
    current = BooleanProperty(False)
    first = BooleanProperty(False)
    last = BooleanProperty(False)


class LookupScreen(KioskScreen):
    case_no = StringProperty("")
    code = StringProperty("")
    field = StringProperty("case")  # which field the keypad types into
    message_zh = StringProperty("")
    message_en = StringProperty("")
    message_error = BooleanProperty(False)
    service = ObjectProperty(None, allownone=True)

    # -- typing -------------------------------------------------------------------
    def press(self, key: str) -> None:
        """A keypad key: a digit, '-', 'delete', 'clear' or 'next'."""
        self._clear_message()
        if key == "delete":
            self._set(self._value()[:-1])
        elif key == "clear":
            self._set("")
        elif key == "next":
            self.enter()
        elif key == "-" and self.field == "code":
            return
        else:
            self._type(key)

    def select(self, field: str) -> None:
        self.field = field
        log.info("lookup field: %s", field)

    def enter(self) -> None:
        """Enter (scanner, keyboard) or 下一欄: on to the code, or search from it."""
        if self.field == "case" and self.case_no:
            self.select("code")
        elif self.field == "code":
            self.search()

    def _value(self) -> str:
        return self.case_no if self.field == "case" else self.code

    def _set(self, value: str) -> None:
        if self.field == "case":
            self.case_no = value[:MAX_CASE_NO]
        else:
            self.code = value[:MAX_CODE]

    def _type(self, ch: str) -> None:
        self._set(self._value() + ch)

    def _clear_message(self) -> None:
        self.message_zh = self.message_en = ""
        self.message_error = False

    def _say(self, texts: tuple[str, str], error: bool = True) -> None:
        self.message_zh, self.message_en = texts
        self.message_error = error

    # -- keyboard and scanner ----------------------------------------------------------
    def on_enter(self, *_):
        Window.bind(on_key_down=self._on_key_down)  # bound last, so asked first

    def on_leave(self, *_):
        Window.unbind(on_key_down=self._on_key_down)
        self.clear()

    def _on_key_down(self, _window, key, _scancode, codepoint, modifiers):
        if self.manager is None or self.manager.current != self.name:
            return False
        app = App.get_running_app()
        app.touched()
        if app.demo_keys is not None:  # demo: a key on its own presses a button, the scanner's burst types
            return app.demo_keys.feed(key, codepoint, modifiers, self._typed)
        return self._typed(key, codepoint, modifiers)

    def _typed(self, key, codepoint, modifiers) -> bool:
        """A key typed into the fields (the scanner's, or a keyboard's)."""
        if key in ENTER_KEYS:
            self.enter()
            return True
        if key == BACKSPACE:
            self.press("delete")
            return True
        ch = KEYPAD_DIGITS.get(key) or (codepoint or "")
        if modifiers and set(modifiers) - {"shift", "numlock", "capslock"}:
            return False
        if len(ch) == 1 and ch.isascii() and (ch.isalnum() or ch == "-"):
            # A scanner always types the case number; letters never go into the code.
            if self.field == "code" and not ch.isdigit():
                self.select("case")
                self.case_no = ""
            self._clear_message()
            self._type(ch.upper())
            return True
        return False

    # -- searching -----------------------------------------------------------------------
    def search(self) -> None:
        app = App.get_running_app()
        if not self.case_no or not self.code:
            log.info("lookup: incomplete")
            self._say((app.tr("lookup_need_both", "zh-TW"), app.tr("lookup_need_both", "en")))
            self.select("case" if not self.case_no else "code")
            return
        if self.service is None:
            self.service = CaseLookup.from_config(app.kiosk.store, app.kiosk_config)
        try:
            result = self.service.lookup(self.case_no, self.code, source="screen")
        except StoreUnavailable as exc:
            # Not stored, so not shown: say so instead of the answer.
            log.error("lookup not stored: %s", exc)
            zh = app.tr("lookup_unavailable", "zh-TW", reason=exc.zh)
            en = app.tr("lookup_unavailable", "en", reason=exc.en)
            self._say((zh, en))
            return
        log.info("lookup: %s", result.result)
        self.code = ""
        if result.case is None:
            self._say((result.message("zh-TW"), result.message("en")))
            self.select("code" if result.result == "not_found" else "case")
            return
        app.show_case(result.case)

    def clear(self) -> None:
        self.case_no = self.code = ""
        self.field = "case"
        self._clear_message()


class CaseResultScreen(KioskScreen):
    case = ObjectProperty(None, allownone=True)
    rows = ListProperty([])
    earlier = NumericProperty(0)

    def show(self, case) -> None:
        self.earlier = max(0, len(case.stages) - MAX_TIMELINE)
        self.case = case
        self.refresh()

    def refresh(self, *_):
        box = self.ids.timeline
        box.clear_widgets()
        case = self.case
        if case is None:
            return
        lang = App.get_running_app().lang
        shown = case.stages[-MAX_TIMELINE:]
        for i, st in enumerate(shown):
            box.add_widget(
                TimelineRow(
                    date=format_date(st.date, lang),
                    stage=st.label(lang),
                    current=i == len(shown) - 1,
                    first=i == 0 and not self.earlier,
                    last=i == len(shown) - 1,
                )
            )

    def text(self, what: str, lang: str, _case=None) -> str:
        """One line of the result in ``lang``; the kv passes app.lang and root.case so it re-binds."""
        case = self.case
        if case is None:
            return ""
        app = App.get_running_app()
        cur = case.current
        if what == "type":
            return case.type_label(lang)
        if what == "stage":
            return cur.label(lang) if cur else ""
        if what == "stage_since":
            return format_date(cur.date, lang) if cur else ""
        if what == "expected":
            if case.closed_date:
                return f"{app.tr('closed_on', lang)} {format_date(case.closed_date, lang)}"
            return format_date(case.due_date, lang) or "—"
        if what == "unit":
            ext = f"  {app.tr('extension', lang, ext=case.extension)}" if case.extension else ""
            return case.unit_label(lang) + ext
        if what == "earlier":
            return app.tr("earlier_stages", lang, n=self.earlier) if self.earlier else ""
        return ""

    def on_enter(self, *_):
        App.get_running_app().bind(lang=self.refresh)

    def on_leave(self, *_):
        App.get_running_app().unbind(lang=self.refresh)
        # The visitor is done (完成 or idle): nothing of the case stays on screen or in memory.
        self.case = None
        self.earlier = 0
        self.ids.timeline.clear_widgets()
