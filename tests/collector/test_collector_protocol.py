"""Protocol v1 against a real `kiosk-collector serve` process on loopback."""

from __future__ import annotations

import gzip
import json
import sqlite3
import threading

import requests
from collector_helpers import make_batch, make_event

from server_sync.collector import db as dbmod
from server_sync.collector.auth import revoke_kiosk
from server_sync.collector.settings import set_setting


def count(server, sql="SELECT count(*) FROM events", params=()):
    conn = sqlite3.connect(server.db_path)
    try:
        return conn.execute(sql, params).fetchone()[0]
    finally:
        conn.close()


def check_ack(resp, **expected):
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("application/json")
    ack = resp.json()
    assert set(ack) == {"protocol", "stored", "duplicates", "acked_seq", "server_time"}
    assert ack["protocol"] == 1
    for k, v in expected.items():
        assert ack[k] == v, (k, ack)
    return ack


def test_health_needs_no_token(live_server):
    r = requests.get(f"{live_server.url}/api/v1/health", timeout=5)
    assert r.json() == {"ok": True, "protocol": 1}


def test_openapi_describes_the_batch(live_server):
    spec = requests.get(f"{live_server.url}/openapi.json", timeout=5).json()
    body = spec["paths"]["/api/v1/events"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body["properties"]["events"]["maxItems"] == 1000
    assert "Event" in spec["components"]["schemas"] and "Clock" in spec["components"]["schemas"]


def test_same_batch_from_ten_clients_at_once_is_stored_once(live_server):
    token = live_server.new_kiosk()
    batch = make_batch([make_event(i) for i in range(1, 201)], store_id="race")
    body = gzip.compress(json.dumps(batch).encode())
    barrier = threading.Barrier(10)
    results = []

    def send():
        barrier.wait()
        r = live_server.post(token, body, headers={"Content-Encoding": "gzip", "Content-Type": "application/json"})
        results.append((r.status_code, r.json()))

    threads = [threading.Thread(target=send) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [s for s, _ in results] == [200] * 10, results
    assert sum(a["stored"] for _, a in results) == 200
    assert sum(a["duplicates"] for _, a in results) == 200 * 9
    assert all(a["acked_seq"] == 200 for _, a in results)
    assert (
        count(
            live_server, "SELECT count(*) FROM events e JOIN streams s ON s.kiosk = e.kiosk WHERE s.store_id = 'race'"
        )
        == 200
    )
    # The rollups counted each press once, too.
    assert (
        count(
            live_server, "SELECT sum(r.n) FROM rollups r JOIN streams s ON s.kiosk = r.kiosk WHERE s.store_id = 'race'"
        )
        == 200
    )


def test_plain_and_gzip_bodies_are_the_same(live_server):
    token = live_server.new_kiosk()
    events = [make_event(i) for i in range(1, 4)]
    check_ack(live_server.post(token, make_batch(events[:2], store_id="enc")), stored=2, acked_seq=2)
    body = gzip.compress(json.dumps(make_batch(events, store_id="enc")).encode())
    check_ack(live_server.post(token, body, headers={"Content-Encoding": "gzip"}), stored=1, duplicates=2, acked_seq=3)


def test_a_batch_with_one_malformed_event_stores_nothing(live_server):
    token = live_server.new_kiosk()
    events = [make_event(i) for i in range(1, 11)]
    events[7]["level"] = "3"  # a string is not a level
    before = count(live_server)
    r = live_server.post(token, make_batch(events))
    assert r.status_code == 422
    detail = r.json()["detail"]
    assert any(d["loc"] == ["body", "events", 7, "level"] for d in detail), detail
    assert count(live_server) == before


def test_acked_seq_stops_at_the_first_gap_and_moves_when_it_fills(live_server):
    token = live_server.new_kiosk()
    ev = {i: make_event(i) for i in range(1, 11)}
    check_ack(live_server.post(token, make_batch([ev[1], ev[2], ev[4], ev[5]])), stored=4, acked_seq=2)
    check_ack(live_server.post(token, make_batch([ev[7], ev[8]])), stored=2, acked_seq=2)
    check_ack(live_server.post(token, make_batch([ev[3]])), stored=1, acked_seq=5)
    check_ack(live_server.post(token, make_batch([ev[6]])), stored=1, acked_seq=8)
    # A retry of stored events changes nothing; an empty batch reports the watermark.
    check_ack(live_server.post(token, make_batch([ev[6], ev[7]])), stored=0, duplicates=2, acked_seq=8)
    check_ack(live_server.post(token, make_batch([])), stored=0, duplicates=0, acked_seq=8)
    # A replaced kiosk database (new store_id) starts its own sequence.
    check_ack(live_server.post(token, make_batch([make_event(1)], store_id="store-2")), acked_seq=1)
    check_ack(live_server.post(token, make_batch([ev[9], ev[10]])), stored=2, acked_seq=10)


def test_unknown_missing_and_revoked_tokens_get_401(live_server):
    batch = make_batch([make_event(1)])
    r = live_server.post("not-a-token", batch)
    assert r.status_code == 401 and "token" in r.json()["detail"]
    r = requests.post(f"{live_server.url}/api/v1/events", json=batch, timeout=5)
    assert r.status_code == 401
    r = requests.get(f"{live_server.url}/api/v1/settings", timeout=5)
    assert r.status_code == 401
    token = live_server.new_kiosk("to-revoke")
    check_ack(live_server.post(token, batch), stored=1)
    conn = dbmod.open_db(live_server.db_path)
    revoke_kiosk(conn, "to-revoke")
    conn.close()
    assert live_server.post(token, make_batch([make_event(2)])).status_code == 401


def test_over_the_size_limit_is_413_compressed_or_not(live_server):
    token = live_server.new_kiosk()
    before = count(live_server)
    big = make_batch([make_event(i, note="x" * 3000) for i in range(1, 1000)])
    raw = json.dumps(big).encode()
    assert len(raw) > 2_000_000
    r = live_server.post(token, raw)
    assert r.status_code == 413 and "too large" in r.json()["detail"]
    # Small on the wire, over the limit once decompressed: refused without inflating it all.
    r = live_server.post(token, gzip.compress(raw), headers={"Content-Encoding": "gzip"})
    assert r.status_code == 413
    bomb = gzip.compress(b'{"store_id": "' + b"a" * 50_000_000 + b'"}', 9)
    assert len(bomb) < 100_000
    r = live_server.post(token, bomb, headers={"Content-Encoding": "gzip"})
    assert r.status_code == 413
    assert count(live_server) == before


def test_bad_bodies_get_422_naming_the_field(live_server):
    token = live_server.new_kiosk()
    cases = [
        (b"{not json", ["body"]),
        (json.dumps(make_batch([make_event(i) for i in range(1, 1002)])), ["body", "events"]),
        (
            json.dumps({**make_batch([make_event(1)]), "clock": {"wall": "yesterday", "boot_id": "b", "monotonic": 1}}),
            ["body", "clock", "wall"],
        ),
        (json.dumps(make_batch([{**make_event(1), "seq": 0}])), ["body", "events", 0, "seq"]),
        (json.dumps(make_batch([{**make_event(1), "misuse": 1}])), ["body", "events", 0, "misuse"]),
        (json.dumps(make_batch([make_event(1, level=None)])), ["body", "events", 0, "level"]),
        (json.dumps(make_batch([{k: v for k, v in make_event(1).items() if k != "id"}])), ["body", "events", 0, "id"]),
    ]
    for body, loc in cases:
        r = live_server.post(token, body, headers={"Content-Type": "application/json"})
        assert r.status_code == 422, (loc, r.text)
        locs = [d["loc"] for d in r.json()["detail"]]
        assert loc in locs, (loc, locs)
    r = live_server.post(token, b"\x1f\x8b garbage", headers={"Content-Encoding": "gzip"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body"]
    r = live_server.post(token, b"{}", headers={"Content-Encoding": "br"})
    assert r.status_code == 415


def test_extra_event_fields_are_kept(live_server):
    token = live_server.new_kiosk("extras")
    ev = make_event(1, type="reason", reason="wait", answers={"q1": [1, 2]})
    check_ack(live_server.post(token, make_batch([ev])), stored=1)
    detail = count(live_server, "SELECT detail FROM events WHERE id = ?", [ev["id"]])
    assert json.loads(detail) == {"reason": "wait", "answers": {"q1": [1, 2]}}


def test_settings_etag_and_304(live_server):
    token = live_server.new_kiosk("settings-kiosk")
    url = f"{live_server.url}/api/v1/settings"
    auth = {"Authorization": f"Bearer {token}"}
    conn = dbmod.open_db(live_server.db_path)
    set_setting(conn, "kiosk.office", "嘉義市選舉委員會")
    r = requests.get(url, headers=auth, timeout=5)
    assert r.status_code == 200
    etag = r.headers["ETag"]
    assert r.json()["settings"]["kiosk.office"] == "嘉義市選舉委員會"
    assert r.json()["revision"] == int(etag.strip('"'))
    r2 = requests.get(url, headers={**auth, "If-None-Match": etag}, timeout=5)
    assert r2.status_code == 304 and r2.content == b""
    # A kiosk's own value overrides the global one and changes the ETag.
    kiosk_id = conn.execute("SELECT id FROM kiosks WHERE name = 'settings-kiosk'").fetchone()[0]
    set_setting(conn, "kiosk.office", "第二辦公室", kiosk_id=kiosk_id)
    conn.close()
    r3 = requests.get(url, headers={**auth, "If-None-Match": etag}, timeout=5)
    assert r3.status_code == 200 and r3.headers["ETag"] != etag
    assert r3.json()["settings"]["kiosk.office"] == "第二辦公室"


def test_the_fleet_sees_backlog_version_and_offset(live_server):
    token = live_server.new_kiosk("fleet-kiosk")
    batch = make_batch([make_event(1)], backlog=4210, wall="1970-01-01T00:12:03.120+00:00")
    check_ack(live_server.post(token, batch), acked_seq=1)
    conn = dbmod.open_db(live_server.db_path)
    from server_sync.collector.report import fleet

    row = next(r for r in fleet(conn) if r["kiosk"] == "fleet-kiosk")
    conn.close()
    assert row["backlog"] == 4210 and row["software_version"] == "0.1.0" and row["acked_seq"] == 1
    assert row["clock_offset"] > 1.7e9  # server minus a wall clock reading 1970
    assert row["last_seen"] is not None
