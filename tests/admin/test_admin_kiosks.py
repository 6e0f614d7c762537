"""Kiosks as the administrator sees them (issue 11, points 2, 3 and 8), against a real collector
on loopback: figures that survive a bad stored row, a dashboard that junk labels cannot grow,
the unit and window a manager sets (audited), and revoke links that name exactly one kiosk."""

from __future__ import annotations

import sqlite3
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from adminhelp import add_admins, cli, login
from collector_helpers import make_batch, make_event, start_server, stop_server

from server_sync.collector import admin_tables, auth, volume
from server_sync.collector import db as dbmod
from server_sync.collector.auth import hash_token, new_token
from server_sync.wire.tz import OFFICE_TZ

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


def today_range() -> str:
    day = datetime.now(OFFICE_TZ).date().isoformat()
    return f"from={day}&to={day}"


def test_a_non_finite_row_already_stored_does_not_break_the_dashboard(admin_server):
    token = admin_server.new_kiosk()
    issued = make_event(1, type="ticket_issued", level=None, service="x", ticket="X001", estimate_seconds=60.0)
    called = make_event(
        2, type="ticket_called", level=None, service="x", ticket="X001", wait_seconds=90.0, ref=issued["id"]
    )
    assert admin_server.post(token, make_batch([issued, called])).status_code == 200
    conn = sqlite3.connect(admin_server.db_path)
    try:  # what a collector without the ingest checks stored for estimate_band "lt1e308"
        conn.execute("UPDATE admin_queue_hour SET est_err_sum = 9e999, wait_sum = wait_sum + 9e999")
        conn.commit()
    finally:
        conn.close()
    s = login(admin_server.url, "viewer")
    for days in ("", "&" + today_range()):
        r = s.get(f"{admin_server.url}/admin/api/dashboard?x=1{days}", timeout=30)
        assert r.status_code == 200, r.text
        total = r.json()["queues"]["total"]
        assert total["estimate_mae_min"] is None and total["wait_mean_min"] is None and total["called"] >= 1
    assert s.get(f"{admin_server.url}/admin", timeout=30).status_code == 200


def test_the_migration_rebuilds_queue_rollups_an_infinity_got_into(tmp_path):
    conn = dbmod.open_db(tmp_path / "c.db")
    auth.add_kiosk(conn, "old")
    kid = auth.kiosk_by_name(conn, "old").id
    now = time.time()
    for seq, (etype, detail) in enumerate(
        [
            ("ticket_issued", '{"service": "x"}'),
            ("ticket_called", '{"service": "x", "wait_seconds": 90, "estimate_band": "lt1e308"}'),
        ],
        start=1,
    ):
        conn.execute(
            "INSERT INTO events (kiosk, store_id, id, seq, type, kiosk_id, unit, window, level, misuse,"
            " ref, recorded_at, boot_id, monotonic, detail, corrected_at, time_suspect, received_at)"
            " VALUES (?, 's', ?, ?, ?, '', 'u', 'w', NULL, 0, NULL, '', 'b', 0, ?, ?, 0, '')",
            [kid, str(uuid.uuid4()), seq, etype, detail, now],
        )
    day = datetime.fromtimestamp(now, OFFICE_TZ).date().isoformat()
    conn.execute(
        "INSERT INTO admin_queue_hour (day, hod, unit, window, service, called, wait_n, wait_sum,"
        " est_n, est_err_sum) VALUES (?, 9, 'u', 'w', 'x', 1, 1, 90, 1, 9e999)",
        [day],
    )
    conn.execute("BEGIN")
    assert admin_tables.rebuild_non_finite(sqlite_utils_db(conn))
    conn.execute("COMMIT")
    rows = conn.execute(
        "SELECT sum(issued), sum(called), sum(est_n), max(abs(est_err_sum)) FROM admin_queue_hour"
    ).fetchone()
    assert rows == (1, 1, 0, 0.0)  # the band is no band: no estimate error, and no infinity
    conn.close()


def sqlite_utils_db(conn):
    import sqlite_utils

    return sqlite_utils.Database(conn)


def page_size(s, url: str) -> int:
    r = s.get(f"{url}/admin?{two_days()}", timeout=60)
    assert r.status_code == 200
    return len(r.content)


def two_days() -> str:
    day = datetime.now(OFFICE_TZ).date()
    return f"from={day - timedelta(days=1)}&to={day}"


@pytest.fixture
def own_server(tmp_path):
    """A collector of this test's own: its figures count only what this test sent."""
    path = tmp_path / "collector.db"
    cli(path, "kiosks")
    add_admins(path)
    server = start_server(path)
    yield server
    stop_server(server)


def test_thirty_thousand_made_up_labels_do_not_grow_the_dashboard(own_server):
    admin_server = own_server
    assert cli(admin_server.db_path, "import-services", str(ROOT / "assets" / "services.zh-TW.csv")).returncode == 0
    s = login(admin_server.url, "viewer")
    tokens = [admin_server.new_kiosk(f"junk-{i}", unit="第一組", window=str(i + 1)) for i in range(4)]
    now = time.time()
    start = now - 3 * 3600  # three hours of event time: 10,000 a kiosk stay under volume.HOUR_CAP an hour
    # Before: each kiosk has rated in each of those hours, with a known service and with an unknown one.
    for token in tokens:
        seed = []
        for h in range(3):
            at = start + h * 3600 + 60
            seed += [
                make_event(
                    len(seed) + 1, boot_id="unanchored", service="candidate_registration", clock=lambda at=at: at
                ),
                make_event(len(seed) + 2, boot_id="unanchored", service="made-up", clock=lambda at=at: at),
            ]
        assert admin_server.post(token, make_batch(seed)).status_code == 200
    before = page_size(s, admin_server.url)
    per_kiosk = 7_500  # four kiosks, each within its burst (volume.BURST)
    assert per_kiosk + 6 <= volume.BURST and per_kiosk / 3 <= volume.HOUR_CAP
    for k, token in enumerate(tokens):
        for b in range(0, per_kiosk, 1000):
            events = []
            for i in range(b, min(per_kiosk, b + 1000)):
                tag = f"{k}-{i}-{uuid.uuid4().hex[:6]}"
                events.append(
                    make_event(
                        7 + i,
                        boot_id="unanchored",
                        unit=f"單位{tag}",
                        window=f"W{tag}",
                        service=f"svc-{tag}",
                        clock=lambda i=i: start + i * 3 * 3600 / per_kiosk,
                    )
                )
            r = admin_server.post(token, make_batch(events))
            assert r.status_code == 200 and r.json()["stored"] == len(events), r.text
    after = page_size(s, admin_server.url)
    assert after < before * 1.05, (before, after)  # the same rows with other numbers, not 30,000 more
    d = s.get(f"{admin_server.url}/admin/api/dashboard?{two_days()}", timeout=60).json()
    assert {x["service"] for x in d["ranking"]["services"]} == {"candidate_registration", "其他 other"}
    assert {x["unit"] for x in d["ranking"]["units"]} == {"第一組"}
    assert d["total"]["n"] >= 30_000


def add_raw_kiosk(db_path, name: str) -> None:
    """A kiosk with a name from before names were restricted (add-kiosk refuses it now)."""
    conn = sqlite3.connect(db_path)
    try:
        conn.execute(
            "INSERT INTO kiosks (name, token_hash, levels, created_at) VALUES (?, ?, 5, '')",
            [name, hash_token(new_token())],
        )
        conn.commit()
    finally:
        conn.close()


def revoked(db_path) -> set[str]:
    conn = sqlite3.connect(db_path)
    try:
        return {r[0] for r in conn.execute("SELECT name FROM kiosks WHERE revoked_at IS NOT NULL")}
    finally:
        conn.close()


def test_revoke_links_encode_the_name_and_odd_old_names_stay_revocable(admin_server):
    odd = ["k%41", "a/b", "what?x=1", "c#d", "sp ace"]
    admin_server.new_kiosk("kA")
    for name in odd:
        add_raw_kiosk(admin_server.db_path, name)
    m = login(admin_server.url, "mgr")
    page = m.get(f"{admin_server.url}/admin/fleet", timeout=30).text
    assert 'action="/admin/fleet/k%2541/revoke"' in page and 'action="/admin/fleet/a%2Fb/revoke"' in page
    r = m.post(f"{admin_server.url}/admin/fleet/k%2541/revoke", data={"csrf": m.csrf}, timeout=30)
    assert r.status_code == 200 and revoked(admin_server.db_path) >= {"k%41"}
    assert "kA" not in revoked(admin_server.db_path)
    for name, path in (("a/b", "a%2Fb"), ("what?x=1", "what%3Fx%3D1"), ("c#d", "c%23d"), ("sp ace", "sp%20ace")):
        assert f'action="/admin/fleet/{path}/revoke"' in page
        assert (
            m.post(f"{admin_server.url}/admin/fleet/{path}/revoke", data={"csrf": m.csrf}, timeout=30).status_code
            == 200
        )
        assert name in revoked(admin_server.db_path)
    assert "kA" not in revoked(admin_server.db_path)


@pytest.mark.parametrize("name", ["n%41", "n/b", "第一組-1號窗口", "x" * 65, "", "semi;colon"])
def test_new_kiosk_names_keep_to_a_safe_alphabet(admin_server, name):
    out = cli(admin_server.db_path, "add-kiosk", name)
    assert out.returncode != 0 and "A-Z a-z 0-9 . _ -" in out.stderr
    m = login(admin_server.url, "mgr")
    r = m.post(f"{admin_server.url}/admin/fleet/add", data={"csrf": m.csrf, "name": name, "levels": "5"}, timeout=30)
    assert r.status_code == 200 and "A-Z a-z 0-9 . _ -" in r.text and "new-token" not in r.text
    conn = sqlite3.connect(admin_server.db_path)
    try:
        assert conn.execute("SELECT count(*) FROM kiosks WHERE name = ?", [name]).fetchone()[0] == 0
    finally:
        conn.close()


def test_a_manager_sets_the_unit_and_window_on_the_fleet_page_and_it_is_audited(admin_server):
    name = f"desk-{uuid.uuid4().hex[:6]}"
    out = cli(admin_server.db_path, "add-kiosk", name, "--unit", "第一組", "--window", "1")
    assert out.returncode == 0, out.stderr
    token = out.stdout.strip().splitlines()[-1]
    v = login(admin_server.url, "viewer")
    r = v.post(
        f"{admin_server.url}/admin/fleet/{name}/place",
        data={"csrf": v.csrf, "unit": "x", "window": "y"},
        timeout=30,
        allow_redirects=False,
    )
    assert r.status_code == 403
    m = login(admin_server.url, "mgr")
    r = m.post(
        f"{admin_server.url}/admin/fleet/{name}/place",
        data={"csrf": m.csrf, "unit": "第二組", "window": "5"},
        timeout=30,
    )
    assert r.status_code == 200
    assert admin_server.post(token, make_batch([make_event(1, unit="第一組", window="1")])).status_code == 200
    rows = {x["kiosk"]: x for x in m.get(f"{admin_server.url}/admin/api/fleet", timeout=30).json()}
    assert (rows[name]["unit"], rows[name]["window"]) == ("第二組", "5")
    assert rows[name]["refused"] == 0 and rows[name]["dropped"] == 0
    conn = sqlite3.connect(admin_server.db_path)
    try:
        assert conn.execute(
            "SELECT e.unit, e.window FROM events e JOIN kiosks k ON k.id = e.kiosk WHERE k.name = ?", [name]
        ).fetchall() == [("第二組", "5")]
        audit = conn.execute("SELECT username, action FROM admin_audit WHERE target = ? ORDER BY id", [name]).fetchall()
    finally:
        conn.close()
    assert audit == [("cli", "add_kiosk"), ("mgr", "set_kiosk_place")]
    # And by the command line, audited as such.
    out = cli(admin_server.db_path, "set-kiosk", name, "--window", "6")
    assert out.returncode == 0 and "6" in out.stdout
    rows = {x["kiosk"]: x for x in m.get(f"{admin_server.url}/admin/api/fleet", timeout=30).json()}
    assert (rows[name]["unit"], rows[name]["window"]) == ("第二組", "6")
