"""Tamper and health detection (issue 14, point 5): the statistics, the detectors on simulated
offices (seeded, dates from a fixed epoch, never a date literal), and the alerts the real
collector raises from ingested events.

The issue's test: a window whose levels 4-5 can no longer be pressed from office day 20 on is
found within the office's first week of that evidence; 60 normal days raise nothing.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from collector_helpers import make_batch, make_event
from tamper_sim import OFFICE_TZ, first_monday, simulate
from waiting import wait_until

from server_sync.collector import alerts, volume
from server_sync.collector import db as dbmod
from server_sync.collector.auth import add_kiosk, kiosk_by_name
from server_sync.collector.ingest import Ingestor
from server_sync.collector.models import Batch
from server_sync.collector.tamper import rules
from server_sync.collector.tamper.detect import (
    KioskSeen,
    OfficeHours,
    WindowCounts,
    distribution_shift,
    idle_windows,
    quiet_buttons,
    silent_kiosks,
)
from server_sync.collector.tamper.significance import chi_square, chi_square_sf, run_p_value

START = 1_900_000_000.0  # the simulations' clock; only differences matter
QUIET_ALPHA = rules.DEFAULTS[rules.QUIET]["alpha"]
SHIFT_ALPHA = rules.DEFAULTS[rules.SHIFT]["alpha"]
WEEKDAYS = OfficeHours(frozenset(range(5)), 8 * 60, 17 * 60)


def first_days(office, days, detector):
    """{(window, cause kind): first office day it fired}, checking at each day's closing."""
    fired = {}
    for d in range(days):
        for f in detector(office, d):
            fired.setdefault((f.window, f.cause.split(":")[0] + ":" + f.detail.get("group", "")), d)
    return fired


def quiet(office, d):
    return quiet_buttons(office.windows, office.closing(d), alpha=QUIET_ALPHA)


def shift(office, d):
    return distribution_shift(office.windows, office.days[d].date(), alpha=SHIFT_ALPHA)


# -- the statistics --------------------------------------------------------------------------------


def test_chi_square_tail_matches_the_tables():
    assert chi_square_sf(3.841, 1) == pytest.approx(0.05, abs=1e-4)
    assert chi_square_sf(5.991, 2) == pytest.approx(0.05, abs=1e-4)
    assert chi_square_sf(13.816, 2) == pytest.approx(0.001, abs=1e-5)
    assert chi_square_sf(30.0, 4) == pytest.approx(4.894e-6, rel=1e-3)
    stat, df, p = chi_square([[50, 30, 20], [50, 30, 20]])
    assert (stat, df, p) == (0.0, 2, 1.0)
    # A column empty in both periods is left out, not divided by.
    assert chi_square([[10, 0, 5], [20, 0, 10]])[1] == 1


def test_run_p_value_is_the_geometric_tail():
    assert run_p_value(0.1, 10) == pytest.approx(0.9**10)
    assert run_p_value(0.1, 0) == 1.0
    assert run_p_value(0.0, 500) == 1.0


# -- the test on simulated offices -----------------------------------------------------------


def test_poor_buttons_removed_from_day_20_are_found_within_the_first_week():
    office = simulate(7, 30, START, tampered=(2, 20, (4, 5)))
    fired = first_days(office, 30, quiet)
    assert set(fired) == {("3", "quiet:poor")}, fired
    assert 20 <= fired["3", "quiet:poor"] <= 26  # office days 20..26: the first week of evidence
    finding = next(f for f in quiet(office, fired["3", "quiet:poor"]) if f.window == "3")
    # The evidence: the run, the other windows' rate and the p-value, in the alert's text.
    assert f"{finding.detail['run']} ratings in a row" in finding.summary
    assert "p = (1 −" in finding.summary and finding.detail["p_value"] < QUIET_ALPHA
    assert finding.detail["levels"] == [4, 5]


def test_good_buttons_removed_are_found_too():
    office = simulate(11, 24, START, tampered=(0, 20, (1, 2)))
    fired = first_days(office, 24, quiet)
    assert set(fired) == {("1", "quiet:good")}, fired
    assert fired["1", "quiet:good"] <= 22


def test_sixty_normal_days_raise_nothing():
    office = simulate(3, 60, START)
    assert first_days(office, 60, quiet) == {}
    assert first_days(office, 60, shift) == {}


def test_the_distribution_shift_sees_the_removed_levels():
    # Slower than the run test (it compares a week with the four before), but it needs no
    # other window: it sees an office whose every window was tampered with.
    office = simulate(5, 34, START, windows=1, per_hour=6.0, tampered=(0, 20, (4, 5)))
    fired = first_days(office, 34, shift)
    assert set(fired) == {("1", "shift:")}, fired
    assert 20 <= fired["1", "shift:"] <= 30


# -- silence ----------------------------------------------------------------------------------------


def test_a_window_without_any_rating_in_office_hours():
    monday = first_monday(START)
    w = WindowCounts("第一組", "1")
    for day in range(28):
        t = monday + timedelta(days=day)
        if t.weekday() < 5:
            for hour in range(8, 17):
                w.add(t.replace(hour=hour).strftime("%Y-%m-%d %H"), 2, 4)
    last_day = monday + timedelta(days=25)  # a Friday: its 16:00 hour holds the last ratings
    assert last_day.weekday() == 4
    monday_after = last_day + timedelta(days=3)
    w.hours = {h: c for h, c in w.hours.items() if h <= last_day.replace(hour=16).strftime("%Y-%m-%d %H")}
    # The weekend does not count: Monday 08:30 is half an office hour after Friday's close.
    assert idle_windows([w], monday_after.replace(hour=8, minute=30), WEEKDAYS, alpha=1e-4) == []
    found = idle_windows([w], monday_after.replace(hour=11), WEEKDAYS, alpha=1e-4)
    assert len(found) == 1 and "no rating for 3.0 office hours" in found[0].summary
    assert found[0].detail["p_value"] < 1e-4
    # Outside office hours nothing is expected of anyone.
    assert idle_windows([w], monday_after.replace(hour=20), WEEKDAYS, alpha=1e-4) == []


def test_a_kiosk_silent_in_office_hours():
    monday = first_monday(START)
    seen = KioskSeen("w1", "第一組", "1", monday.replace(hour=9), monday - timedelta(days=30))
    assert silent_kiosks([seen], monday.replace(hour=9, minute=59), WEEKDAYS, 60) == []
    found = silent_kiosks([seen], monday.replace(hour=10, minute=1), WEEKDAYS, 60)
    assert [f.kiosk for f in found] == ["w1"] and "61 minutes of office hours" in found[0].summary
    assert silent_kiosks([seen], monday.replace(hour=18), WEEKDAYS, 60) == []


def test_rule_params_are_checked():
    assert rules.check_params(rules.OFFICE_SILENT, {})["days"] == "1-5"
    with pytest.raises(rules.ParamError):
        rules.check_params(rules.OFFICE_SILENT, {"start": "18:00", "end": "08:00"})
    with pytest.raises(rules.ParamError):
        rules.check_params(rules.QUIET, {"alpha": 0.5})
    with pytest.raises(alerts.RuleError):
        alerts.check_params(rules.OFFICE_SILENT, {"days": "0-9"})


# -- through the real collector -------------------------------------------------------------------


def _events(office, window_index: int, days: range, unit: str, window: str, first_seq: int) -> list[dict]:
    """The simulated window's ratings on ``days`` as kiosk events, spread over each hour."""
    out = []
    seq = first_seq
    for d in days:
        midnight = office.days[d]
        for hour in range(8, 17):
            counts = office.windows[window_index].hours.get(midnight.replace(hour=hour).strftime("%Y-%m-%d %H"))
            levels = [lv for lv, n in enumerate(counts or [], 1) for _ in range(n)]
            for i, lv in enumerate(levels):
                t = midnight.replace(hour=hour, minute=(i * 7) % 60, second=i % 60)
                seq += 1
                out.append(
                    make_event(seq, level=lv, unit=unit, window=window, boot_id="sim", recorded_at=t.isoformat())
                )
    return out


@pytest.fixture
def collector(tmp_path):
    conn = dbmod.open_db(tmp_path / "collector.db")
    yield conn
    conn.close()


def _ingest(conn, now, name, events):
    limits = volume.Limits(lambda: now, burst=10**12, hour_cap=10**9)
    Ingestor(conn, clock=lambda: now, limits=limits).ingest(
        kiosk_by_name(conn, name), Batch.model_validate_json(json.dumps(make_batch(events, clock=lambda: now)))
    )


def test_the_collector_alerts_on_a_tampered_window_and_a_stuck_button(collector):
    conn = collector
    office = simulate(7, 27, START, tampered=(2, 20, (4, 5)))
    for i in range(5):
        add_kiosk(conn, f"w{i + 1}", unit="第一組", window=str(i + 1))
    # Only the statistical rules: the single-rating and silent rules have their own tests.
    conn.execute("UPDATE alert_rules SET enabled = 0 WHERE kind NOT IN ('tamper_quiet', 'tamper_shift')")
    seqs = [0] * 5

    def sync(days, now):
        for i in range(5):
            ev = _events(office, i, days, "第一組", str(i + 1), seqs[i])
            seqs[i] += len(ev)
            _ingest(conn, now, f"w{i + 1}", ev)

    before = office.closing(19).timestamp()
    sync(range(0, 20), before)
    assert alerts.check_tamper(conn, now=before) == 0
    after = office.closing(26).timestamp()
    sync(range(20, 27), after)
    assert alerts.check_tamper(conn, now=after) >= 1
    raised = [a for a in alerts.list_alerts(conn) if a["kind"] == rules.QUIET]
    assert [(a["unit"], a["window"]) for a in raised] == [("第一組", "3")]
    assert "p = " in raised[0]["summary"] and raised[0]["detail"]["p_value"] < QUIET_ALPHA
    assert alerts.check_tamper(conn, now=after) == 0  # one alert per run, not one per check

    conn.execute("UPDATE alert_rules SET enabled = 1 WHERE kind = 'stuck_button'")
    stuck_at = office.closing(26) - timedelta(minutes=5)
    _ingest(
        conn,
        after,
        "w4",
        [
            make_event(
                seqs[3] + 1,
                type="button_stuck",
                level=5,
                unit="第一組",
                window="4",
                boot_id="sim",
                recorded_at=stuck_at.isoformat(),
                held_seconds=30.0,
            )
        ],
    )
    assert alerts.check_tamper(conn, now=after, statistics=False) == 1
    stuck = [a for a in alerts.list_alerts(conn) if a["kind"] == rules.STUCK]
    assert stuck[0]["kiosk"] == "w4" and "level 5 button held down 30 s" in stuck[0]["summary"]
    assert alerts.check_tamper(conn, now=after, statistics=False) == 0  # read once


def test_tamper_rules_come_by_default_and_keep_the_old_ones(collector):
    found = alerts.rules(collector)
    assert [r["kind"] for r in found[:3]] == ["level", "window_unhappy", "silent"]
    assert {r["kind"]: r["enabled"] for r in found[3:]} == {
        rules.QUIET: True,
        rules.SHIFT: True,
        rules.STUCK: True,
        rules.OFFICE_SILENT: False,  # the office's hours are its own to set first
    }
    assert OFFICE_TZ.key == "Asia/Taipei"


def test_the_alert_worker_waits_before_its_first_statistical_check(tmp_path):
    """A restarted collector takes its fleet's reconnect storm before the ~2 CPU-s tamper statistics."""
    path = tmp_path / "collector.db"
    conn = dbmod.open_db(path)
    office = simulate(7, 27, START, tampered=(2, 20, (4, 5)))
    for i in range(5):
        add_kiosk(conn, f"w{i + 1}", unit="第一組", window=str(i + 1))
    conn.execute("UPDATE alert_rules SET enabled = 0 WHERE kind NOT IN ('tamper_quiet', 'tamper_shift')")
    now = office.closing(26).timestamp()
    for i in range(5):
        events = _events(office, i, range(0, 27), "第一組", str(i + 1), 0)
        for start in range(0, len(events), 1000):  # a batch holds at most 1,000
            _ingest(conn, now, f"w{i + 1}", events[start : start + 1000])

    def tamper_alerts() -> list:
        return [a for a in alerts.list_alerts(conn) if a["kind"] in (rules.QUIET, rules.SHIFT)]

    waiting = alerts.AlertWorker(path, clock=lambda: now, first_tamper_seconds=3600)
    try:
        wait_until(lambda: waiting.rounds >= 1, timeout=30, what="a round of the alert worker")
        assert tamper_alerts() == []  # its first round ran (it used to check at once), the statistics not yet
    finally:
        waiting.close()
    at_once = alerts.AlertWorker(path, clock=lambda: now, first_tamper_seconds=0)
    try:
        found = wait_until(tamper_alerts, timeout=30, what="the tampered window's alert")
    finally:
        at_once.close()
    assert {a["window"] for a in found} == {"3"}
    conn.close()
