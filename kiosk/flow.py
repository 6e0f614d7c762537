"""Which screen comes next: plain Python, driven by tests without a window.

The Kivy app only reports what happened (a stored press, a touch, a call, the
time) and shows whatever ``Flow.screen`` names, with ``Flow.banner`` over it and
``Flow.warning`` when its time is nearly up. Screens:

- ``home``: attract screen with the rating prompt and the touch entries.
- ``reasons``: thanks the visitor and asks one follow-up reason (普通 or worse).
- ``thanks``: thank-you after every counted rating or chosen reason; names the level.
- ``guidance`` / ``lookup``: touch entries; ``lookup`` is 案件查詢 (kiosk/lookup.py) and
  ``case_result`` shows a found case; both clear after ``idle_timeout`` (60 s) or on 完成.
- ``ticket``, ``calling``, ``staff``: the queue's (kiosk/queue.py).
- ``notice``: storage refused a press; nothing was acknowledged.

Precedence of interruptions (tests/test_flow.py checks every screen × event):

- A visitor (or staff) in the middle of a task (``TASK_SCREENS``) keeps it. A staff
  call shows as a banner over it; a rating press is stored as always and acknowledged
  by a banner naming the level (no reasons question: that would take the task away);
  a press the disk refused says so in a banner. The task's own timeout runs on.
- Elsewhere a call takes the whole screen only from ``home`` or ``calling``; over the
  thank-you, the reasons question or a notice it is a banner. A rating press there
  thanks (or asks a reason) as before.
- A change of sync status never changes what the visitor sees.
- Every screen a visitor works on warns ``warn_seconds`` before it times out
  (``warning``); any touch extends it. The thank-you and a called number are not
  warned: they are meant to go by themselves (the thank-you shows a countdown bar).
- For ``TAKE_GUARD`` seconds after a ticket is shown nothing on it acts, so a
  second tap on 取號 cannot leave it.

Spoken prompts (``prompts``, ``[audio] prompts``): 🔊 on a ``LISTEN_SCREENS`` screen reads
it and turns ``speech`` on for this visitor; the thank-you (after a rating, on ``thanks``
or with the reasons question), the ticket and a case result are then read as they appear.
The visit ends, and speech with it, as large-text mode's does: back home, or
``idle_timeout`` on home without a touch. ``take_speech`` hands the app what to read.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from server_sync.wire.events import Event

SCREENS: tuple[str, ...] = ("home", "thanks", "reasons", "guidance", "lookup", "case_result", "notice")
# The queue's screens (kiosk/queue.py): a ticket just taken, a number called, the staff panel.
QUEUE_SCREENS = ("ticket", "calling", "staff")
SCREENS += QUEUE_SCREENS
# Someone is in the middle of something here: interruptions come as banners, never instead.
TASK_SCREENS = ("guidance", "lookup", "case_result", "ticket", "staff")
# Screens whose timeout is announced beforehand, with a touch to extend it.
WARNED_SCREENS = ("reasons", *TASK_SCREENS)
TAKE_GUARD = 1.0  # seconds after a ticket is shown in which its buttons do nothing
# Screens with the 🔊 聽語音 button; what each reads is named as the screen.
LISTEN_SCREENS = ("home", "thanks", "ticket", "case_result")
BANNER_SECONDS = 5.0  # how long a rating's acknowledgement stays over a task


@dataclass(frozen=True)
class Banner:
    """Something shown over the current screen without replacing it.

    kind: ``call`` (number, window), ``rated`` (level, counted) or ``failed`` (zh, en).
    until: the time it goes away.
    """

    kind: str
    until: float
    number: str = ""
    window: str = ""
    level: int | None = None
    counted: bool = True
    zh: str = ""
    en: str = ""


@dataclass
class Flow:
    """The screen state machine.

    ask_from_level: ask a follow-up reason for ratings at this level or worse.
    idle_timeout: seconds without a touch before a touch-driven screen returns home.
    thanks_seconds: seconds the thank-you screen stays up.
    reasons_timeout: seconds the reasons screen waits for a choice.
    notice_seconds: seconds a storage notice stays up before home (the notice returns on the next failed press).
    ticket_seconds: seconds a ticket stays large without a touch (any touch keeps it longer).
    warn_seconds: how long before a timeout the warning shows (at most half the screen's time).
    language: the language screens start in and return to when idle.
    """

    ask_from_level: int = 3
    idle_timeout: float = 60.0
    thanks_seconds: float = 4.0
    reasons_timeout: float = 20.0
    notice_seconds: float = 15.0
    ticket_seconds: float = 30.0  # long enough to note the number; the warning offers more
    calling_seconds: float = 8.0  # a called number stays up this long
    warn_seconds: float = 10.0
    language: str = "zh-TW"
    screen: str = "home"
    lang: str = field(default="")
    rating: Event | None = None  # the rating a reason would be linked to
    rated_level: int | None = None  # the level the thank-you names (None after a reason or a skip)
    notice: tuple[str, str] | None = None
    banner: Banner | None = None
    prompts: bool = False  # [audio] prompts: the 🔊 button is offered
    speech: bool = False  # this visitor asked for speech: what appears is read aloud
    thanked_level: int | None = None  # the level a spoken thank-you names (kept after a reason)
    _to_say: str | None = None
    _since: float = 0.0
    _guard_until: float = 0.0

    def __post_init__(self):
        self.lang = self.lang or self.language

    def _go(self, screen: str, now: float) -> str:
        self.screen = screen
        self._since = now
        if screen == "home":
            self.rating = None
            self.lang = self.language
            self.speech, self._to_say, self.thanked_level = False, None, None  # the visit is over
        return screen

    def _read(self, what: str) -> None:
        if self.speech:
            self._to_say = what

    # -- what happened --------------------------------------------------------
    def rated(self, event: Event, now: float) -> str:
        """A press was durably stored."""
        if self.screen in TASK_SCREENS:
            # Stored and acknowledged; the task stays (a reason question would replace it).
            self.banner = Banner("rated", now + BANNER_SECONDS, level=event.level, counted=not event.misuse)
            return self.screen
        if event.misuse:
            # Another press inside the repeat window: stored, not counted. Keep a
            # pending reasons question for the counted rating; otherwise thank again.
            if self.screen == "reasons":
                return self.screen
            self.rated_level = self.thanked_level = event.level
            self._read("thanks")
            return self._go("thanks", now)
        self.rating = event
        self.rated_level = self.thanked_level = event.level
        self._read("thanks")  # on the reasons question too: it thanks first
        if event.level is not None and event.level >= self.ask_from_level:
            return self._go("reasons", now)
        return self._go("thanks", now)

    def press_failed(self, zh: str, en: str, now: float) -> str:
        """Storage refused a rating press: say so, acknowledge nothing (over a task, in a banner)."""
        if self.screen in TASK_SCREENS:
            self.banner = Banner("failed", now + BANNER_SECONDS, zh=zh, en=en)
            return self.screen
        return self.store_failed(zh, en, now)

    def store_failed(self, zh: str, en: str, now: float) -> str:
        """Storage refused what the visitor just did here (a ticket, a reason): the notice screen."""
        self.notice = (zh, en)
        self.rating = None
        return self._go("notice", now)

    def reason_chosen(self, now: float) -> str:
        """The visitor picked a reason (the caller stored it against ``self.rating``)."""
        self.rating = None
        self.rated_level = None
        return self._go("thanks", now)

    def skip(self, now: float) -> str:
        """The visitor skipped the reasons question."""
        self.rating = None
        return self._go("thanks", now)

    def open(self, screen: str, now: float) -> str:
        """A touch entry on the home screen (服務導引, 案件查詢)."""
        if screen not in ("guidance", "lookup"):
            raise ValueError(f"not a touch entry: {screen}")
        return self._go(screen, now)

    def case_found(self, now: float) -> str:
        """A lookup found the case (stored as an event): show it until 完成 or idle_timeout."""
        if self.screen != "lookup":
            raise ValueError(f"a case result comes only from the lookup screen, not {self.screen}")
        self._read("case_result")
        return self._go("case_result", now)

    def home(self, now: float) -> str:
        """The visitor touched 返回 / 首頁 (ignored just after a ticket appeared: a second tap on 取號)."""
        if not self.ready(now):
            return self.screen
        return self._go("home", now)

    def ready(self, now: float) -> bool:
        """Whether the current screen's buttons act yet (False in the first TAKE_GUARD s of a ticket)."""
        return self.screen != "ticket" or now >= self._guard_until

    def queue_screen(self, screen: str, now: float) -> str:
        """Show ``ticket`` (after a durably stored ticket, or a recalled one) or ``staff`` (after the PIN).

        ``calling`` is ``called`` without a number (kept for callers that show it themselves).
        """
        if screen not in QUEUE_SCREENS:
            raise ValueError(f"not a queue screen: {screen}")
        if screen == "calling":
            return self.called("", "", now)
        if screen == "ticket":
            self._guard_until = now + TAKE_GUARD
            self._read("ticket")
        return self._go(screen, now)

    def called(self, number: str, window: str, now: float) -> str:
        """Staff called ``number`` (GPIO "next" or the panel): the whole screen only when nobody is busy."""
        if self.screen in ("home", "calling"):
            self.banner = None
            return self._go("calling", now)
        self.banner = Banner("call", now + self.calling_seconds, number=number, window=window)
        return self.screen

    def call_moved(self, number: str) -> None:
        """``number`` was transferred to another line or window: a banner still calling it here would
        send its visitor to the wrong window, so it goes; any other banner stays."""
        if self.banner is not None and self.banner.kind == "call" and self.banner.number == number:
            self.banner = None

    def status_changed(self, now: float) -> str:
        """The sync status changed: shown discreetly where it is, never instead of a screen."""
        return self.screen

    def listen(self, now: float) -> str | None:
        """🔊 touched: speech on for this visit, and this screen read again; None where there is no 🔊."""
        if not self.prompts or self.screen not in LISTEN_SCREENS:
            return None
        self.touched(now)
        self.speech = True
        self._read(self.screen)
        return self.screen

    def take_speech(self) -> str | None:
        """What to read aloud now (a name from LISTEN_SCREENS), once; None for nothing."""
        what, self._to_say = self._to_say, None
        return what

    def toggle_language(self, now: float) -> str:
        self.lang = "en" if self.lang == "zh-TW" else "zh-TW"
        self.touched(now)
        return self.screen

    def touched(self, now: float) -> None:
        """Any touch restarts the current screen's timeout (and so answers its warning)."""
        if self.screen not in ("thanks",):
            self._since = now

    # -- time -------------------------------------------------------------------
    def timeout(self) -> float | None:
        """Seconds the current screen may stay without a touch; None on home."""
        return {
            "home": None,
            "thanks": self.thanks_seconds,
            "reasons": self.reasons_timeout,
            "notice": self.notice_seconds,
            "ticket": self.ticket_seconds,
            "calling": self.calling_seconds,
        }.get(self.screen, self.idle_timeout)

    def warning(self, now: float) -> float | None:
        """Seconds left when the "need more time?" warning should show, else None."""
        limit = self.timeout()
        if limit is None or self.screen not in WARNED_SCREENS:
            return None
        left = limit - (now - self._since)
        if 0 < left <= min(self.warn_seconds, limit / 2):
            return left
        return None

    def tick(self, now: float) -> str:
        """Return home if the current screen's time is up; drop a banner whose time is up."""
        if self.banner is not None and now >= self.banner.until:
            self.banner = None
        limit = self.timeout()
        if limit is not None and now - self._since >= limit:
            return self._go("home", now)
        if self.screen == "home" and now - self._since >= self.idle_timeout:
            self.lang = self.language  # nobody is there any more: the next visitor starts afresh
            self.speech = False
        return self.screen

    def next_change(self, now: float) -> float | None:
        """The earliest time (on ``now``'s clock) at which ``tick`` or ``warning`` gives
        something new: a banner goes, the screen times out, its warning appears or counts
        down a second, the visit's language and speech reset. None when nothing here changes
        by itself (home with a fresh visit): the app sleeps until the next touch or press.
        """
        times: list[float] = []
        if self.banner is not None:
            times.append(self.banner.until)
        limit = self.timeout()
        if limit is not None:
            end = self._since + limit
            times.append(end)
            if self.screen in WARNED_SCREENS:
                warn_from = end - min(self.warn_seconds, limit / 2)
                if now < warn_from:
                    times.append(warn_from)
                elif now < end:  # the warning shows whole seconds left: the next one
                    times.append(end - (math.ceil(end - now) - 1))
        elif self.screen == "home" and (self.lang != self.language or self.speech):
            times.append(self._since + self.idle_timeout)
        return min(times) if times else None
