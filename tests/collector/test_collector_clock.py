"""Clock correction: events recorded while a Pi's wall clock read 1970 land on the right day."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

import pytest
from collector_helpers import make_batch, make_event
from fastapi.testclient import TestClient

from server_sync.collector import db as dbmod
from server_sync.collector.api import create_app
from server_sync.collector.auth import add_kiosk
from server_sync.collector.timestamps import iso_or

T = datetime(2026, 11, 27, 2, 0, 0, tzinfo=UTC).timestamp()  # 10:00 in Taipei
BOOT_A, BOOT_B, BOOT_C = "boot-a", "boot-b", "boot-c"


@pytest.fixture
def env(tmp_path):
    path = tmp_path / "c.db"
    conn = dbmod.open_db(path)
    token = add_kiosk(conn, "w1")
    now = [T]
    app = create_app(path, clock=lambda: now[0])
    with TestClient(app) as client:
        client.headers["Authorization"] = f"Bearer {token}"
        yield client, conn, now
    conn.close()


def stored(conn: sqlite3.Connection, event: dict) -> tuple[str, int]:
    """(corrected_at as `kiosk-collector events` prints it, time_suspect)."""
    corrected, suspect, recorded = conn.execute(
        "SELECT corrected_at, time_suspect, recorded_at FROM events WHERE id = ?", [event["id"]]
    ).fetchone()
    return iso_or(corrected, recorded), suspect


def test_1970_events_of_an_anchored_boot_get_the_server_day(env):
    client, conn, _now = env
    # Booted an hour ago; the wall clock never got NTP and still reads 1970.
    e1 = make_event(1, boot_id=BOOT_B, monotonic=600.0, recorded_at="1970-01-01T00:10:00.000+00:00")
    e2 = make_event(2, boot_id=BOOT_B, monotonic=1200.0, recorded_at="1970-01-01T00:20:00.000+00:00")
    # An older boot never anchored: its events keep their 1970 time and are flagged.
    old = make_event(3, boot_id=BOOT_A, monotonic=50.0, recorded_at="1970-01-01T00:00:50.000+00:00")
    batch = make_batch([e1, e2, old], boot_id=BOOT_B, monotonic=3600.0, wall="1970-01-01T01:00:00.000+00:00")
    r = client.post("/api/v1/events", json=batch)
    assert r.status_code == 200, r.text
    assert stored(conn, e1) == ("2026-11-27T01:10:00.000+00:00", 0)
    assert stored(conn, e2) == ("2026-11-27T01:20:00.000+00:00", 0)
    assert stored(conn, old) == ("1970-01-01T00:00:50.000+00:00", 1)
    # The rollups put them in the office's hours (Asia/Taipei = UTC+8).
    hours = dict(conn.execute("SELECT hour, sum(n) FROM rollups GROUP BY hour"))
    assert hours == {"2026-11-27 09": 2, "1970-01-01 08": 1}
    # The fleet view knows the kiosk's clock is ~56 years behind.
    offset = conn.execute("SELECT clock_offset FROM kiosks WHERE name = 'w1'").fetchone()[0]
    assert offset == pytest.approx(T - 3600, abs=1)


def test_events_of_an_anchored_boot_sent_after_a_reboot_still_correct(env):
    client, conn, now = env
    first = make_batch(
        [make_event(1, boot_id=BOOT_B, monotonic=600.0, recorded_at="1970-01-01T00:10:00.000+00:00")],
        boot_id=BOOT_B,
        monotonic=3600.0,
        wall="1970-01-01T01:00:00.000+00:00",
    )
    assert client.post("/api/v1/events", json=first).status_code == 200
    # Pressed later in boot B, then the network went away, the Pi rebooted (boot C) and sent it.
    late = make_event(2, boot_id=BOOT_B, monotonic=3700.0, recorded_at="1970-01-01T01:01:40.000+00:00")
    fresh = make_event(3, boot_id=BOOT_C, monotonic=100.0, recorded_at="1970-01-01T00:01:40.000+00:00")
    now[0] = T + 7200
    second = make_batch([late, fresh], boot_id=BOOT_C, monotonic=160.0, wall="1970-01-01T00:02:40.000+00:00")
    assert client.post("/api/v1/events", json=second).status_code == 200
    assert stored(conn, late) == ("2026-11-27T02:01:40.000+00:00", 0)  # T - 3600 + 3700
    assert stored(conn, fresh) == ("2026-11-27T03:59:00.000+00:00", 0)  # T + 7200 - 160 + 100


def test_the_earliest_anchor_wins_because_delay_only_makes_it_later(env):
    client, conn, now = env
    b1 = make_batch([], boot_id=BOOT_B, monotonic=3600.0)
    assert client.post("/api/v1/events", json=b1).status_code == 200
    now[0] = T + 605  # a batch 600 s later that spent 5 s in a slow network
    e = make_event(1, boot_id=BOOT_B, monotonic=4000.0)
    b2 = make_batch([e], boot_id=BOOT_B, monotonic=4200.0)
    assert client.post("/api/v1/events", json=b2).status_code == 200
    assert stored(conn, e)[0] == "2026-11-27T02:06:40.000+00:00"  # T - 3600 + 4000
    anchor = conn.execute("SELECT boot_epoch FROM boots WHERE boot_id = ?", [BOOT_B]).fetchone()[0]
    assert anchor == T - 3600


def test_times_far_from_the_collector_are_stored_but_flagged(env):
    client, conn, _now = env
    future = make_event(1, boot_id=BOOT_A, recorded_at="2031-01-01T00:00:00.000+00:00")
    tomorrow = make_event(2, boot_id=BOOT_A, recorded_at="2026-11-28T03:00:00.000+00:00")  # 25 h ahead
    fine = make_event(3, boot_id=BOOT_A, recorded_at="2026-11-28T01:00:00.000+00:00")  # 23 h ahead
    ancient = make_event(4, boot_id=BOOT_A, recorded_at="0001-01-01T00:00:00.000+05:00")
    batch = make_batch([future, tomorrow, fine, ancient], boot_id=BOOT_B, monotonic=10.0)
    r = client.post("/api/v1/events", json=batch)
    assert r.status_code == 200 and r.json()["stored"] == 4
    assert stored(conn, future)[1] == 1
    assert stored(conn, tomorrow)[1] == 1
    assert stored(conn, fine)[1] == 0
    assert stored(conn, ancient) == ("0001-01-01T00:00:00.000+05:00", 1)
    # The absurd one is kept out of the rollups; the rest are counted where they claim to be.
    assert conn.execute("SELECT sum(n) FROM rollups").fetchone()[0] == 3


def test_a_wall_clock_at_the_end_of_time_is_not_a_server_error(env):
    client, conn, _now = env
    batch = make_batch([make_event(1)], wall="9999-12-31T23:59:59.000-05:00")
    r = client.post("/api/v1/events", json=batch)
    assert r.status_code == 200, r.text
    assert conn.execute("SELECT clock_offset FROM kiosks").fetchone()[0] < -2.5e11  # ~8000 years behind
    ev = make_event(2, recorded_at="9999-12-31T23:59:59.000-05:00", boot_id=BOOT_A)
    r = client.post("/api/v1/events", json=make_batch([ev]))
    assert r.status_code == 200, r.text
    assert stored(conn, ev) == ("9999-12-31T23:59:59.000-05:00", 1)
    bad = make_event(3, recorded_at="2026-02-30T10:00:00+08:00", boot_id=BOOT_A)
    r = client.post("/api/v1/events", json=make_batch([bad]))
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "events", 0, "recorded_at"]


def test_the_anchor_pairs_the_clock_block_with_the_arrival_time(env):
    client, conn, _now = env
    e = make_event(1, boot_id=BOOT_B, monotonic=3000.0)
    assert client.post("/api/v1/events", json=make_batch([e], boot_id=BOOT_B, monotonic=3600.0)).status_code == 200
    assert stored(conn, e)[0] == "2026-11-27T01:50:00.000+00:00"  # T - 600
