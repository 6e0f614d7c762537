"""The walk tests/readability_probe.py runs: a KioskApp that visits every screen and state.

Imported only once Kivy's settings are made (it imports the app, which opens the window).
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import threading
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

from kivy.clock import Clock
from kivy.core.text import Label as CoreLabel
from kivy.core.window import Window
from kivy.uix.label import Label
from kivy.uix.scrollview import ScrollView

from kiosk import i18n
from kiosk.buttons import press_mock_pin
from kiosk.lookup import CaseView, Stage
from kiosk.ui import widgets
from kiosk.ui.kioskapp import KioskApp
from kiosk.ui.screen import walk

log = logging.getLogger("probe")
FRAMES = 3  # frames drawn after a change before its labels are read: fits and layouts settle


def visible(widget) -> bool:
    w = widget
    while w is not None and w is not w.parent:
        if getattr(w, "opacity", 1) <= 0:
            return False
        if isinstance(w, Window.__class__):
            break
        w = w.parent
    return True


def in_scroll(widget) -> bool:
    w = widget.parent
    while w is not None and w is not w.parent:
        if isinstance(w, ScrollView):
            return True
        w = w.parent
    return False


def laid_out(label: Label) -> tuple[float, float]:
    """The width and height the label's text takes when Kivy lays it all out at the label's width."""
    width = label.text_size[0] if label.text_size and label.text_size[0] else None
    core = CoreLabel(
        text=label.text,
        font_size=label.font_size,
        font_name=label.font_name,
        bold=label.bold,
        halign=label.halign,
        valign="top",
        line_height=label.line_height,
        text_size=(width, None),
        padding=label.padding,
    )
    core.resolve_font_name()
    core.render()
    return core._internal_size


class Probe(KioskApp):
    def __init__(self, config, data_dir, *, out: Path, shots: Path | None, size: str, large: bool):
        super().__init__(config, data_dir, demo=True)
        self.modes = (False, True) if large else (False,)
        self.out, self.shots, self.size_name = out, shots, size
        self.records: list[dict] = []
        self._frames = 0
        self._waiting: Iterator | None = None

    def on_start(self):
        super().on_start()
        Window.bind(on_flip=self._count)
        self._walk = self.walk()
        self._next(None)

    def _count(self, *_):
        self._frames += 1

    # -- stepping: each yield waits until FRAMES frames are drawn and `until` holds ---------
    def _next(self, _dt):
        try:
            until = next(self._walk)
        except StopIteration:
            self.out.write_text(json.dumps(self.records, ensure_ascii=False), encoding="utf-8")
            self.stop()
            return
        start = self._frames
        Window.canvas.ask_update()

        def check(_dt):
            Window.canvas.ask_update()
            if self._frames - start >= FRAMES and (until is None or until()):
                self._next(None)
                return False
            return True

        Clock.schedule_interval(check, 0.05)

    def ensure(self, lang: str, large: bool):
        if self.lang != lang:
            self.toggle_language()
        if self.large != large:
            self.toggle_large_text()

    def record(self, state: str):
        screen = self.sm.current
        labels = []
        for w in walk(Window):
            if not isinstance(w, Label) or not w.text.strip() or not visible(w) or w.width < 1:
                continue
            x, y = w.to_window(w.x, w.y)
            cw, ch = laid_out(w)
            labels.append(
                {
                    "text": w.text,
                    "font_size": float(w.font_size),
                    "box": [x, y, w.width, w.height],
                    "content": [cw, ch],
                    "text_size": list(w.text_size) if w.text_size else None,
                    "scrolled": in_scroll(w),
                    "colour": list(w.color),
                }
            )
        pairs = []
        for w in walk(Window):
            if isinstance(w, widgets.BigButton) and visible(w) and w.secondary and not self.large:
                main, second = (c for c in reversed(w.children))
                pairs.append({"target": w.target, "primary": main.font_size, "secondary": second.font_size})
        bars = []
        for w in walk(Window):
            if isinstance(w, widgets.ScrollBox) and visible(w) and w.children:
                bars.append(
                    {
                        "content": w.children[0].height,
                        "height": w.height,
                        "bar_width": w.bar_width,
                        "bar_always": list(w.bar_inactive_color) == list(w.bar_color),
                    }
                )
        name = f"{state}-{self.lang}{'-large' if self.large else ''}"
        self.records.append(
            {
                "state": state,
                "screen": screen,
                "lang": self.lang,
                "large": self.large,
                "labels": labels,
                "buttons": pairs,
                "t": time.monotonic(),
                "scrolls": bars,
                "window": list(Window.size),
            }
        )
        if self.shots is not None:
            self.shots.mkdir(parents=True, exist_ok=True)
            subprocess.run(
                ["import", "-display", os.environ["DISPLAY"], "-window", "root", str(self.shots / f"{name}.png")],
                check=True,
                capture_output=True,
                timeout=20,
            )

    def at_home(self) -> bool:
        """Go home (again, should the flow hold the screen a moment) until there."""
        if self.sm.current != "home":
            self.go_home()
        return self.sm.current == "home" and self.flow.screen == "home"

    def press(self, button):
        threading.Thread(target=press_mock_pin, args=(button,), daemon=True).start()

    def walk(self):
        guidance = self.sm.get_screen("guidance")
        services = {s.code: s for s in self.queue_ui.directory().services}
        yield None
        for large in self.modes:
            for lang in ("zh-TW", "en"):
                self.go_home()
                self.ensure(lang, large)
                yield lambda: self.sm.current == "home"
                self.record("home")

                self.press(self.kiosk.buttons.buttons[1])
                yield lambda: self.sm.current == "thanks"
                self.ensure(lang, large)
                yield None
                self.record("thanks")
                self.go_home()
                yield None

                self.press(self.kiosk.buttons.buttons[4])
                yield lambda: self.sm.current == "reasons"
                self.ensure(lang, large)
                yield None
                self.record("reasons")

                self.go_home()
                self.open_entry("guidance")
                self.ensure(lang, large)
                yield lambda: self.sm.current == "guidance"
                self.record("guidance")
                for state, code in (
                    ("service", "candidate_registration"),
                    ("service-closed", "recall_referendum"),
                    ("service-elsewhere", "political_donation"),
                ):
                    guidance.show_list()
                    self.queue_ui.pick(services[code])
                    yield None
                    self.record(state)

                guidance.show_list()
                self.queue_ui.pick(services["candidate_registration"])
                yield None
                self.queue_ui.take(False)
                yield lambda: self.sm.current == "ticket"
                self.ensure(lang, large)
                yield None
                self.record("ticket")

                # Over a visitor's task a call is only a banner: from home it takes the screen.
                yield self.at_home
                self.press(self.kiosk.buttons.next_button)
                yield lambda: self.sm.current == "calling"
                self.ensure(lang, large)
                yield None
                self.record("calling")

                self.go_home()
                self.open_entry("lookup")
                self.ensure(lang, large)
                yield lambda: self.sm.current == "lookup"
                self.record("lookup")
                lookup = self.sm.get_screen("lookup")
                lookup.case_no = "113-000123"
                lookup._say(
                    (i18n.text("lookup_locked", "zh-TW", minutes=15), i18n.text("lookup_locked", "en", minutes=15))
                )
                yield None
                self.record("lookup-locked")
                self.show_case(sample_case())
                yield lambda: self.sm.current == "case_result"
                self.record("case_result")

                self.go_home()
                self.notice_zh, self.notice_en = "磁碟已滿", "the disk is full"
                self.notice_key = "notice_title"
                self.flow.press_failed("磁碟已滿", "the disk is full", self.now())
                self._show()
                self.ensure(lang, large)
                yield lambda: self.sm.current == "notice"
                self.record("notice")

                self.go_home()
                self.open_entry("guidance")
                self.ensure(lang, large)
                yield lambda: self.sm.current == "guidance"
                self.queue_ui.open_staff()
                yield lambda: self.sm.current == "staff"
                staff = self.sm.get_screen("staff")
                self.record("staff-pin")
                staff.message_key, staff.locked_for = "pin_locked", 600
                yield None
                self.record("staff-locked")
                staff.message_key, staff.locked_for = "pin_prompt", 0
                staff.unlocked = True
                staff.build_body()
                self.status = (
                    "未能同步：無法連線到收集伺服器 · 待同步 312 筆"
                    if lang == "zh-TW"
                    else ("Not synced: cannot reach the collector · 312 waiting to sync")
                )
                staff.note_key = "queue_empty"
                yield None
                self.record("staff-panel")
                staff.note_key = ""
                staff.confirm_no_show = True
                yield None
                self.record("staff-no-show")
                staff.confirm_no_show = False
                self.status = ""


def sample_case() -> CaseView:
    labels = [
        ("收件", "Received"),
        ("資格審查", "Eligibility check"),
        ("補件通知", "Documents requested"),
        ("補件完成", "Documents received"),
        ("審核中", "Under review"),
        ("陳核", "Submitted for approval"),
        ("核定", "Approved"),
        ("通知領件", "Ready for collection"),
    ]
    start = date.today() - timedelta(days=30)
    stages = tuple(Stage(zh, en, (start + timedelta(days=3 * i)).isoformat()) for i, (zh, en) in enumerate(labels))
    return CaseView(
        case_no="113-000123",
        case_type="選舉人名冊閱覽申請",
        case_type_en="Electoral roll inspection application",
        name="王○明",
        stages=stages,
        unit="第一組",
        unit_en="First Section",
        extension="123",
        due_date=(date.today() + timedelta(days=9)).isoformat(),
        closed_date=None,
    )
