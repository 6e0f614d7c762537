"""The screen flow, driven without a window. Times are plain numbers of seconds."""

from __future__ import annotations

import pytest

from kiosk.config import validate
from kiosk.flow import SCREENS, Flow
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


def test_rating_from_a_touch_entry(flow, rate):
    flow.open("guidance", now=0)
    assert flow.rated(rate(4), now=5) == "reasons"


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
