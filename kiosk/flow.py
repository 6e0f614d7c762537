"""Which screen comes next: plain Python, driven by tests without a window.

The Kivy app only reports what happened (a stored press, a touch, the time)
and shows whatever ``Flow.screen`` names. Screens:

- ``home``: attract screen with the rating prompt and the touch entries.
- ``reasons``: thanks the visitor and asks one follow-up reason (普通 or worse).
- ``thanks``: thank-you after every counted rating or chosen reason.
- ``guidance`` / ``lookup``: touch entries; ``lookup`` is 案件查詢 (kiosk/lookup.py) and
  ``case_result`` shows a found case; both clear after ``idle_timeout`` (60 s) or on 完成.
- ``notice``: storage refused a press; nothing was acknowledged.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from server_sync.wire.events import Event

SCREENS: tuple[str, ...] = ("home", "thanks", "reasons", "guidance", "lookup", "case_result", "notice")
# The queue's screens (kiosk/queue.py): a ticket just taken, a number called, the staff panel.
QUEUE_SCREENS = ("ticket", "calling", "staff")
SCREENS += QUEUE_SCREENS


@dataclass
class Flow:
    """The screen state machine.

    ask_from_level: ask a follow-up reason for ratings at this level or worse.
    idle_timeout: seconds without a touch before a touch-driven screen returns home.
    thanks_seconds: seconds the thank-you screen stays up.
    reasons_timeout: seconds the reasons screen waits for a choice.
    notice_seconds: seconds a storage notice stays up before home (the notice returns on the next failed press).
    language: the language screens start in and return to when idle.
    """

    ask_from_level: int = 3
    idle_timeout: float = 60.0
    thanks_seconds: float = 4.0
    reasons_timeout: float = 20.0
    notice_seconds: float = 15.0
    ticket_seconds: float = 20.0  # the ticket stays large this long (it is printed or noted by then)
    calling_seconds: float = 8.0  # a called number stays up this long
    language: str = "zh-TW"
    screen: str = "home"
    lang: str = field(default="")
    rating: Event | None = None  # the rating a reason would be linked to
    notice: tuple[str, str] | None = None
    _since: float = 0.0

    def __post_init__(self):
        self.lang = self.lang or self.language

    def _go(self, screen: str, now: float) -> str:
        self.screen = screen
        self._since = now
        if screen == "home":
            self.rating = None
            self.lang = self.language
        return screen

    # -- what happened --------------------------------------------------------
    def rated(self, event: Event, now: float) -> str:
        """A press was durably stored."""
        if event.misuse:
            # Another press inside the repeat window: stored, not counted. Keep a
            # pending reasons question for the counted rating; otherwise thank again.
            if self.screen == "reasons":
                return self.screen
            return self._go("thanks", now)
        self.rating = event
        if event.level is not None and event.level >= self.ask_from_level:
            return self._go("reasons", now)
        return self._go("thanks", now)

    def press_failed(self, zh: str, en: str, now: float) -> str:
        """Storage refused a press: say so, acknowledge nothing."""
        self.notice = (zh, en)
        self.rating = None
        return self._go("notice", now)

    def reason_chosen(self, now: float) -> str:
        """The visitor picked a reason (the caller stored it against ``self.rating``)."""
        self.rating = None
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
        return self._go("case_result", now)

    def home(self, now: float) -> str:
        """The visitor touched 返回 / 首頁."""
        return self._go("home", now)

    def queue_screen(self, screen: str, now: float) -> str:
        """Show ``ticket`` (after a durably stored ticket), ``staff`` (after the PIN) or ``calling``.

        A called number does not push aside a visitor answering the reasons question or
        staff at their panel (which shows the call itself); the chime still sounds.
        """
        if screen not in QUEUE_SCREENS:
            raise ValueError(f"not a queue screen: {screen}")
        if screen == "calling" and self.screen in ("reasons", "staff", "notice"):
            return self.screen
        return self._go(screen, now)

    def toggle_language(self, now: float) -> str:
        self.lang = "en" if self.lang == "zh-TW" else "zh-TW"
        self.touched(now)
        return self.screen

    def touched(self, now: float) -> None:
        """Any touch restarts the current screen's timeout."""
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

    def tick(self, now: float) -> str:
        """Return home if the current screen's time is up."""
        limit = self.timeout()
        if limit is not None and now - self._since >= limit:
            return self._go("home", now)
        if self.screen == "home" and self.lang != self.language and now - self._since >= self.idle_timeout:
            self.lang = self.language
        return self.screen
