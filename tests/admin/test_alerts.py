"""Alert rules fire on events posted through the real ingest API, are delivered to a local
webhook receiver (which fails the first try: the worker retries) and a local SMTP server,
and stay on the dashboard until a manager acknowledges them with a note.

Every test has its own collector, webhook receiver and mailbox; events are stamped from the
clock the collector itself reads, so "recent" holds on any day."""

from __future__ import annotations

import email
import email.policy
import json
import sqlite3
import threading
import time
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from adminhelp import add_admins, cli, login
from aiosmtpd.controller import Controller
from collector_helpers import free_port, iso_at, make_batch, make_event, start_server, stop_server
from fastapi.testclient import TestClient
from waiting import wait_until

from server_sync.collector import alerts
from server_sync.collector import db as dbmod
from server_sync.collector.api import create_app
from server_sync.collector.auth import add_kiosk

pytestmark = pytest.mark.slow


DAY = 86400.0


class HookServer(ThreadingHTTPServer):
    """A webhook receiver whose first POST fails; what it took is on the instance, not shared."""

    def __init__(self):
        super().__init__(("127.0.0.1", 0), Hook)
        self.received: list = []
        self.fail_first = True


class Hook(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.server.fail_first:
            self.server.fail_first = False
            self.send_response(500)
            self.end_headers()
            return
        self.server.received.append(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


class Mailbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.rcpt_tos, envelope.content.decode("utf-8", "replace")))
        return "250 OK"


def evaluated(db_path) -> bool:
    """The alert worker has looked at every stored event (its watermark is at the newest)."""
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        mark, top = conn.execute(
            "SELECT (SELECT CAST(value AS INTEGER) FROM admin_meta WHERE key = 'alerts_pk'),"
            " (SELECT coalesce(max(pk), 0) FROM events)"
        ).fetchone()
    finally:
        conn.close()
    return mark >= top


@pytest.fixture
def env(tmp_path):
    hook = HookServer()
    threading.Thread(target=hook.serve_forever, daemon=True).start()
    box = Mailbox()
    smtp = Controller(box, hostname="127.0.0.1", port=free_port())
    smtp.start()
    path = tmp_path / "collector.db"
    cli(path, "kiosks")
    add_admins(path)
    for key, value in (
        ("alerts.webhook_url", f"http://127.0.0.1:{hook.server_port}/hook"),
        ("alerts.smtp_host", "127.0.0.1"),
        ("alerts.smtp_port", str(smtp.port)),
        ("alerts.smtp_to", "head@office.example, duty@office.example"),
        ("alerts.poll_seconds", "0.2"),
        ("alerts.retry_seconds", "0.3"),
    ):
        assert cli(path, "admin-setting", key, value).returncode == 0
    server = start_server(path)
    yield server, box, hook
    stop_server(server)
    smtp.stop()
    hook.shutdown()


def post(server, token, events):
    r = server.post(token, make_batch(events, wall=events[0]["recorded_at"] if events else None))
    assert r.status_code == 200, r.text


def test_rules_fire_deliver_and_stay_until_acknowledged(env):
    server, box, hook = env
    url = server.url
    token = server.new_kiosk("counter-1", unit="第一組", window="1")
    # A kiosk serves one window: windows 2 and 9 are kiosks of their own.
    token2 = server.new_kiosk("counter-2", unit="第一組", window="2")
    token9 = server.new_kiosk("counter-9", unit="第一組", window="9")
    m = login(url, "mgr")
    # A happy rating raises nothing; a 非常不滿意 (level 5) raises an alert at once.
    post(
        server,
        token,
        [make_event(1, level=1, boot_id="b1", monotonic=10.0), make_event(2, level=5, boot_id="b1", monotonic=20.0)],
    )
    alerts = wait_until(
        lambda: requests.Session.get(m, f"{url}/admin/api/alerts", timeout=10).json(), what="the level-5 alert"
    )
    assert len(alerts) == 1 and alerts[0]["kind"] == "level" and "非常不滿意" in alerts[0]["summary"]
    first = alerts[0]["id"]
    # Webhook: the first POST got a 500, the worker retried; e-mail went to both recipients.
    hooked = wait_until(lambda: hook.received, what="the webhook retry")
    assert hooked[0]["alert"]["id"] == first and hooked[0]["alert"]["window"] == "1"
    mail = wait_until(lambda: box.messages, what="the alert e-mail")
    assert sorted(mail[0][0]) == ["duty@office.example", "head@office.example"]
    msg = email.message_from_string(mail[0][1], policy=email.policy.default)
    assert f"alert #{first}" in msg["Subject"] and "非常不滿意" in msg["Subject"]
    assert "處理說明" in msg.get_content()
    deliveries = wait_until(
        lambda: (
            all(d["status"] == "sent" for d in m.get(f"{url}/admin/api/alerts", timeout=10).json()[0]["deliveries"])
            and m.get(f"{url}/admin/api/alerts", timeout=10).json()[0]["deliveries"]
        ),
        what="both deliveries sent",
    )
    webhook = [d for d in deliveries if d["channel"] == "webhook"][0]
    assert webhook["attempts"] == 2

    # A 非常不滿意 from last year, arriving only now in an offline kiosk's backlog, is history: no alert.
    post(
        server,
        token9,
        [make_event(100, level=5, window="9", boot_id="old-boot", recorded_at=iso_at(time.time() - 300 * DAY))],
    )
    wait_until(lambda: evaluated(server.db_path), what="the worker to evaluate the backlog")
    assert not [a for a in m.get(f"{url}/admin/api/alerts", timeout=10).json() if a["window"] == "9"]

    # Window rule: 4 ratings within 15 minutes at window 2, half unhappy (levels 4 and 5 of 5;
    # the level-5 one also raises its own single-rating alert).
    post(
        server,
        token2,
        [
            make_event(3 + i, level=lv, window="2", boot_id="b1", monotonic=100.0 + 60 * i)
            for i, lv in enumerate((1, 2, 4, 5))
        ],
    )
    alerts = wait_until(
        lambda: [a for a in m.get(f"{url}/admin/api/alerts", timeout=10).json() if a["kind"] == "window_unhappy"],
        what="the window alert",
    )
    assert len(alerts) == 1 and "2/4" in alerts[0]["summary"] and alerts[0]["window"] == "2"
    window_alert = alerts[0]["id"]
    # Three of four unhappy within the same span does not alert the window a second time.
    post(server, token2, [make_event(7, level=4, window="2", boot_id="b1", monotonic=400.0)])
    wait_until(lambda: evaluated(server.db_path), what="the worker to evaluate the fifth rating")
    assert len([a for a in m.get(f"{url}/admin/api/alerts", timeout=10).json() if a["kind"] == "window_unhappy"]) == 1

    # They stay until acknowledged; the dashboard shows them.
    open_ids = {a["id"] for a in m.get(f"{url}/admin/api/alerts?open_only=true", timeout=10).json()}
    assert {first, window_alert} <= open_ids
    assert f"#{first}" in m.get(f"{url}/admin", timeout=30).text
    # An acknowledgement needs a note.
    r = m.post(
        f"{url}/admin/alerts/{first}/ack", data={"note": "  ", "csrf": m.csrf}, allow_redirects=False, timeout=10
    )
    assert "err=" in r.headers["location"]
    assert first in {a["id"] for a in m.get(f"{url}/admin/api/alerts?open_only=true", timeout=10).json()}
    note = "已致電民眾說明並改善叫號流程 called the visitor back"
    r = m.post(
        f"{url}/admin/alerts/{first}/ack", data={"note": note, "csrf": m.csrf}, allow_redirects=False, timeout=10
    )
    assert r.status_code == 303 and "err=" not in r.headers["location"]
    alerts = {a["id"]: a for a in m.get(f"{url}/admin/api/alerts", timeout=10).json()}
    assert alerts[first]["ack_by"] == "mgr" and alerts[first]["ack_note"] == note and alerts[first]["ack_at"]
    assert alerts[window_alert]["ack_at"] is None
    assert first not in {a["id"] for a in m.get(f"{url}/admin/api/alerts?open_only=true", timeout=10).json()}
    # The complaint-handling record is in the export and in the audit log.
    exported = m.get(f"{url}/admin/export/alerts.csv", timeout=10).content.decode("utf-8-sig")
    assert note in exported
    assert "acknowledge_alert" in m.get(f"{url}/admin/audit", timeout=10).text


def test_silent_kiosk_raises_an_alert(env):
    server, _, _ = env
    url = server.url
    m = login(url, "mgr")
    rules = m.get(f"{url}/admin/rules", timeout=10).text
    assert "silent" in rules or "未連線" in rules
    # Make the silent rule (the third default) strict: 0.001 h = 3.6 s.
    r = m.post(
        f"{url}/admin/rules/3",
        data={
            "name": "silent test",
            "params": '{"hours": 0.001}',
            "unit": "",
            "ch_webhook": "on",
            "enabled": "on",
            "csrf": m.csrf,
        },
        allow_redirects=False,
        timeout=10,
    )
    assert "err=" not in r.headers["location"], r.headers["location"]
    server.new_kiosk("quiet-one")  # never syncs
    alerts = wait_until(
        lambda: [
            a
            for a in m.get(f"{url}/admin/api/alerts", timeout=10).json()
            if a["kind"] == "silent" and a["kiosk"] == "quiet-one"
        ],
        timeout=30,
        what="the silent-kiosk alert",
    )
    assert len(alerts) == 1 and "quiet-one" in alerts[0]["summary"]
    fleet = {k["kiosk"]: k for k in m.get(f"{url}/admin/api/fleet", timeout=10).json()}
    assert fleet["quiet-one"]["silent"] is True
    # Bad rule parameters are refused with a message, nothing changes.
    r = m.post(
        f"{url}/admin/rules/3", data={"params": '{"hours": -1}', "csrf": m.csrf}, allow_redirects=False, timeout=10
    )
    assert "err=" in r.headers["location"]


def test_a_ratings_age_is_judged_by_the_collectors_clock(tmp_path):
    """The worker reads the collector's injected clock, not the machine's: with that clock 40 days
    ahead, a rating from the collector's last hour alerts; one from its yesterday, or from the
    machine's own now, is a backlog and does not; and the kiosk, added at the machine's now, is silent."""
    now = time.time() + 40 * DAY
    path = tmp_path / "collector.db"
    conn = dbmod.open_db(path)
    token = add_kiosk(conn, "w1")
    conn.close()

    def raised() -> list[dict]:
        c = dbmod.connect(path)
        try:
            return alerts.list_alerts(c)
        finally:
            c.close()

    fresh = make_event(1, level=5, window="1", boot_id="b1", clock=lambda: now - 3600)
    stale = make_event(2, level=5, window="2", boot_id="b1", clock=lambda: now - 25 * 3600)
    machine = make_event(3, level=5, window="3", boot_id="b1")
    with TestClient(create_app(path, clock=lambda: now)) as client:
        r = client.post(
            "/api/v1/events",
            json=make_batch([fresh, stale, machine], clock=lambda: now),
            headers={"Authorization": f"Bearer {token}"},
        )
        assert r.status_code == 200, r.text
        got = wait_until(
            lambda: evaluated(path) and {a["kind"] for a in raised()} == {"level", "silent"} and raised(),
            what="the batch evaluated and the silence noticed",
        )
    assert [a["window"] for a in got if a["kind"] == "level"] == ["1"]
    assert [a["kiosk"] for a in got if a["kind"] == "silent"] == ["w1"]
    assert all(datetime.fromisoformat(a["raised_at"]).timestamp() == pytest.approx(now, abs=1) for a in got)
