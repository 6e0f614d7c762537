"""What a kiosk token can make the collector believe (issue 11, points 2 and 3), through a real
`kiosk-collector serve` on loopback: numbers checked at ingest, the unit and window taken from
the kiosk's identity, and a kiosk's volume bounded without losing a real backlog."""

from __future__ import annotations

import json
import sqlite3
import time
from datetime import UTC, datetime, timedelta

import pytest
from collector_helpers import make_batch, make_event

from kiosk.clock import SimulatedClock
from kiosk.outbox import sync_client
from kiosk.store import Store
from server_sync.collector import volume

pytestmark = pytest.mark.slow


def ticket_called(seq, clock=time.time, **detail):
    return make_event(
        seq,
        type="ticket_called",
        level=None,
        clock=clock,
        **{"service": "a", "ticket": "A001", "wait_seconds": 120.0, **detail},
    )


@pytest.mark.parametrize(
    "field, value",
    [
        ("estimate_band", "lt1e308"),
        ("estimate_band", "1e308-1e308"),
        ("estimate_band", "5-x"),
        ("wait_seconds", 1e300),
        ("wait_seconds", -1.0),
        ("service_seconds", "60"),
        ("estimate_low", True),
        ("ahead", 1.5),
        ("call", -1),
    ],
)
def test_bad_numbers_are_refused_naming_the_event_and_field(live_server, field, value):
    token = live_server.new_kiosk()
    event = ticket_called(1, **{field: value})
    r = live_server.post(token, make_batch([make_event(2), event]))  # all or nothing: the good one waits
    assert r.status_code == 422, r.text
    (err,) = [e for e in r.json()["detail"] if e["loc"][-1] == field]
    assert err["loc"] == ["body", "events", 1, field]
    assert event["id"] in err["msg"] and field in err["msg"]
    assert live_server.post(token, make_batch([make_event(2)])).json()["stored"] == 1


@pytest.mark.parametrize("literal", ["1e999", "-1e999", "NaN", "Infinity"])
def test_non_finite_json_numbers_anywhere_in_an_event_are_refused(live_server, literal):
    token = live_server.new_kiosk()
    event = ticket_called(1, note={"deep": ["X"]})
    body = json.dumps(make_batch([event])).replace('"X"', literal)
    r = live_server.post(token, body, headers={"Content-Type": "application/json"})
    assert r.status_code == 422, r.text
    (err,) = r.json()["detail"]
    assert err["loc"] == ["body", "events", 0, "note", "deep", 0] and event["id"] in err["msg"]


def test_the_bands_a_kiosk_writes_are_accepted(live_server):
    token = live_server.new_kiosk()
    events = [
        ticket_called(i + 1, estimate_band=b, estimate_seconds=None)
        for i, b in enumerate(("lt5", "5-10", "10-20", "20-30", "30+", "closed", None))
    ]
    r = live_server.post(token, make_batch(events))
    assert r.status_code == 200 and r.json()["stored"] == len(events)


def stored(server, kiosk: str, column: str) -> set:
    conn = sqlite3.connect(server.db_path)
    try:
        return {
            r[0]
            for r in conn.execute(
                f"SELECT e.{column} FROM events e JOIN kiosks k ON k.id = e.kiosk WHERE k.name = ?", [kiosk]
            )
        }
    finally:
        conn.close()


def test_a_forged_unit_or_window_is_ignored(live_server):
    token = live_server.new_kiosk("desk-7", unit="第一組", window="7")
    forged = [make_event(i + 1, unit=f"第{i}組", window=str(100 + i)) for i in range(20)]
    assert live_server.post(token, make_batch(forged)).json()["stored"] == 20
    assert stored(live_server, "desk-7", "unit") == {"第一組"}
    assert stored(live_server, "desk-7", "window") == {"7"}


def test_a_kiosk_without_a_place_adopts_its_first_batch_once(live_server):
    token = live_server.new_kiosk("desk-new")
    assert live_server.post(token, make_batch([make_event(1, unit="第二組", window="3")])).status_code == 200
    assert live_server.post(token, make_batch([make_event(2, unit="第九組", window="99")])).status_code == 200
    assert stored(live_server, "desk-new", "unit") == {"第二組"}
    assert stored(live_server, "desk-new", "window") == {"3"}
    conn = sqlite3.connect(live_server.db_path)
    try:
        audit = conn.execute("SELECT username, action, detail FROM admin_audit WHERE target = 'desk-new'").fetchall()
    finally:
        conn.close()
    assert audit == [
        ("kiosk:desk-new", "adopt_place", json.dumps({"unit": "第二組", "window": "3"}, ensure_ascii=False))
    ]


def spread(n: int, hours: int, clock=time.time) -> list[float]:
    """n times over the last ``hours`` hours, oldest first."""
    now = clock()
    return [now - hours * 3600 + (i + 0.5) * hours * 3600 / n for i in range(n)]


def test_a_flood_gets_429_and_shows_on_the_fleet_list(live_server):
    token = live_server.new_kiosk("flooded", unit="第一組", window="1")
    times = spread(volume.BURST + 1000, 48)
    statuses = []
    for b in range(0, len(times), 1000):
        events = [
            make_event(b + i + 1, boot_id="unanchored", clock=lambda t=t: t) for i, t in enumerate(times[b : b + 1000])
        ]
        r = live_server.post(token, make_batch(events))
        statuses.append(r.status_code)
    assert statuses == [200] * (volume.BURST // 1000) + [429]
    assert 1 <= int(r.headers["Retry-After"]) <= 1000 / volume.RATE + 1
    assert "too fast" in r.json()["detail"]
    # The refusal reaches the kiosk's row (the fleet page and `kiosk-collector kiosks`) with the next write.
    other = live_server.new_kiosk()
    assert live_server.post(other, make_batch([make_event(1)])).status_code == 200
    conn = sqlite3.connect(live_server.db_path)
    try:
        assert conn.execute("SELECT refused, dropped FROM kiosks WHERE name = 'flooded'").fetchone() == (1000, 0)
    finally:
        conn.close()


def test_events_past_the_hour_cap_are_acknowledged_and_counted_not_kept(live_server):
    token = live_server.new_kiosk("one-hour", unit="第一組", window="2")
    hour_start = (time.time() // 3600 - 2) * 3600
    n = volume.HOUR_CAP + 400
    acked = 0
    for b in range(0, n, 1000):
        events = [
            make_event(i + 1, boot_id="unanchored", clock=lambda i=i: hour_start + i * 3599 / n)
            for i in range(b, min(n, b + 1000))
        ]
        r = live_server.post(token, make_batch(events))
        assert r.status_code == 200, r.text
        acked = r.json()["acked_seq"]
    assert acked == n  # nothing is left for the kiosk to send again
    conn = sqlite3.connect(live_server.db_path)
    try:
        kinds = dict(
            conn.execute(
                "SELECT e.type, count(*) FROM events e JOIN kiosks k ON k.id = e.kiosk"
                " WHERE k.name = 'one-hour' GROUP BY e.type"
            )
        )
        counted = conn.execute(
            "SELECT sum(n) FROM rollups r JOIN kiosks k ON k.id = r.kiosk WHERE k.name = 'one-hour'"
        ).fetchone()[0]
    finally:
        conn.close()
    assert kinds == {"rating": volume.HOUR_CAP, "over_cap": 400} and counted == volume.HOUR_CAP


def test_a_real_kiosk_back_after_30_days_offline_sends_its_whole_backlog(live_server, tmp_path):
    token = live_server.new_kiosk("back-online", unit="第一組", window="3")
    data = tmp_path / "kiosk"
    clock = SimulatedClock(datetime.now(UTC) - timedelta(days=30))
    store = Store(data, kiosk_id="back-online", unit="第一組", window="3", clock=clock)
    try:
        for i in range(5000):
            clock.advance(30 * 86400 / 5000)
            store.append("rating", level=i % 5 + 1)
    finally:
        store.close()
    result = sync_client(live_server.url, token, data).run_round()
    assert result.ok and result.pending == 0, result.error
    conn = sqlite3.connect(live_server.db_path)
    try:
        n = conn.execute(
            "SELECT count(*) FROM events e JOIN kiosks k ON k.id = e.kiosk"
            " WHERE k.name = 'back-online' AND e.type = 'rating'"
        ).fetchone()[0]
        refused = conn.execute("SELECT refused + dropped FROM kiosks WHERE name = 'back-online'").fetchone()[0]
    finally:
        conn.close()
    assert n == 5000 and refused == 0
