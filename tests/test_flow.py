"""The screen flow, driven without a window. Times are plain numbers of seconds."""

from __future__ import annotations

import math

import pytest

from kiosk.config import validate
from kiosk.flow import BANNER_SECONDS, LISTEN_SCREENS, SCREENS, TAKE_GUARD, TASK_SCREENS, WARNED_SCREENS, Flow
from kiosk.runtime import make_flow
from kiosk.store import Store


@pytest.fixture
def store(tmp_path, clock):
    s = Store(tmp_path, kiosk_id="test-w1", clock=clock)
    yield s
    s.close()


@pytest.fixture
def rate(store):
    """Store a rating the way a press does and return the Event."""

    def rate(level, misuse=False):
        return store.append("rating", level=level, misuse=misuse)

    return rate


@pytest.fixture
def flow():
    return Flow(
        ask_from_level=3, idle_timeout=60, thanks_seconds=4, reasons_timeout=20, notice_seconds=15, language="zh-TW"
    )


def test_starts_home_in_configured_language(flow):
    assert flow.screen == "home" and flow.lang == "zh-TW"
    assert Flow(language="en").lang == "en"


def test_satisfied_rating_thanks_then_home(flow, rate):
    assert flow.rated(rate(1), now=100) == "thanks"
    assert flow.rating is not None
    assert flow.tick(103.9) == "thanks"
    assert flow.tick(104) == "home"
    assert flow.rating is None


@pytest.mark.parametrize("level", [1, 2])
def test_levels_better_than_neutral_never_ask_reasons(flow, rate, level):
    assert flow.rated(rate(level), now=0) == "thanks"


@pytest.mark.parametrize("level", [3, 4, 5])
def test_neutral_or_worse_asks_reasons_then_thanks(flow, rate, level):
    event = rate(level)
    assert flow.rated(event, now=10) == "reasons"
    assert flow.rating == event  # the reason will be stored against this rating
    assert flow.tick(29) == "reasons"
    assert flow.reason_chosen(now=15) == "thanks"
    assert flow.rating is None
    assert flow.tick(18.9) == "thanks"
    assert flow.tick(19) == "home"


def test_skip_reasons_thanks(flow, rate):
    flow.rated(rate(4), now=0)
    assert flow.skip(now=3) == "thanks"
    assert flow.rating is None
    assert flow.tick(7) == "home"


def test_reasons_time_out_to_home(flow, rate):
    flow.rated(rate(5), now=0)
    assert flow.tick(19.99) == "reasons"
    assert flow.tick(20) == "home"
    assert flow.rating is None


def test_touch_on_reasons_restarts_its_timeout(flow, rate):
    flow.rated(rate(3), now=0)
    flow.touched(15)
    assert flow.tick(30) == "reasons"
    assert flow.tick(35) == "home"


def test_misuse_press_during_reasons_keeps_reasons_and_the_counted_rating(flow, rate):
    counted = rate(5)
    flow.rated(counted, now=0)
    assert flow.rated(rate(1, misuse=True), now=2) == "reasons"
    assert flow.rating == counted
    assert flow.rated(rate(5, misuse=True), now=4) == "reasons"
    assert flow.rating == counted
    # The misuse presses did not extend the question's time.
    assert flow.tick(20) == "home"


def test_misuse_press_elsewhere_thanks_without_a_rating_to_ask_about(flow, rate):
    flow.rated(rate(1), now=0)
    flow.tick(4)
    assert flow.screen == "home"
    assert flow.rated(rate(5, misuse=True), now=5) == "thanks"
    assert flow.rating is None


def test_next_visitor_counted_press_while_reasons_still_up(flow, rate):
    first = rate(4)
    flow.rated(first, now=0)
    second = rate(2)
    assert flow.rated(second, now=10) == "thanks"
    assert flow.rating == second


def test_touch_does_not_hold_the_thanks_screen(flow, rate):
    flow.rated(rate(1), now=0)
    flow.touched(3)
    assert flow.tick(4) == "home"


@pytest.mark.parametrize("entry", ["guidance", "lookup"])
def test_touch_entries_time_out_after_idle(flow, entry):
    assert flow.open(entry, now=0) == entry
    assert flow.timeout() == 60
    assert flow.tick(59) == entry
    flow.touched(50)
    assert flow.tick(109) == entry
    assert flow.tick(110) == "home"


@pytest.mark.parametrize("entry", ["guidance", "lookup"])
def test_touch_entries_back_home(flow, entry):
    flow.open(entry, now=0)
    assert flow.home(now=5) == "home"


def test_only_touch_entries_can_be_opened(flow):
    with pytest.raises(ValueError):
        flow.open("thanks", now=0)
    assert flow.screen == "home"


def test_rating_from_a_touch_entry_is_acknowledged_over_it(flow, rate):
    flow.open("guidance", now=0)
    assert flow.rated(rate(4), now=5) == "guidance"
    assert flow.banner.kind == "rated" and flow.banner.level == 4
    assert flow.rating is None  # no reasons question takes the guidance away


def test_language_toggle_and_reset_when_home(flow):
    assert flow.toggle_language(now=0) == "home"
    assert flow.lang == "en"
    assert flow.toggle_language(now=1) == "home" and flow.lang == "zh-TW"
    flow.toggle_language(now=2)
    flow.open("lookup", now=3)
    assert flow.lang == "en"  # language follows the visitor into the touch screens
    flow.tick(63)
    assert flow.screen == "home" and flow.lang == "zh-TW"


def test_language_reset_after_idle_on_home(flow):
    flow.toggle_language(now=100)
    assert flow.tick(159) == "home" and flow.lang == "en"
    assert flow.tick(160) == "home" and flow.lang == "zh-TW"


def test_language_reset_after_a_rating(flow, rate):
    flow.toggle_language(now=0)
    flow.rated(rate(2), now=1)
    assert flow.lang == "en"  # the thank-you is in the visitor's language
    flow.tick(5)
    assert flow.screen == "home" and flow.lang == "zh-TW"


def test_toggle_restarts_touch_screen_timeout(flow):
    flow.open("guidance", now=0)
    flow.toggle_language(now=50)
    assert flow.tick(100) == "guidance"
    assert flow.tick(110) == "home"


def test_english_start_language(rate):
    flow = Flow(language="en")
    flow.toggle_language(now=0)
    assert flow.lang == "zh-TW"
    flow.home(now=1)
    assert flow.lang == "en"


def test_press_failed_shows_notice_then_home(flow):
    assert flow.press_failed("儲存空間已滿", "storage is full", now=0) == "notice"
    assert flow.notice == ("儲存空間已滿", "storage is full")
    assert flow.rating is None
    assert flow.tick(14.9) == "notice"
    assert flow.tick(15) == "home"


def test_press_failed_during_reasons_drops_the_question(flow, rate):
    flow.rated(rate(5), now=0)
    assert flow.press_failed("儲存裝置為唯讀", "storage is read-only", now=3) == "notice"
    assert flow.rating is None


def test_counted_press_after_a_notice(flow, rate):
    flow.press_failed("儲存空間已滿", "storage is full", now=0)
    assert flow.rated(rate(1), now=5) == "thanks"


def test_home_has_no_timeout(flow):
    assert flow.timeout() is None
    assert flow.tick(10_000) == "home"


def test_every_screen_the_flow_reaches_is_known(flow, rate):
    seen = {flow.screen}
    seen.add(flow.rated(rate(5), 0))
    seen.add(flow.skip(1))
    seen.add(flow.open("guidance", 2))
    seen.add(flow.open("lookup", 3))
    seen.add(flow.case_found(3.1))  # a found case (kiosk/lookup.py)
    seen.update(flow.queue_screen(name, 3.5) for name in ("ticket", "staff"))  # kiosk/queue.py
    flow.home(3.6)
    seen.add(flow.queue_screen("calling", 3.7))
    seen.add(flow.press_failed("a", "b", 4))
    assert seen == set(SCREENS)


# -- from the config ------------------------------------------------------------------


def test_make_flow_uses_config_timings():
    config = validate({"kiosk": {"idle_timeout": 30, "thanks_seconds": 2, "reasons_timeout": 9, "language": "en"}})
    flow = make_flow(config)
    assert (flow.idle_timeout, flow.thanks_seconds, flow.reasons_timeout) == (30, 2, 9)
    assert flow.lang == "en"


def test_make_flow_three_levels_asks_from_the_middle(rate):
    levels = [{"label": n, "label_en": n, "pin": p} for n, p in (("a", 5), ("b", 6), ("c", 13))]
    flow = make_flow(validate({"buttons": {"levels": levels}}))
    assert flow.rated(rate(1), now=0) == "thanks"
    flow.home(1)
    assert flow.rated(rate(2), now=2) == "reasons"


def test_make_flow_configured_ask_from_level(rate):
    flow = make_flow(validate({"reasons": {"ask_from_level": 5}}))
    assert flow.rated(rate(4), now=0) == "thanks"
    flow.home(1)
    assert flow.rated(rate(5), now=2) == "reasons"


def test_make_flow_without_reasons_never_asks(rate):
    # An office that configures no follow-up reasons must not get an empty question screen.
    flow = make_flow(validate({"reasons": {"items": []}}))
    assert flow.rated(rate(5), now=0) == "thanks"


# -- interruptions: every (screen, event) pair --------------------------------------------

EVENTS = ("call", "rating_1", "rating_5", "rating_misuse", "press_failed", "timeout", "status")
T = 100.0  # when the interrupting event happens; the screen was reached at 0


def reach(flow: Flow, screen: str, rate) -> None:
    """Bring ``flow`` to ``screen`` at time 0 the way the app would."""
    if screen == "thanks":
        flow.rated(rate(1), 0)
    elif screen == "reasons":
        flow.rated(rate(5), 0)
    elif screen in ("guidance", "lookup"):
        flow.open(screen, 0)
    elif screen == "case_result":
        flow.open("lookup", 0)
        flow.case_found(0)
    elif screen == "notice":
        flow.press_failed("儲存空間已滿", "storage is full", 0)
    elif screen == "calling":
        flow.called("A001", "1", 0)
    elif screen in ("ticket", "staff"):
        flow.queue_screen(screen, 0)
    assert flow.screen == screen


@pytest.fixture
def long_flow():
    """Timeouts long enough that T falls inside every screen's time."""
    return Flow(
        idle_timeout=600,
        thanks_seconds=600,
        reasons_timeout=600,
        notice_seconds=600,
        ticket_seconds=600,
        calling_seconds=8,
    )


@pytest.mark.parametrize("event", EVENTS)
@pytest.mark.parametrize("screen", SCREENS)
def test_interruption_precedence(long_flow, rate, screen, event):
    flow = long_flow
    reach(flow, screen, rate)
    busy = screen in TASK_SCREENS
    if event == "call":
        shown = flow.called("A007", "2", T)
        if screen in ("home", "calling"):
            assert shown == "calling" and flow.banner is None  # nobody busy: the whole screen
        else:
            assert shown == screen  # the visitor's screen stays; the call is a banner over it
            assert (flow.banner.kind, flow.banner.number, flow.banner.window) == ("call", "A007", "2")
            assert flow.tick(T + flow.calling_seconds) == screen and flow.banner is None
    elif event.startswith("rating"):
        level = {"rating_1": 1, "rating_5": 5, "rating_misuse": 3}[event]
        misuse = event == "rating_misuse"
        shown = flow.rated(rate(level, misuse=misuse), T)
        if busy:
            # Recorded (by the caller), acknowledged by name, and the task kept.
            assert shown == screen
            assert (flow.banner.kind, flow.banner.level, flow.banner.counted) == ("rated", level, not misuse)
            assert flow.tick(T + BANNER_SECONDS) == screen and flow.banner is None
        elif misuse and screen == "reasons":
            assert shown == "reasons"  # the counted rating's question stays
        elif level == 5 and not misuse:
            assert shown == "reasons" and flow.rated_level == 5
        else:
            assert shown == "thanks" and flow.rated_level == level
    elif event == "press_failed":
        shown = flow.press_failed("儲存空間已滿", "storage is full", T)
        if busy:
            assert shown == screen and flow.banner.kind == "failed" and flow.banner.en == "storage is full"
        else:
            assert shown == "notice" and flow.notice == ("儲存空間已滿", "storage is full")
    elif event == "timeout":
        limit = flow.timeout()
        if limit is None:
            assert flow.tick(10 * T) == "home"
            return
        if screen in WARNED_SCREENS:
            assert flow.warning(limit - flow.warn_seconds - 0.1) is None
            assert flow.warning(limit - 1) == pytest.approx(1)  # warned before it fires
            flow.touched(limit - 1)  # the touch that answers "need more time?"
            assert flow.tick(limit) == screen and flow.warning(limit) is None
            assert flow.tick(2 * limit - 1) == "home"
        else:
            assert flow.warning(limit - 1) is None  # thanks, calling, notice go by themselves
            assert flow.tick(limit) == "home"
    else:
        banner, lang = flow.banner, flow.lang
        assert flow.status_changed(T) == screen
        assert (flow.banner, flow.lang) == (banner, lang)


def test_every_screen_that_times_out_on_a_visitor_is_warned():
    assert set(WARNED_SCREENS) == {"reasons", "guidance", "lookup", "case_result", "ticket", "staff"}
    assert set(SCREENS) - set(WARNED_SCREENS) == {"home", "thanks", "calling", "notice"}


def test_warning_is_at_most_half_of_a_short_timeout(rate):
    flow = Flow(reasons_timeout=6, warn_seconds=10)
    flow.rated(rate(5), 0)
    assert flow.warning(2.9) is None
    assert flow.warning(3) == pytest.approx(3)


def test_a_second_tap_on_take_cannot_leave_the_ticket(flow):
    flow.open("guidance", now=0)
    flow.queue_screen("ticket", now=10)
    assert not flow.ready(10 + TAKE_GUARD - 0.01)
    assert flow.home(10.2) == "ticket"  # the second tap of a double tap on 取號
    assert flow.ready(10 + TAKE_GUARD)
    assert flow.home(10 + TAKE_GUARD) == "home"


def test_ticket_stays_while_touched_and_warns_before_leaving(flow):
    flow.queue_screen("ticket", now=0)
    limit = flow.ticket_seconds
    assert flow.warning(limit - flow.warn_seconds + 0.5) is not None
    for t in range(10, 200, 10):
        flow.touched(t)  # "keep my number"
        assert flow.tick(t + limit - 1) == "ticket"
    assert flow.tick(190 + limit) == "home"


def test_thanks_names_the_level_and_a_reason_thanks_for_the_reason(flow, rate):
    flow.rated(rate(2), now=0)
    assert flow.rated_level == 2
    flow.home(5)
    flow.rated(rate(4), now=6)
    flow.reason_chosen(7)
    assert flow.rated_level is None


def test_a_refused_ticket_or_reason_shows_the_notice_even_on_a_task_screen(flow):
    flow.open("guidance", now=0)
    assert flow.store_failed("儲存空間已滿", "storage is full", 1) == "notice"


# -- spoken prompts: the 🔊 button and the visitor's session (issue 12, finding 11) ----------


@pytest.fixture
def spoken():
    return Flow(prompts=True, idle_timeout=60, thanks_seconds=4, reasons_timeout=20, ticket_seconds=30)


def listen_at_home(flow: Flow, now: float = 0) -> None:
    assert flow.listen(now) == "home"
    assert flow.speech and flow.take_speech() == "home"


@pytest.mark.parametrize("screen", SCREENS)
def test_the_listen_button_reads_its_screen_and_turns_speech_on(spoken, rate, screen):
    reach(spoken, screen, rate)
    spoken.take_speech()  # reaching it read nothing yet: speech was off
    said = spoken.listen(1)
    if screen in LISTEN_SCREENS:
        assert said == screen and spoken.speech and spoken.take_speech() == screen
        assert spoken.take_speech() is None  # read once per touch
    else:
        assert said is None and not spoken.speech and spoken.take_speech() is None


@pytest.mark.parametrize("screen", SCREENS)
def test_without_prompts_nothing_is_offered_or_read(flow, rate, screen):
    assert not flow.prompts
    reach(flow, screen, rate)
    assert flow.listen(1) is None and not flow.speech and flow.take_speech() is None


@pytest.mark.parametrize("screen", [s for s in SCREENS if s != "home"])
def test_returning_home_from_any_screen_ends_the_session(spoken, rate, screen):
    listen_at_home(spoken)
    reach(spoken, screen, rate)
    assert spoken.speech  # the visit goes on
    assert spoken.tick(10_000) == "home"
    assert not spoken.speech and spoken.take_speech() is None and spoken.thanked_level is None
    spoken.rated(rate(1), 10_001)  # the next visitor's rating is not read
    assert spoken.take_speech() is None


def test_on_the_home_screen_speech_lasts_until_idle(spoken, rate):
    listen_at_home(spoken, now=0)
    spoken.touched(30)  # still there
    spoken.tick(89)
    assert spoken.speech
    spoken.tick(90)
    assert not spoken.speech
    spoken.rated(rate(2), 91)
    assert spoken.take_speech() is None


def test_a_rating_is_thanked_aloud_naming_its_level(spoken, rate):
    listen_at_home(spoken)
    assert spoken.rated(rate(1), 5) == "thanks"
    assert spoken.take_speech() == "thanks" and spoken.thanked_level == 1
    spoken.rated(rate(2, misuse=True), 6)  # pressed again: thanked again, naming it
    assert spoken.take_speech() == "thanks" and spoken.thanked_level == 2
    assert spoken.tick(10) == "home" and not spoken.speech


def test_the_reasons_question_thanks_aloud_first_and_its_thank_you_reads_on_a_touch(spoken, rate):
    listen_at_home(spoken)
    assert spoken.rated(rate(4), 5) == "reasons"
    assert spoken.take_speech() == "thanks" and spoken.thanked_level == 4
    assert spoken.listen(6) is None  # no 🔊 on the question itself
    assert spoken.reason_chosen(7) == "thanks"
    assert spoken.take_speech() is None  # already thanked for this rating
    assert spoken.listen(8) == "thanks" and spoken.take_speech() == "thanks"
    assert spoken.thanked_level == 4  # the rating's level, though the screen now thanks for the reason


def test_a_ticket_taken_with_speech_on_is_read(spoken):
    listen_at_home(spoken)
    spoken.open("guidance", 1)
    assert spoken.take_speech() is None and spoken.speech  # the directory is not read; speech stays on
    spoken.queue_screen("ticket", 2)
    assert spoken.take_speech() == "ticket"
    assert spoken.listen(3) == "ticket" and spoken.take_speech() == "ticket"  # read again on a touch
    assert spoken.home(2 + TAKE_GUARD) == "home" and not spoken.speech


def test_a_case_result_is_read_and_clears_with_speech_after_idle(spoken):
    listen_at_home(spoken)
    spoken.open("lookup", 1)
    spoken.case_found(2)
    assert spoken.take_speech() == "case_result"
    assert spoken.tick(2 + spoken.idle_timeout) == "home" and not spoken.speech


def test_speech_is_turned_on_from_a_screen_other_than_home(spoken):
    spoken.queue_screen("ticket", 0)
    assert spoken.take_speech() is None  # speech was off when it appeared
    assert spoken.listen(1) == "ticket" and spoken.speech


def test_a_rating_over_a_task_is_a_banner_and_not_read(spoken, rate):
    listen_at_home(spoken)
    spoken.queue_screen("ticket", 1)
    spoken.take_speech()
    spoken.rated(rate(1), 2)
    assert spoken.banner is not None and spoken.take_speech() is None


def test_a_staff_call_does_not_end_the_visit_until_home(spoken):
    listen_at_home(spoken)
    assert spoken.called("A001", "1", 1) == "calling" and spoken.speech
    assert spoken.tick(1 + spoken.calling_seconds) == "home" and not spoken.speech


def test_a_transfer_takes_away_the_banner_calling_that_number_only(long_flow, rate):
    flow = long_flow
    reach(flow, "guidance", rate)
    flow.called("A007", "2", T)
    flow.call_moved("A008")  # another number moved: this call still stands
    assert flow.banner is not None and flow.banner.number == "A007"
    flow.call_moved("A007")  # sent to another window: "go to window 2" would be wrong now
    assert flow.banner is None and flow.screen == "guidance"
    flow.rated(rate(1), T)
    flow.call_moved("A007")  # a rating's banner is not a call
    assert flow.banner is not None and flow.banner.kind == "rated"


# -- waking only when something changes (issue 15: no fixed-rate polling) -------------
STEP = 0.125  # binary-exact, so grid times and deadlines compare exactly


def _looks(flow, now):
    """What the window shows at ``now``: screen, banner, language, speech, warning seconds."""
    left = flow.warning(now)
    return flow.screen, flow.banner, flow.lang, flow.speech, None if left is None else math.ceil(left)


def _poke(flow, rng, now, rate):
    """One random thing a visitor, staff or the queue does."""
    kind = rng.choice(["rate", "touch", "open", "home", "lang", "listen", "call", "ticket", "fail", "reason"])
    if kind == "rate":
        flow.rated(rate(rng.randint(1, 5)), now)
    elif kind == "touch":
        flow.touched(now)
    elif kind == "open":
        flow.open(rng.choice(["guidance", "lookup"]), now)
    elif kind == "home":
        flow.home(now)
    elif kind == "lang":
        flow.toggle_language(now)
    elif kind == "listen":
        flow.listen(now)
    elif kind == "call":
        flow.called(f"A{rng.randint(1, 9):03d}", "1", now)
    elif kind == "ticket":
        flow.queue_screen(rng.choice(["ticket", "staff"]), now)
    elif kind == "fail":
        flow.press_failed("磁碟已滿", "Disk full", now)
    elif flow.screen == "reasons":
        flow.reason_chosen(now)


@pytest.mark.parametrize("seed", range(12))
def test_ticking_only_at_next_change_shows_what_a_fine_beat_shows(rate, seed):
    """A flow woken only at ``next_change`` (and at each event) looks, at every grid
    instant, the same as one ticked every STEP: it never misses a timeout, a banner's end,
    a warning's appearance or one of its seconds, or the end of a visit on home."""
    import copy
    import random

    rng = random.Random(seed)
    params = dict(idle_timeout=12, thanks_seconds=4, reasons_timeout=10, notice_seconds=6, ticket_seconds=9)
    beat, woken = Flow(prompts=True, **params), Flow(prompts=True, **params)
    shown = _looks(woken, 0.0)  # what the sleeping app last drew
    due = woken.next_change(0.0)
    now, wakes = 0.0, 0
    for step in range(1, 2400):
        now = step * STEP
        if rng.random() < 0.02:
            event_rng = random.Random(rng.random())
            _poke(beat, copy.copy(event_rng), now, rate)
            _poke(woken, event_rng, now, rate)
            woken.tick(now)  # the app shows the flow after every event
            shown, due = _looks(woken, now), woken.next_change(now)
        elif due is not None and now >= due:
            woken.tick(now)
            shown, due, wakes = _looks(woken, now), woken.next_change(now), wakes + 1
            assert due is None or due > now, "a deadline that does not move on would spin the loop"
        beat.tick(now)
        assert shown == _looks(beat, now), f"at {now} s"
    assert wakes < 2400 / 4  # and it did sleep most of the time


def test_home_with_a_fresh_visit_has_nothing_to_wake_for(flow):
    assert flow.next_change(0.0) is None
    flow.toggle_language(5.0)  # a visitor switched to English: the visit ends 60 s later
    assert flow.next_change(6.0) == 65.0
    flow.tick(65.0)
    assert flow.lang == "zh-TW" and flow.next_change(65.0) is None
