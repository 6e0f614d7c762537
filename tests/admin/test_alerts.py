"""Alert rules fire on events posted through the real ingest API, are delivered to a local
webhook receiver (which fails the first try: the worker retries) and a local SMTP server,
and stay on the dashboard until a manager acknowledges them with a note."""

from __future__ import annotations

import email
import email.policy
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from aiosmtpd.controller import Controller

from collector_helpers import free_port, make_batch, make_event, start_server, stop_server
from adminhelp import add_admins, cli, login

pytestmark = pytest.mark.slow


class Hook(BaseHTTPRequestHandler):
    received: list = []
    fail_first = True

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if Hook.fail_first:
            Hook.fail_first = False
            self.send_response(500)
            self.end_headers()
            return
        Hook.received.append(json.loads(body))
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


def wait_for(check, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("timed out waiting")


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    hook = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=hook.serve_forever, daemon=True).start()
    box = Mailbox()
    smtp = Controller(box, hostname="127.0.0.1", port=free_port())
    smtp.start()
    path = tmp_path_factory.mktemp("alerts") / "collector.db"
    cli(path, "kiosks")
    add_admins(path)
    for key, value in (("alerts.webhook_url", f"http://127.0.0.1:{hook.server_port}/hook"),
                       ("alerts.smtp_host", "127.0.0.1"), ("alerts.smtp_port", str(smtp.port)),
                       ("alerts.smtp_to", "head@office.example, duty@office.example"),
                       ("alerts.poll_seconds", "0.2"), ("alerts.retry_seconds", "0.3")):
        assert cli(path, "admin-setting", key, value).returncode == 0
    server = start_server(path)
    yield server, box
    stop_server(server)
    smtp.stop()
    hook.shutdown()


def post(server, token, events):
    r = server.post(token, make_batch(events, wall=events[0]["recorded_at"] if events else
                                      "2026-11-27T08:00:00+08:00"))
    assert r.status_code == 200, r.text


def test_rules_fire_deliver_and_stay_until_acknowledged(env):
    server, box = env
    url = server.url
    token = server.new_kiosk("counter-1")
    m = login(url, "mgr")
    # A happy rating raises nothing; a 非常不滿意 (level 5) raises an alert at once.
    post(server, token, [make_event(1, level=1, boot_id="b1", monotonic=10.0),
                         make_event(2, level=5, boot_id="b1", monotonic=20.0)])
    alerts = wait_for(lambda: requests.Session.get(m, f"{url}/admin/api/alerts", timeout=10).json())
    assert len(alerts) == 1 and alerts[0]["kind"] == "level" and "非常不滿意" in alerts[0]["summary"]
    first = alerts[0]["id"]
    # Webhook: the first POST got a 500, the worker retried; e-mail went to both recipients.
    hooked = wait_for(lambda: Hook.received)
    assert hooked[0]["alert"]["id"] == first and hooked[0]["alert"]["window"] == "1"
    mail = wait_for(lambda: box.messages)
    assert sorted(mail[0][0]) == ["duty@office.example", "head@office.example"]
    msg = email.message_from_string(mail[0][1], policy=email.policy.default)
    assert f"alert #{first}" in msg["Subject"] and "非常不滿意" in msg["Subject"]
    assert "處理說明" in msg.get_content()
    deliveries = wait_for(lambda: all(d["status"] == "sent" for d in
                                      m.get(f"{url}/admin/api/alerts", timeout=10).json()[0]["deliveries"])
                          and m.get(f"{url}/admin/api/alerts", timeout=10).json()[0]["deliveries"])
    webhook = [d for d in deliveries if d["channel"] == "webhook"][0]
    assert webhook["attempts"] == 2

    # A 非常不滿意 from last year, arriving only now in an offline kiosk's backlog, is history: no alert.
    post(server, token, [make_event(100, level=5, window="9", boot_id="old-boot",
                                    recorded_at="2025-05-05T10:00:00+08:00")])
    time.sleep(1.0)
    assert not [a for a in m.get(f"{url}/admin/api/alerts", timeout=10).json() if a["window"] == "9"]

    # Window rule: 4 ratings within 15 minutes at window 2, half unhappy (levels 4 and 5 of 5;
    # the level-5 one also raises its own single-rating alert).
    post(server, token, [make_event(3 + i, level=lv, window="2", boot_id="b1", monotonic=100.0 + 60 * i)
                         for i, lv in enumerate((1, 2, 4, 5))])
    alerts = wait_for(lambda: [a for a in m.get(f"{url}/admin/api/alerts", timeout=10).json()
                               if a["kind"] == "window_unhappy"])
    assert len(alerts) == 1 and "2/4" in alerts[0]["summary"] and alerts[0]["window"] == "2"
    window_alert = alerts[0]["id"]
    # Three of four unhappy within the same span does not alert the window a second time.
    post(server, token, [make_event(7, level=4, window="2", boot_id="b1", monotonic=400.0)])
    time.sleep(1.0)
    assert len([a for a in m.get(f"{url}/admin/api/alerts", timeout=10).json() if a["kind"] == "window_unhappy"]) == 1

    # They stay until acknowledged; the dashboard shows them.
    open_ids = {a["id"] for a in m.get(f"{url}/admin/api/alerts?open_only=true", timeout=10).json()}
    assert {first, window_alert} <= open_ids
    assert f"#{first}" in m.get(f"{url}/admin", timeout=30).text
    # An acknowledgement needs a note.
    r = m.post(f"{url}/admin/alerts/{first}/ack", data={"note": "  ", "csrf": m.csrf}, allow_redirects=False,
               timeout=10)
    assert "err=" in r.headers["location"]
    assert first in {a["id"] for a in m.get(f"{url}/admin/api/alerts?open_only=true", timeout=10).json()}
    note = "已致電民眾說明並改善叫號流程 called the visitor back"
    r = m.post(f"{url}/admin/alerts/{first}/ack", data={"note": note, "csrf": m.csrf}, allow_redirects=False,
               timeout=10)
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
    server, _ = env
    url = server.url
    m = login(url, "mgr")
    rules = m.get(f"{url}/admin/rules", timeout=10).text
    assert "silent" in rules or "未連線" in rules
    # Make the silent rule (the third default) strict: 0.001 h = 3.6 s.
    r = m.post(f"{url}/admin/rules/3", data={"name": "silent test", "params": '{"hours": 0.001}', "unit": "",
                                             "ch_webhook": "on", "enabled": "on", "csrf": m.csrf},
               allow_redirects=False, timeout=10)
    assert "err=" not in r.headers["location"], r.headers["location"]
    server.new_kiosk("quiet-one")  # never syncs
    alerts = wait_for(lambda: [a for a in m.get(f"{url}/admin/api/alerts", timeout=10).json()
                               if a["kind"] == "silent" and a["kiosk"] == "quiet-one"], timeout=30)
    assert len(alerts) == 1 and "quiet-one" in alerts[0]["summary"]
    fleet = {k["kiosk"]: k for k in m.get(f"{url}/admin/api/fleet", timeout=10).json()}
    assert fleet["quiet-one"]["silent"] is True
    # Bad rule parameters are refused with a message, nothing changes.
    r = m.post(f"{url}/admin/rules/3", data={"params": '{"hours": -1}', "csrf": m.csrf}, allow_redirects=False,
               timeout=10)
    assert "err=" in r.headers["location"]
