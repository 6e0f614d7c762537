"""Kiosk ⇄ real collector process on loopback: portal pages, cut-off acks, clocks, `kiosk sync --once`."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta

from faultproxy import FaultProxy
from synchelp import KIOSK_ID, fill, kiosk_ids, sync_config

from kiosk.clock import SimulatedClock
from kiosk.doctor import check_sync
from kiosk.outbox import KioskOutbox, StatusReader, sync_client
from kiosk.store import Store
from server_sync.client.outbox import iso
from server_sync.client.session import make_retry
from server_sync.client.status import status_line

PORTAL_ZH = "收到非預期的回應（可能是網路登入頁面）"
PORTAL_EN = "unexpected response (maybe a captive portal login page)"


def fast_client(url, token, data_dir, **kw):
    return sync_client(url, token, data_dir, timeout=(2, 5), retries=make_retry(total=2, backoff_factor=0.01), **kw)


def upstream(collector):
    return ("127.0.0.1", collector.port)


def test_captive_portal_leaves_events_pending_and_says_so(collector, data_dir):
    n = fill(data_dir, 50)
    with FaultProxy(upstream(collector), weights={"portal": 1}) as proxy:
        result = fast_client(proxy.url, collector.token, data_dir).run_round()
    assert proxy.forwarded == 0
    assert result.error is not None and not result.ok
    assert (result.error.zh, result.error.en) == (PORTAL_ZH, PORTAL_EN)
    assert result.pending == n and result.sent == 0
    status = StatusReader(data_dir).read()
    assert status.acked_seq == 0 and status.pending == n and status.failing
    assert (status.last_error_zh, status.last_error_en) == (PORTAL_ZH, PORTAL_EN)
    assert status_line(status, "zh-TW") == f"未能同步：{PORTAL_ZH} · 待同步 {n} 筆"
    assert status_line(status, "en") == f"Not synced: {PORTAL_EN} · {n} waiting to sync"
    assert collector.events() == []

    # The network is fixed: everything goes, and the line says so.
    assert fast_client(collector.url, collector.token, data_dir).run_round().ok
    status = StatusReader(data_dir).read()
    assert not status.failing and status.pending == 0
    assert status_line(status, "zh-TW").startswith("已同步 ") and status_line(status, "zh-TW").endswith(
        " · 待同步 0 筆"
    )
    assert status_line(status, "en").endswith(" · 0 waiting to sync")


def test_a_lost_ack_leaves_events_pending_and_the_retry_is_deduplicated(collector, data_dir):
    n = fill(data_dir, 100)
    with FaultProxy(upstream(collector), weights={"truncate": 1}) as proxy:
        result = fast_client(proxy.url, collector.token, data_dir).run_round()
    assert proxy.forwarded >= 1 and result.error is not None
    assert "broke off" in result.error.en
    assert result.pending == n  # the collector has them, but no ack said so
    assert len(collector.events()) == n
    result = fast_client(collector.url, collector.token, data_dir).run_round()
    assert result.ok and result.stored == 0 and result.duplicates == n
    assert sorted(e["id"] for e in collector.events()) == sorted(kiosk_ids(data_dir))


def test_a_kiosk_clock_at_1970_is_corrected_by_the_collector(collector, data_dir):
    clock = SimulatedClock(datetime(1970, 1, 1, tzinfo=UTC), boot_id="boot-1970")
    store = Store(data_dir, kiosk_id=KIOSK_ID, clock=clock)
    for _i in range(30):
        clock.advance(60)
        store.append("rating", level=1)
    now = datetime.now(UTC)
    clock.set_wall(now)  # NTP answers: the wall clock jumps, monotonic and boot id go on
    for _i in range(30):
        clock.advance(60)
        store.append("rating", level=2)
    store.close()

    client = fast_client(collector.url, collector.token, data_dir, clock=clock)
    result = client.run_round()
    assert result.ok
    events = {e["id"]: e for e in collector.events()}
    assert len(events) == 60
    early = [e for e in events.values() if e["recorded_at"].startswith("1970")]
    assert len(early) == 30
    received = datetime.now(UTC)
    # Each event lands where monotonic time puts it: minutes before the batch was sent.
    for e in events.values():
        corrected = datetime.fromisoformat(e["corrected_at"])
        assert received - timedelta(hours=2) < corrected <= received + timedelta(seconds=5), e
        assert not e.get("time_suspect")
    first = min(early, key=lambda e: e["monotonic"])
    last = max(events.values(), key=lambda e: e["monotonic"])
    gap = datetime.fromisoformat(last["corrected_at"]) - datetime.fromisoformat(first["corrected_at"])
    assert gap == timedelta(minutes=59)
    # The kiosk learnt how far its wall clock is off: the simulated clock ran 30 minutes ahead.
    assert abs(StatusReader(data_dir).read().clock_offset - (-1800)) < 5


def test_a_replaced_store_starts_again_under_a_new_store_id(collector, data_dir):
    fill(data_dir, 20)
    assert fast_client(collector.url, collector.token, data_dir).run_round().ok
    old_ids = set(kiosk_ids(data_dir))
    first_store = Store(data_dir, kiosk_id=KIOSK_ID)
    old_store_id = first_store.store_id
    first_store.close()
    (data_dir / "kiosk.db").write_bytes(b"\0garbage" * 4096)  # corrupt: moved aside at the next open
    fill(data_dir, 10)
    store = Store(data_dir, kiosk_id=KIOSK_ID)
    assert store.store_id != old_store_id and list(data_dir.glob("kiosk.db.corrupt-*"))
    assert [e.seq for e in store.events()][:3] == [1, 2, 3]
    store.close()
    result = fast_client(collector.url, collector.token, data_dir).run_round()
    assert result.ok and result.stored == 13  # store_recovered + 10 ratings + 2 reasons
    at_collector = {e["id"] for e in collector.events()}
    assert at_collector == old_ids | set(kiosk_ids(data_dir))


def test_settings_are_pulled_by_etag(collector, data_dir):
    fill(data_dir, 1)
    client = fast_client(collector.url, collector.token, data_dir)
    assert client.run_round().settings_changed
    collector.cli("set-setting", "kiosk.office", "嘉義市選舉委員會")
    result = client.run_round()
    assert result.settings_changed and result.settings_error is None
    assert not client.run_round().settings_changed  # 304 Not Modified
    with KioskOutbox(data_dir) as outbox:
        state = outbox.state()
    assert state["settings_etag"] and state["settings_revision"] >= 1
    assert '"kiosk.office": "嘉義市選舉委員會"' in state["settings_json"]


def test_a_wrong_token_is_reported_in_plain_words(collector, data_dir):
    n = fill(data_dir, 5)
    result = fast_client(collector.url, "not-a-token", data_dir).run_round()
    assert result.error.en == "the sync token is unknown or revoked" and result.pending == n


def _kiosk_sync(tmp_path, data_dir, url, token=None):
    config = tmp_path / "kiosk.toml"
    text = f'[kiosk]\nid = "{KIOSK_ID}"\n'
    if url:
        text += f'[sync]\nurl = "{url}"\n'
    config.write_text(text, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    if token:
        env["KIOSK_SYNC_TOKEN"] = token
    return subprocess.run(
        [sys.executable, "-m", "kiosk", "sync", "--once", "--config", str(config), "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


def test_kiosk_sync_once_exit_codes(collector, data_dir, tmp_path):
    n = fill(data_dir, 1500)  # 1,800 events: two batches
    out = _kiosk_sync(tmp_path, data_dir, "")
    assert out.returncode == 2 and "[sync] url" in out.stderr
    with FaultProxy(upstream(collector), weights={"portal": 1}) as proxy:
        out = _kiosk_sync(tmp_path, data_dir, proxy.url, collector.token)
    assert out.returncode == 1
    assert PORTAL_ZH in out.stderr and PORTAL_EN in out.stderr and f"待同步 {n} 筆" in out.stderr
    out = _kiosk_sync(tmp_path, data_dir, collector.url, collector.token)
    assert out.returncode == 0, out.stderr
    assert "nothing pending" in out.stdout and f"{n} sent" in out.stdout
    assert len(collector.events()) == n
    out = _kiosk_sync(tmp_path, data_dir, collector.url, collector.token)
    assert out.returncode == 0 and "0 sent" in out.stdout


def test_doctor_fails_when_events_wait_over_an_hour_after_errors(collector, data_dir):
    n = fill(data_dir, 10)
    config = sync_config(collector.url, collector.token)
    check = check_sync(config, data_dir)
    assert check.ok and f"pending 待同步 {n}" in check.message and "never" in check.message

    with FaultProxy(upstream(collector), weights={"portal": 1}) as proxy:
        fast_client(proxy.url, collector.token, data_dir).run_round()
    check = check_sync(config, data_dir)
    assert check.ok, "an error a moment ago is not yet a problem"
    assert PORTAL_EN in check.message

    with sqlite3.connect(data_dir / "kiosk.db") as conn:
        conn.execute("UPDATE sync_state SET pending_since=?", [iso(datetime.now(UTC) - timedelta(hours=2))])
    check = check_sync(config, data_dir)
    assert not check.ok
    assert "not reaching the collector" in check.message and PORTAL_ZH in check.message

    assert fast_client(collector.url, collector.token, data_dir).run_round().ok
    check = check_sync(config, data_dir)
    assert check.ok and "pending 待同步 0" in check.message and "clock offset" in check.message

    assert not check_sync(sync_config(collector.url, ""), data_dir).ok
    assert check_sync(sync_config("", ""), data_dir).ok


def test_with_nothing_pending_a_heartbeat_still_has_to_reach_the_collector(collector, data_dir, tmp_path):
    import json

    fill(data_dir, 3)
    assert fast_client(collector.url, collector.token, data_dir).run_round().ok
    before = json.loads(collector.cli("kiosks", "--format", "json").splitlines()[0])

    # Nothing pending, collector unreachable: not a success, and the status line says why.
    with FaultProxy(upstream(collector), weights={"drop": 1}) as proxy:
        result = fast_client(proxy.url, collector.token, data_dir).run_round()
    assert result.error is not None and result.pending == 0 and not result.ok
    assert StatusReader(data_dir).read().failing
    out = _kiosk_sync(tmp_path, data_dir, f"http://127.0.0.1:{proxy.port}", collector.token)
    assert out.returncode == 1 and "cannot reach the collector" in out.stderr

    # Reachable again: an empty batch refreshes the kiosk's last seen at the collector.
    result = fast_client(collector.url, collector.token, data_dir).run_round()
    assert result.ok and result.batches == 0 and result.clock_offset is not None
    after = json.loads(collector.cli("kiosks", "--format", "json").splitlines()[0])
    assert after["last_seen"] > before["last_seen"] and after["backlog"] == 0 and after["acked_seq"] == 3
    assert not StatusReader(data_dir).read().failing
