"""The Kivy app: shows whatever ``kiosk.flow.Flow`` names and reports what happened to it.

Import only through ``kiosk.ui.app.run_app``: importing this module opens the window.
The screens are built here and never import this module; what they need of the app
they reach as Kivy's running app (``app`` in the .kv files).

Threads: gpiozero calls the button listener on its own threads after the press
is durably stored; the listener only hands the outcome to Kivy's main thread
(``Clock.schedule_once`` is thread-safe), where the flow and screens change.

Log lines other programs may rely on (tests, the start-up benchmark):
``screen: NAME`` when a screen is switched to, ``shown: NAME LANG`` once it has
been drawn, ``language: LANG`` on a switch, ``layout: SCREEN TARGET X Y W H`` for
every touch target (centre, window pixels from the top left) when
KIOSK_LOG_LAYOUT=1, ``first-frame SECONDS cpu CPU_SECONDS`` on stdout when
KIOSK_REPORT_FIRST_FRAME=1, and ``screens: all built`` once the screens after home are.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from datetime import datetime
from functools import partial
from importlib import resources
from pathlib import Path

from kivy.animation import Animation
from kivy.app import App
from kivy.clock import Clock, ClockEvent
from kivy.core.window import Window
from kivy.input.factory import MotionEventFactory
from kivy.lang import Builder
from kivy.properties import BooleanProperty, NumericProperty, ObjectProperty, StringProperty
from kivy.uix.floatlayout import FloatLayout
from kivy.uix.screenmanager import NoTransition

from kiosk import i18n
from kiosk.buttons import PressFailed
from kiosk.config import Config
from kiosk.face_taps import FaceTaps
from kiosk.flow import TASK_SCREENS
from kiosk.large_text import TextSize
from kiosk.runtime import Kiosk, make_flow
from kiosk.screen_power import ScreenPower, parse_hours
from kiosk.store import StoreUnavailable
from kiosk.ui import queue_screens, text_faces, widgets
from kiosk.ui.demo_keys import DemoKeys
from kiosk.ui.entrance import EntranceScreen  # the entrance kiosk's home ([queue] entrance)
from kiosk.ui.frame_rate import SLEEPING_IDLE_FPS, FrameRate
from kiosk.ui.lazy_screens import LazyScreens
from kiosk.ui.lookup_screens import CaseResultScreen, LookupScreen  # 案件查詢 (kiosk/lookup.py)
from kiosk.ui.loop_sleep import LoopSleep, waking_providers
from kiosk.ui.overlays import Overlays  # banners and the timeout warning over a screen
from kiosk.ui.process_age import process_age, process_cpu
from kiosk.ui.screen import KioskScreen
from kiosk.ui.sleep import SleepOverlay
from kiosk.ui.speech import Speech  # also SpokenHeader, the .kv files' header with 🔊
from kiosk.watchdog import Notifier

log = logging.getLogger("kiosk.ui")

SCREENS_DIR = resources.files("kiosk.ui") / "screens"  # package data (pyproject.toml)
# The flow is looked at when it says something changes (Flow.next_change), not on a beat;
# this is only the longest the loop sleeps between looks, in case a change slipped by.
LONGEST_TICK = 60.0
TICK_MARGIN = 0.002  # a hair past the deadline, so the look finds it passed
STATUS_SECONDS = 5.0
SCREEN_POWER_SECONDS = 10.0  # office hours change by the minute; no need to look more often
COUNTDOWN_STEP = 0.1  # the thank-you bar moves 10 times a second: smooth enough for a bar, a third of the redraws


class HomeScreen(KioskScreen):
    hint_glow = NumericProperty(0.0)
    recent = NumericProperty(0)  # tickets 我的號碼 can recall (issued here in the last hour)

    def on_pre_enter(self, *_):
        ui = getattr(App.get_running_app(), "queue_ui", None)
        self.recent = len(ui.recent()) if ui is not None else 0
        super().on_pre_enter()

    def nudge_hint(self, *_):
        """A visitor tapped a rating tile: point them to the physical buttons."""
        log.info("tile tapped: pointing to the buttons below")
        Animation.cancel_all(self, "hint_glow")
        pulse = Animation(hint_glow=1.0, duration=0.15) + Animation(hint_glow=0.0, duration=0.5)
        (pulse + pulse + Animation(hint_glow=1.0, duration=0.15) + Animation(hint_glow=0.0, duration=1.2)).start(self)

    def tile_tapped(self, tile):
        """A face tapped: a rating where ``buttons.touch_faces`` is on, else a pointer to the buttons."""
        if not App.get_running_app().tap_face(tile.level.number):
            self.nudge_hint()

    def build_levels(self, levels):
        row = self.ids.levels
        row.clear_widgets()
        primary, secondary = widgets.FitGroup(), widgets.FitGroup()
        for level in levels:
            tile = widgets.LevelTile(
                level=level,
                count=len(levels),
                primary_group=primary,
                secondary_group=secondary,
                colour=widgets.level_colour(level.number, len(levels)),
                mood=widgets.level_mood(level.number, len(levels)),
            )
            tile.bind(on_tapped=self.tile_tapped)
            row.add_widget(tile)


class ThanksScreen(KioskScreen):
    pass


class ReasonButton(widgets.BigButton):
    reason = ObjectProperty(None, allownone=True)


class ReasonsScreen(KioskScreen):
    columns = NumericProperty(3)

    def build_reasons(self, reasons):
        grid = self.ids.grid
        grid.clear_widgets()
        self.columns = 3 if len(reasons) > 4 else 2 if len(reasons) > 1 else 1
        primary, secondary = widgets.FitGroup(), widgets.FitGroup()
        for reason in reasons:
            grid.add_widget(ReasonButton(reason=reason, primary_group=primary, secondary_group=secondary))


class NoticeScreen(KioskScreen):
    pass


class KioskRoot(FloatLayout):
    """Every touch, anywhere, restarts the current screen's timeout."""

    def on_touch_down(self, touch):
        App.get_running_app().touched()
        return super().on_touch_down(touch)


class KioskApp(App):
    lang = StringProperty("zh-TW")
    other = StringProperty("en")
    u = NumericProperty(1.0)  # scale against the 800x480 reference layout
    t = NumericProperty(1.0)  # text unit: u, or a step larger in large-text mode (kiosk/ui/widgets.py)
    large = BooleanProperty(False)  # large-text, high-contrast mode for this visitor (kiosk/large_text.py)
    window = StringProperty("")
    status = StringProperty("")  # the sync status line: shown on the staff panel
    sync_trouble = BooleanProperty(False)  # home shows only an icon for it
    thanks_key = StringProperty("thanks_title")
    notice_zh = StringProperty("")
    notice_en = StringProperty("")
    notice_key = StringProperty("notice_title")  # which thing could not be recorded
    countdown = NumericProperty(1.0)
    rated_level = NumericProperty(0)  # the level the thank-you names; 0 after a reason
    touch_faces = BooleanProperty(False)  # [buttons] touch_faces: a tapped face rates

    def __init__(self, kiosk_config: Config, data_dir, *, demo: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.kiosk_config = kiosk_config  # App.config is Kivy's own
        self.data_dir = Path(data_dir)
        self.demo = demo
        self.kiosk: Kiosk | None = None
        self.flow = make_flow(kiosk_config)
        self.text_size = TextSize(idle_timeout=self.flow.idle_timeout)
        self.flow.prompts = bool(kiosk_config["audio.prompts"])
        self.speech = Speech(self)  # one announcer for calls and spoken prompts
        self._speech_on = False
        self.lang = self.flow.lang
        # The entrance kiosk belongs to no window: its screens name each service's windows instead.
        self.window = "" if kiosk_config["queue.entrance"] else str(kiosk_config["kiosk.window"])
        self.title = "counter-kiosk"
        self._announce_pending: str | None = None
        self._first_frame_reported = os.environ.get("KIOSK_REPORT_FIRST_FRAME") != "1"
        self._ready_sent = False
        self._rest_scheduled = False  # the screens after home, built once the first frame is up
        self.notifier = Notifier()
        self._log_layout = os.environ.get("KIOSK_LOG_LAYOUT") == "1"
        self._status_failed = False
        self._countdown_anim: Animation | None = None
        self._tick_event: ClockEvent | None = None  # the next look at the flow (_plan_tick)
        self.loop_sleep: LoopSleep | None = None
        self.touch_faces = bool(kiosk_config["buttons.touch_faces"])
        self.face_taps: FaceTaps | None = None  # once the kiosk is built
        self.demo_keys = DemoKeys(lambda: self.kiosk) if demo else None

    # -- texts used by the .kv files ------------------------------------------
    def tr(self, key: str, lang: str, **fields) -> str:
        return i18n.text(key, lang, **fields)

    def label(self, item, lang: str) -> str:
        return i18n.label(item, lang)

    def level_label(self, number: int | None, lang: str) -> str:
        """A rating level's configured name (非常滿意 Very satisfied …); "" for none."""
        for level in self.kiosk_config.levels:
            if level.number == number:
                return i18n.label(level, lang)
        return ""

    def office(self, lang: str) -> str:
        return self.kiosk_config["kiosk.office_en" if lang == "en" else "kiosk.office"]

    def on_lang(self, _app, lang):
        self.other = "en" if lang == "zh-TW" else "zh-TW"

    # -- building ---------------------------------------------------------------
    def build(self):
        text_faces.install()  # one font face per weight, not per size: ~2.5 MB each
        Window.clearcolor = widgets.WHITE
        Window.bind(size=self._rescale, on_flip=self._on_flip)
        # The main loop slows down while nothing is drawn or touched (kiosk/ui/frame_rate.py).
        self.frame_rate = FrameRate(Clock, self.now)
        changed = self.frame_rate.changed
        Window.bind(on_flip=changed, on_touch_down=changed, on_touch_move=changed, on_key_down=changed)
        self._rescale(Window, Window.size)
        # Only home is built before the first frame; the rest one per frame after it,
        # or at once if asked for sooner (kiosk/ui/lazy_screens.py).
        self.sm = LazyScreens(transition=NoTransition())
        if self.kiosk_config["queue.entrance"]:  # the entrance kiosk: its home is the office's directory
            Builder.load_file(str(SCREENS_DIR / "entrance.kv"))
            self.sm.add_widget(EntranceScreen(name="home"))
        else:
            Builder.load_file(str(SCREENS_DIR / "home.kv"))
            home = HomeScreen(name="home")
            home.build_levels(self.kiosk_config.levels)
            self.sm.add_widget(home)
        self.sm.later(["thanks"], lambda: [ThanksScreen(name="thanks")], kv_files=[self._kv("thanks.kv")])
        self.sm.later(["reasons"], self._make_reasons, kv_files=[self._kv("reasons.kv")])
        self.sm.later(["notice"], lambda: [NoticeScreen(name="notice")], kv_files=[self._kv("notice.kv")])
        self.sm.later(["lookup"], lambda: [LookupScreen(name="lookup")], kv_files=[self._kv("lookup.kv")])
        self.sm.later(
            ["case_result"], lambda: [CaseResultScreen(name="case_result")], kv_files=[self._kv("case_result.kv")]
        )
        # 服務導引, ticket, calling, staff: built together; what they share (app.queue_ui) is made now.
        self.queue_ui = queue_screens.QueueUI(self)
        self.sm.later(["guidance", "ticket", "calling", "staff"], lambda: queue_screens.make_screens(self))
        root = KioskRoot()
        root.add_widget(self.sm)

        pin_factory = None
        if self.demo:
            from gpiozero.pins.mock import MockFactory  # only the demo's simulated buttons need it

            pin_factory = MockFactory()
            Window.bind(on_key_down=self._on_key_down)
        # must_open=False: a read-only or full disk at start-up still shows the
        # screens; each press then retries and, failing, shows the notice.
        self.kiosk = Kiosk(
            self.kiosk_config,
            self.data_dir,
            pin_factory=pin_factory,
            listener=self._listener,
            must_open=False,
            on_call=self.queue_ui.on_call,
        )
        self.face_taps = FaceTaps(
            self.kiosk.recorder, self._listener, enabled=bool(self.kiosk_config["buttons.touch_faces"])
        )
        self.overlays = Overlays(self)
        if self.kiosk.store.open_error is not None:
            log.error(
                "Data file not available at start-up; presses will show a notice until it is: %s",
                self.kiosk.store.open_error,
            )
        log.info("screen: %s", self.flow.screen)
        self._announce(self.flow.screen)
        return root

    @staticmethod
    def _kv(name: str) -> str:
        return str(SCREENS_DIR / name)

    def _make_reasons(self) -> list[KioskScreen]:
        reasons = ReasonsScreen(name="reasons")
        reasons.build_reasons(self.kiosk_config.reasons)
        return [reasons]

    def _build_next_screen(self, _dt=None) -> None:
        """After the first frame: one screen group per frame, so the UI never waits for all."""
        if self.sm.build_next():
            Clock.schedule_once(self._build_next_screen)
        else:
            log.info("screens: all built")

    def on_start(self):
        assert self.kiosk is not None  # Kivy runs build() before on_start
        try:
            self.kiosk.start_sync()
        except Exception:  # sync is optional; the kiosk records on its own
            log.exception("Sync could not start; ratings are still recorded locally")
        self._tick_event = Clock.create_trigger(self._tick)
        self._tick_event()
        # Idle, the loop sleeps until input or the next timer where SDL can wait for input
        # (kiosk/ui/loop_sleep.py); elsewhere it keeps the frame rate's idle beat.
        waking_providers.register(MotionEventFactory)  # before Kivy creates its input providers
        self.loop_sleep = LoopSleep.install(Clock)
        if self.loop_sleep is not None:
            waking_providers.sleep = self.loop_sleep
            self.frame_rate.idle = SLEEPING_IDLE_FPS
        if self.kiosk_config["sync.url"]:  # without sync the status line never changes: nothing to look at
            Clock.schedule_interval(self._refresh_status, STATUS_SECONDS)
        # Heartbeats come from the UI loop itself, so a frozen UI (not only a dead
        # process) makes systemd restart the kiosk (WatchdogSec= in kiosk.service).
        cfg = self.kiosk_config
        self.screen_power = ScreenPower(
            hours=parse_hours(cfg["display.on_hours"]),
            days=tuple(cfg["display.on_days"]),
            wake_seconds=cfg["kiosk.idle_timeout"],
        )
        self._sleep_overlay = SleepOverlay(on_wake=self.wake_screen)
        self._apply_screen_power()
        Clock.schedule_interval(self._apply_screen_power, SCREEN_POWER_SECONDS)
        interval = self.notifier.heartbeat_interval()
        if interval:
            Clock.schedule_interval(lambda dt: self.notifier.heartbeat(), interval)
        self._refresh_status()
        signal.signal(signal.SIGTERM, self._on_sigterm)
        signal.signal(signal.SIGINT, self._on_sigterm)

    def on_stop(self):
        self.speech.close()
        if self.kiosk is not None:
            self.kiosk.close()
            self.kiosk = None
            log.info("Touchscreen stopped")

    def _on_sigterm(self, signum, _frame):
        log.info("Signal %s: stopping", signum)
        Clock.schedule_once(lambda dt: self.stop())

    def _rescale(self, _window, size):
        width, height = size
        u = max(0.5, min(width / 800, height / 480))
        self._set_units(u, self.large)

    def _set_units(self, u: float, large: bool) -> None:
        t = u * (widgets.LARGE_TEXT_FACTOR if large else 1.0)
        widgets.set_scale(u, t)  # before the properties change: labels refit against the new floor
        self.u, self.t, self.large = u, t, large
        if getattr(self, "sm", None) is not None and self.sm.current_screen is not None:
            self.sm.current_screen.refit_labels()  # labels sized in app.u meet the new floor too

    # -- what happened ----------------------------------------------------------------
    @staticmethod
    def now() -> float:
        return time.monotonic()

    def _listener(self, outcome) -> None:
        """Called on a gpiozero thread once a press is stored (or refused)."""
        Clock.schedule_once(partial(self._on_press, outcome))

    def wake_screen(self) -> None:
        """A touch or a press lights a dark screen for the idle timeout."""
        self.screen_power.wake(self.now())
        self._apply_screen_power()

    def _apply_screen_power(self, _dt=None) -> None:
        lit = self.screen_power.apply(datetime.now().astimezone(), self.now())
        asleep = self._sleep_overlay.parent is not None
        if lit and asleep:
            Window.remove_widget(self._sleep_overlay)
            log.info("display: awake")
        elif not lit and not asleep:
            Window.add_widget(self._sleep_overlay)
            log.info("display: asleep")

    def _on_press(self, outcome, _dt=None) -> None:
        self.wake_screen()
        now = self.now()
        if isinstance(outcome, PressFailed):
            log.warning("Press on level %s not stored: %s", outcome.level, outcome.error)
            self.notice_zh, self.notice_en = outcome.error.zh, outcome.error.en
            self.notice_key = "notice_title"
            self.flow.press_failed(outcome.error.zh, outcome.error.en, now)
        else:
            log.info("press: level %s %s", outcome.level, "counted" if outcome.counted else "misuse")
            before = self.flow.screen
            if self.flow.rated(outcome.event, now) in ("thanks", "reasons") and before not in TASK_SCREENS:
                self.rated_level = self.flow.rated_level or 0
            if self.flow.screen == "thanks" and before not in TASK_SCREENS:
                self.thanks_key = "thanks_title"
                if before == "thanks":
                    self._start_countdown()
        self._show()

    def touched(self) -> None:
        self.screen_power.wake(self.now())
        self.flow.touched(self.now())
        self.text_size.touched(self.now())
        self._plan_tick(0.0)  # a touch answers a warning: take it away on the next frame

    def toggle_large_text(self) -> None:
        """The 大字 button: larger, higher-contrast text until the visit ends."""
        self.text_size.toggle(self.now())
        self.flow.touched(self.now())
        self._show()
        log.info("text size: %s", "large" if self.large else "normal")
        self._announce(self.flow.screen)

    def tap_face(self, level: int) -> bool:
        """A tapped face: recorded like its button (off this thread) when touch_faces is on."""
        if self.face_taps is None or not self.face_taps.enabled:
            return False
        log.info("face tapped: level %s", level)
        threading.Thread(target=self.face_taps.tap, args=(level,), name=f"face-tap-{level}", daemon=True).start()
        return True

    def extend(self) -> None:
        """需要更多時間嗎？ answered: the screen's time starts again."""
        self.touched()
        self._show()

    def open_entry(self, name: str) -> None:
        self.flow.open(name, self.now())
        self._show()

    def go_home(self) -> None:
        self.flow.home(self.now())
        self._show()

    def show_case(self, case) -> None:
        """A lookup found ``case`` (its event is stored): show the result screen."""
        self.sm.get_screen("case_result").show(case)
        self.flow.case_found(self.now())
        self._show()

    def toggle_language(self) -> None:
        self.flow.toggle_language(self.now())
        self._show()

    def listen(self) -> None:
        """🔊 聽語音: this screen read aloud, and what appears after it until the visit ends."""
        self.touched()
        self.flow.listen(self.now())
        self._show()

    def choose_reason(self, reason) -> None:
        rating = self.flow.rating
        if self.flow.screen != "reasons" or rating is None or reason is None or self.kiosk is None:
            return  # a second tap after the screen already moved on (or the app stopped)
        now = self.now()
        try:
            self.kiosk.recorder.reason(rating, reason.code)
        except StoreUnavailable as exc:
            log.error("Reason %s not stored: %s", reason.code, exc)
            self.notice_zh, self.notice_en = exc.zh, exc.en
            self.notice_key = "notice_reason_title"  # the rating itself is stored
            self.flow.store_failed(exc.zh, exc.en, now)
        else:
            log.info("reason: %s", reason.code)
            self.thanks_key = "reason_thanks"
            self.flow.reason_chosen(now)
            self.rated_level = 0
        self._show()

    def skip(self) -> None:
        if self.flow.screen != "reasons":
            return
        self.thanks_key = "thanks_title"
        self.flow.skip(self.now())
        self._show()

    def _tick(self, _dt) -> None:
        self.flow.tick(self.now())
        self._show()

    def _refresh_status(self, _dt=None) -> None:
        try:
            self.status = self.kiosk.status_line(self.lang) if self.kiosk else ""
            # The status line's own words for a failed round (server_sync/client/status.py).
            self.sync_trouble = self.status.startswith(("未能同步", "Not synced:"))
        except Exception:
            if not self._status_failed:
                log.exception("Status line unavailable")
                self._status_failed = True
            self.status = ""

    def _on_key_down(self, _window, key, _scancode, _codepoint, modifiers):
        """Demo: keys 1-5 press the mock buttons through gpiozero, as a visitor would; N the staff "next" button."""
        return self.demo_keys is not None and self.demo_keys.press(key, modifiers)

    # -- showing ------------------------------------------------------------------
    def _show(self) -> None:
        """Make the window show what the flow says."""
        flow = self.flow
        large = self.text_size.update(flow.screen, self.now())
        if large != self.large:
            self._set_units(self.u, large)
        if flow.screen == "reasons" and not self.kiosk_config.reasons:
            flow.skip(self.now())  # nothing to ask: thank straight away
        if flow.lang != self.lang:
            self.lang = flow.lang
            self._refresh_status()
            log.info("language: %s", flow.lang)
            self.overlays.refresh_language()
            self._announce(flow.screen)
        if flow.screen != self.sm.current:
            if flow.screen == "notice" and flow.notice:
                self.notice_zh, self.notice_en = flow.notice
            log.info("screen: %s", flow.screen)
            self.sm.current = flow.screen
            if flow.screen == "thanks":
                self._start_countdown()
            self._announce(flow.screen)
        if flow.speech != self._speech_on:
            self._speech_on = flow.speech
            log.info("speech: %s", "on" if flow.speech else "off")
        what = flow.take_speech()  # after the screen is filled in: its words are read
        if what is not None:
            self.speech.read(what)
        self.overlays.sync(flow, self.now())
        self._plan_tick()

    def _plan_tick(self, delay: float | None = None) -> None:
        """Look at the flow again when it next changes by itself (or after ``delay``)."""
        event = self._tick_event
        if event is None:
            return  # before on_start: it looks once the loop runs
        if delay is None:
            now = self.now()
            due = [t for t in (self.flow.next_change(now), self.text_size.next_change()) if t is not None]
            delay = min(max(0.0, min(due) - now) + TICK_MARGIN, LONGEST_TICK) if due else LONGEST_TICK
        event.cancel()
        event.timeout = delay
        event()

    def _start_countdown(self) -> None:
        if self._countdown_anim is not None:
            self._countdown_anim.cancel(self)
        self.countdown = 1.0
        self._countdown_anim = Animation(countdown=0.0, duration=self.flow.thanks_seconds, step=COUNTDOWN_STEP)
        self._countdown_anim.start(self)

    def _announce(self, screen: str) -> None:
        """Log ``shown:`` (and the layout) once the screen has reached the display."""
        self._announce_pending = screen
        Window.canvas.ask_update()  # make sure a frame is drawn even if nothing changed

    def _on_flip(self, _window) -> None:
        # Runs just before the buffers swap; report on the next tick, after it.
        if not self._ready_sent:
            self._ready_sent = True  # systemd: started once the first frame is on screen
            Clock.schedule_once(lambda dt: self.notifier.ready())
        if not self._first_frame_reported:
            self._first_frame_reported = True
            age, cpu = process_age(), process_cpu()
            Clock.schedule_once(lambda dt: self._report_first_frame(age, cpu))
        if not self._rest_scheduled:
            self._rest_scheduled = True  # the first frame is up: now the other screens
            Clock.schedule_once(self._build_next_screen)
        if self._announce_pending is not None:
            screen, self._announce_pending = self._announce_pending, None
            Clock.schedule_once(lambda dt: self._report_shown(screen))

    def _report_first_frame(self, age: float, cpu: float) -> None:
        print(f"first-frame {age:.3f} cpu {cpu:.3f}", flush=True)

    def _report_shown(self, screen: str) -> None:
        if screen != self.sm.current:
            return
        if self._log_layout:  # before "shown:", so a reader of "shown:" has them all
            for name, widget in sorted(self.sm.current_screen.touch_targets().items()):
                x, y = widget.to_window(*widget.center)
                log.info(
                    "layout: %s %s %d %d %d %d",
                    screen,
                    name,
                    round(x),
                    round(Window.height - y),
                    round(widget.width),
                    round(widget.height),
                )
        log.info("shown: %s %s", screen, self.lang)
