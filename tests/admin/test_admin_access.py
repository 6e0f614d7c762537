"""Who may do what on a real collector process: anonymous gets nothing, a viewer cannot do a
manager's action, every state-changing request needs the session's CSRF token, and every
manager action lands in the audit log."""

from __future__ import annotations

import io
import re

import pytest
import requests
from adminhelp import PASSWORDS, cli, csrf_of, login, post_login
from pypdf import PdfReader

pytestmark = pytest.mark.slow


def test_anonymous_gets_nothing(admin_server):
    url = admin_server.url
    for path in (
        "/admin",
        "/admin/alerts",
        "/admin/fleet",
        "/admin/rules",
        "/admin/settings",
        "/admin/audit",
        "/admin/self-evaluation",
    ):
        r = requests.get(url + path, allow_redirects=False, timeout=10)
        assert r.status_code == 303 and r.headers["location"].startswith("/admin/login"), path
    for path in (
        "/admin/api/dashboard",
        "/admin/api/alerts",
        "/admin/api/fleet",
        "/admin/export/levels.csv",
        "/admin/export/all.xlsx",
        "/admin/self-evaluation.pdf",
        "/admin/self-evaluation.xlsx",
    ):
        r = requests.get(url + path, timeout=10)
        assert r.status_code == 401 and "log in" in r.json()["detail"], path
    for path in ("/admin/rules", "/admin/rules/1", "/admin/alerts/1/ack", "/admin/settings", "/admin/fleet/add"):
        assert requests.post(url + path, data={"csrf": "x"}, timeout=10).status_code == 401, path
    # A forged session cookie is no session.
    r = requests.get(url + "/admin/api/dashboard", cookies={"kc_session": "forged"}, timeout=10)
    assert r.status_code == 401


def test_login_cookie_flags_and_wrong_password(admin_server):
    url = admin_server.url
    s = requests.Session()
    page = s.get(f"{url}/admin/login", timeout=10)
    bad = post_login(s, url, "mgr", "wrong-password!", csrf_of(page.text))
    assert bad.status_code == 303 and "err=1" in bad.headers["location"] and "kc_session" not in s.cookies
    # The login form itself is CSRF-protected (double-submit cookie).
    r = post_login(requests, url, "mgr", PASSWORDS["mgr"], "x")
    assert r.status_code == 403
    page = s.get(f"{url}/admin/login", timeout=10)
    ok = post_login(s, url, "mgr", PASSWORDS["mgr"], csrf_of(page.text))
    cookie = ok.headers["set-cookie"]
    assert "kc_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax")


def test_csrf_is_enforced_on_every_state_change(admin_server):
    url = admin_server.url
    s = login(url, "mgr")
    form = {"kind": "silent", "name": "csrf probe", "params": '{"hours": 5}', "ch_webhook": "on"}
    for token in (None, "", "not-the-token"):
        data = dict(form) if token is None else {**form, "csrf": token}
        r = s.post(f"{url}/admin/rules", data=data, allow_redirects=False, timeout=10)
        assert r.status_code == 403 and "CSRF" in r.text
    assert "csrf probe" not in s.get(f"{url}/admin/rules", timeout=10).text
    r = s.post(f"{url}/admin/rules", data={**form, "csrf": s.csrf}, allow_redirects=False, timeout=10)
    assert r.status_code == 303
    assert "csrf probe" in s.get(f"{url}/admin/rules", timeout=10).text
    # Another user's token does not do either.
    v = login(url, "viewer")
    r = s.post(f"{url}/admin/settings", data={"report.min_n": "31", "csrf": v.csrf}, allow_redirects=False, timeout=10)
    assert r.status_code == 403


def min_n_setting(m: requests.Session, url: str) -> str:
    return re.search(r'name="report.min_n" value="([^"]*)"', m.get(f"{url}/admin/settings", timeout=10).text).group(1)


def test_viewer_reads_but_cannot_act(admin_server):
    url = admin_server.url
    m = login(url, "mgr")
    min_n = min_n_setting(m, url)  # whatever another test here set it to
    v = login(url, "viewer")
    assert v.get(f"{url}/admin/api/dashboard", timeout=30).status_code == 200
    assert v.get(f"{url}/admin/export/levels.csv", timeout=30).status_code == 200
    for path, data in (
        ("/admin/rules", {"kind": "silent", "params": "{}"}),
        ("/admin/rules/1", {"params": "{}"}),
        ("/admin/settings", {"report.min_n": "5"}),
        ("/admin/fleet/add", {"name": "sneaky"}),
        ("/admin/alerts/1/ack", {"note": "x"}),
        ("/admin/fleet/x/revoke", {}),
    ):
        r = v.post(url + path, data={**data, "csrf": v.csrf}, allow_redirects=False, timeout=10)
        assert r.status_code == 403 and "manager" in r.text, path
    assert v.get(f"{url}/admin/audit", timeout=10).status_code == 403
    assert v.get(f"{url}/admin/export/audit.csv", timeout=10).status_code == 403
    # Nothing the viewer tried happened.
    assert "sneaky" not in m.get(f"{url}/admin/fleet", timeout=10).text
    assert min_n_setting(m, url) == min_n


def test_manager_actions_are_audited(admin_server):
    url = admin_server.url
    m = login(url, "mgr")
    r = m.post(
        f"{url}/admin/settings",
        data={"report.min_n": "25", "alerts.smtp_port": "2525", "csrf": m.csrf},
        allow_redirects=False,
        timeout=10,
    )
    assert r.status_code == 303 and "err" not in r.headers["location"]
    r = m.post(
        f"{url}/admin/settings", data={"report.min_n": "many", "csrf": m.csrf}, allow_redirects=False, timeout=10
    )
    assert "err=" in r.headers["location"]  # refused with a message naming the setting
    added = m.post(f"{url}/admin/fleet/add", data={"name": "lobby", "levels": "3", "csrf": m.csrf}, timeout=30)
    token = added.text.split('id="new-token">')[1].split("<")[0]
    assert len(token) > 30
    # The token printed once works for the kiosk API.
    assert requests.get(f"{url}/api/v1/settings", headers={"Authorization": f"Bearer {token}"}, timeout=10).ok
    m.post(f"{url}/admin/fleet/lobby/revoke", data={"csrf": m.csrf}, timeout=10)
    assert (
        requests.get(f"{url}/api/v1/settings", headers={"Authorization": f"Bearer {token}"}, timeout=10).status_code
        == 401
    )
    audit = m.get(f"{url}/admin/audit", timeout=10).text
    for action in ("change_settings", "add_kiosk", "revoke_kiosk", "login", "add_user"):
        assert action in audit, action
    assert "report.min_n" in audit and "lobby" in audit
    csv_text = m.get(f"{url}/admin/export/audit.csv", timeout=10).content.decode("utf-8-sig")
    assert "revoke_kiosk" in csv_text and "mgr" in csv_text


def test_self_evaluation_pdf_and_xlsx(admin_server):
    url = admin_server.url
    m = login(url, "viewer")
    pdf = m.get(f"{url}/admin/self-evaluation.pdf?year=2026", timeout=60)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "年度服務滿意度自評表" in text and "去年" in text and "增減" in text
    xlsx = m.get(f"{url}/admin/self-evaluation.xlsx?year=2026", timeout=60)
    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(xlsx.content))
    assert wb.sheetnames[0] == "self-evaluation"
    assert [c.value for c in wb["self-evaluation"][2]][:4] == [
        "項目 item",
        "去年 previous year (2025)",
        "今年 this year (2026)",
        "增減 change",
    ]


def test_add_admin_cli_refuses_bad_input(admin_server):
    r = cli(admin_server.db_path, "add-admin", "mgr", "--password-stdin", stdin="another-password\n")
    assert r.returncode != 0 and "already exists" in r.stderr
    r = cli(admin_server.db_path, "add-admin", "shorty", "--password-stdin", stdin="short\n")
    assert r.returncode != 0 and "at least 10" in r.stderr
    r = cli(admin_server.db_path, "admin-setting", "report.min_n", "abc")
    assert r.returncode != 0 and "report.min_n" in r.stderr


def test_an_unknown_admin_address_gets_the_readable_page(admin_server):
    url = admin_server.url
    v = login(url, "viewer")
    r = v.get(f"{url}/admin/no-such-page", headers={"Accept": "text/html"}, timeout=10)
    assert r.status_code == 404 and "<html" in r.text.lower() and 'lang="zh-Hant' in r.text
    api = v.get(f"{url}/api/v1/no-such-thing", timeout=10)
    assert api.status_code == 404 and api.headers["content-type"].startswith("application/json")
