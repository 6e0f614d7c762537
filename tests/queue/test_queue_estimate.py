"""The learned wait estimate against the fixed-average method (ZMS) on simulated office days."""

from __future__ import annotations

from datetime import date

from click.testing import CliRunner

from kiosk import estimate
from kiosk.cli import main
from kiosk.config import validate
from kiosk.queue_sim import simulate_queue_days
from kiosk.store import Store

CONFIG = validate({"kiosk": {"id": "sim-w1", "window": "1"}})


def test_learned_estimate_beats_the_fixed_average_on_a_simulated_day(tmp_path):
    # Poisson arrivals, log-normal service times drifting slower through the day; both
    # estimators are asked at the same moments about the same queue.
    result = simulate_queue_days(CONFIG, tmp_path / "data", 5, seed=11, end=date(2026, 3, 6))
    day = result.days[-1]
    assert day.issued > 25 and len(day.learned) == len(day.fixed) > 25
    learned, fixed = estimate.accuracy(day.learned), estimate.accuracy(day.fixed)
    assert learned.mae_seconds < fixed.mae_seconds, (learned, fixed)
    overall_l, overall_f = result.learned(), result.fixed()
    assert overall_l.mae_seconds < 0.9 * overall_f.mae_seconds, (overall_l, overall_f)
    # The estimates the kiosk stored with its tickets are the learned ones, and their
    # accuracy can be computed from the events alone.
    store = Store(tmp_path / "data", kiosk_id="sim-w1")
    try:
        from_events = estimate.accuracy_of_events(store.events())
    finally:
        store.close()
    assert from_events.n == overall_l.n
    assert abs(from_events.mae_seconds - overall_l.mae_seconds) < 1.0


def test_the_estimator_learns_from_measured_service_times():
    e = estimate.LearnedEstimator({"a": 600.0, "b": 300.0})
    assert e.expected("a") == 600.0
    for _ in range(20):
        e.observe("a", 1200.0)
    assert 1100 < e.expected("a") <= 1200
    # A slow window slows services not yet seen too, through the window factor.
    assert e.expected("b") > 450
    assert estimate.FixedEstimator({"a": 600.0}).wait(("a", 700.0), ["a", "a"]) == 0.15 * 600 + 1200


def test_bands_and_closed():
    assert [estimate.band(m * 60) for m in (0, 4.9, 5, 12, 25, 90)] == ["lt5", "lt5", "5-10", "10-20", "20-30", "30+"]
    assert estimate.band(None) == estimate.CLOSED == "closed"
    assert estimate.label("closed", "zh-TW") == "未開放"
    assert estimate.in_band(400, "5-10") and not estimate.in_band(400, "lt5")


def test_kiosk_simulate_queue_days_runs_the_real_paths(tmp_path):
    out = CliRunner().invoke(main, ["simulate", "--queue-days", "2", "--seed", "3", "--data-dir", str(tmp_path / "d")])
    assert out.exit_code == 0, out.output
    assert "learned MAE" in out.output and "fixed average" in out.output
    store = Store(tmp_path / "d", kiosk_id="")
    try:
        types = {e.type for e in store.events()}
        ratings = [e for e in store.events(type="rating") if e.ref]
        issued = {e.id: e for e in store.events(type="ticket_issued")}
    finally:
        store.close()
    assert {"ticket_issued", "ticket_called", "ticket_served", "rating"} <= types
    assert ratings and all(r.ref in issued and r.detail["ticket"] == issued[r.ref].detail["ticket"] for r in ratings)
    bad = CliRunner().invoke(main, ["simulate", "--data-dir", str(tmp_path / "e")])
    assert bad.exit_code != 0 and "--queue-days" in bad.output
