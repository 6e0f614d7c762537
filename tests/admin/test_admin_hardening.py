"""The admin pages and exports against an attacker, on a real collector process (issue 11, points 1, 7,
9, 10, 11): kiosk text never becomes a spreadsheet formula, every response carries the security
headers, banners show only what the server chose, secrets stay with managers (masked), the session
cookie is Secure behind a TLS proxy, and `serve` warns when it listens beyond loopback without one."""

from __future__ import annotations

import csv
import io
import re
import time
import zipfile
from pathlib import Path

import pytest
import requests
from adminhelp import DASHBOARD_TABLES, PASSWORDS, add_admins, cli, csrf_of, login
from collector_helpers import make_batch, make_event, start_server, stop_server
from pypdf import PdfReader

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
SERVICES_CSV = (ROOT / "assets" / "services.zh-TW.csv").read_bytes()

HYPERLINK = '=HYPERLINK("http://x","click")'
SUM = "@SUM(1+1)"
CMD = "+cmd|' /C calc'!A0"
DASH = "-2+3"
TAB = "\t=1+1"
UPLOAD_NAME = "=SUM(1+1).csv"  # an upload's file name reaches the audit log (no "/" : it is a path)
TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
WEBHOOK = "https://hooks.example.com/services/T0001/B0002/SECRETKEY42"


def _server(folder: Path, *extra: str):
    folder.mkdir(exist_ok=True)
    path = folder / "collector.db"
    cli(path, "kiosks")
    add_admins(path)
    return start_server(path, *extra)


@pytest.fixture
def server(tmp_path):
    s = _server(tmp_path)
    yield s
    stop_server(s)


def _post_poisoned_events(server) -> None:
    """Ratings and a follow-up reason whose every text field is a formula, from a real kiosk token."""
    token = server.new_kiosk("k-formula")
    now = time.time()
    events = []
    for seq, (unit, window, service) in enumerate(
        ((HYPERLINK, SUM, CMD), (SUM, CMD, HYPERLINK), (CMD, DASH, TAB)), start=1
    ):
        events.append(make_event(seq, level=5, unit=unit, window=window, service=service, clock=lambda: now))
    events.append(
        make_event(
            4, type="reason", level=5, unit=HYPERLINK, window=SUM, ref=events[0]["id"], reason=CMD, clock=lambda: now
        )
    )
    batch = make_batch(events, clock=lambda: now)
    batch["software_version"] = HYPERLINK
    r = server.post(token, batch)
    assert r.status_code == 200, r.text


def _csv_cells(body: bytes) -> list[str]:
    text = body.decode("utf-8-sig")
    return [c for row in csv.reader(io.StringIO(text, newline="")) for c in row]


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _xlsx_texts(body: bytes) -> list[str]:
    """Every text cell of every sheet, read from the saved file's XML; no sheet may hold a formula."""
    texts = []
    with zipfile.ZipFile(io.BytesIO(body)) as z:
        for name in z.namelist():
            if name.startswith("xl/worksheets/sheet"):
                xml = z.read(name).decode("utf-8")
                assert "<f>" not in xml and "<f " not in xml, f"a formula in {name}"
                texts += [
                    re.sub(
                        r"&(quot|amp|apos|lt|gt);",
                        lambda m: {"quot": '"', "amp": "&", "apos": "'", "lt": "<", "gt": ">"}[m.group(1)],
                        t,
                    )
                    for t in re.findall(r"<t[^>]*>(.*?)</t>", xml, flags=re.S)
                ]
            if name == "xl/sharedStrings.xml":
                texts += re.findall(r"<t[^>]*>(.*?)</t>", z.read(name).decode("utf-8"), flags=re.S)
    return texts


def test_no_export_holds_a_formula(server):
    _post_poisoned_events(server)
    m = login(server.url, "mgr")
    # An upload whose file name is a formula lands in the audit log.
    r = m.post(
        f"{server.url}/admin/services",
        data={"csrf": m.csrf},
        files={"file": (UPLOAD_NAME, SERVICES_CSV, "text/csv")},
        allow_redirects=False,
        timeout=30,
    )
    assert r.status_code == 303, r.text
    payloads = (HYPERLINK, SUM, CMD, DASH, TAB, UPLOAD_NAME)
    csv_cells, xlsx_texts = [], []
    tables = (*DASHBOARD_TABLES, "fleet", "alerts", "audit")
    for name in tables:
        r = m.get(f"{server.url}/admin/export/{name}.csv", params={"all": "1"}, timeout=30)
        assert r.status_code == 200, (name, r.text)
        csv_cells += _csv_cells(r.content)
    for name in ("all", "fleet", "alerts", "audit"):
        r = m.get(f"{server.url}/admin/export/{name}.xlsx", params={"all": "1"}, timeout=60)
        assert r.status_code == 200, (name, r.text)
        xlsx_texts += _xlsx_texts(r.content)
    year = time.localtime().tm_year
    r = m.get(f"{server.url}/admin/self-evaluation.xlsx", params={"year": year}, timeout=60)
    assert r.status_code == 200
    xlsx_texts += _xlsx_texts(r.content)

    for cell in csv_cells + xlsx_texts:
        assert not cell.startswith(TRIGGERS) or _is_number(cell), f"a live formula: {cell!r}"
    # What the kiosk and the upload sent is still there, made inert: a leading quote.
    assert "'" + HYPERLINK in csv_cells and "'" + HYPERLINK in xlsx_texts  # the software version (fleet)
    assert "'" + UPLOAD_NAME in csv_cells and "'" + UPLOAD_NAME in xlsx_texts  # the audit log
    for p in payloads:
        assert p not in csv_cells and p not in xlsx_texts
    # CSV quotes every text cell, so a cell cannot spill into the next ones.
    fleet = m.get(f"{server.url}/admin/export/fleet.csv", timeout=30).content.decode("utf-8-sig")
    assert '"\'=HYPERLINK(""http://x"",""click"")"' in fleet
    # Numbers stay numbers: the levels table's counts are bare in CSV.
    levels = m.get(f"{server.url}/admin/export/levels.csv", params={"all": "1"}, timeout=30).content
    assert re.search(rb"\r\n5,\d+,", levels), levels


def test_the_self_evaluation_pdf_shows_the_unit_inert(server):
    m = login(server.url, "mgr")
    r = m.get(f"{server.url}/admin/self-evaluation.pdf", params={"unit": SUM}, timeout=120)
    assert r.status_code == 200
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(r.content)).pages)
    assert "'" + SUM in text


def test_the_report_command_csv_is_inert(server):
    _post_poisoned_events(server)
    out = cli(server.db_path, "report", "--group-by", "unit", "--format", "csv")
    assert out.returncode == 0, out.stderr
    cells = [c for row in csv.reader(io.StringIO(out.stdout)) for c in row]
    assert "'" + HYPERLINK in cells and HYPERLINK not in cells
    assert all(not c.startswith(TRIGGERS) or _is_number(c) or c == "-" for c in cells), cells


# -- point 7: security headers, no anonymous API docs -----------------------------------------------


def _assert_secure_headers(r: requests.Response) -> None:
    h = r.headers
    csp = h.get("content-security-policy", "")
    assert "frame-ancestors 'none'" in csp and "default-src 'none'" in csp, (r.url, csp)
    assert "script-src" not in csp and "unsafe-inline" not in csp, (r.url, csp)
    assert h.get("x-frame-options") == "DENY", r.url
    assert h.get("x-content-type-options") == "nosniff", r.url
    assert h.get("referrer-policy") in ("no-referrer", "same-origin"), r.url


def test_every_response_carries_the_security_headers(server):
    url = server.url
    anonymous = [
        requests.get(url + p, allow_redirects=False, timeout=10)
        for p in (
            "/admin/login",
            "/admin",
            "/admin/static/admin.css",
            "/api/v1/health",
            "/openapi.json",
            "/admin/api/dashboard",
            "/nowhere",
            "/api/v1/settings",
        )
    ]
    anonymous.append(requests.post(url + "/api/v1/events", json={}, timeout=10))
    m = login(url, "mgr")
    pages = [
        m.get(url + p, timeout=30)
        for p in (
            "/admin",
            "/admin/fleet",
            "/admin/settings",
            "/admin/alerts",
            "/admin/rules",
            "/admin/services",
            "/admin/self-evaluation",
            "/admin/export/levels.csv",
            "/admin/api/fleet",
        )
    ]
    assert [r.status_code for r in pages] == [200] * len(pages)
    for r in anonymous + pages:
        _assert_secure_headers(r)
    # The pages need nothing the policy forbids: no script, no inline style.
    for r in pages[:7]:
        assert "<script" not in r.text and "style=" not in r.text, r.url


def test_api_docs_are_off_by_default_and_for_administrators_when_on(server, tmp_path):
    for path in ("/docs", "/redoc", "/docs/oauth2-redirect", "/admin/api-docs"):
        assert requests.get(server.url + path, allow_redirects=False, timeout=10).status_code == 404, path
    assert requests.get(server.url + "/openapi.json", timeout=10).json()["paths"]
    on = _server(tmp_path / "docs", "--api-docs")
    try:
        r = requests.get(on.url + "/admin/api-docs", allow_redirects=False, timeout=10)
        assert r.status_code == 303 and r.headers["location"].startswith("/admin/login")
        assert requests.get(on.url + "/docs", timeout=10).status_code == 404
        page = login(on.url, "viewer").get(on.url + "/admin/api-docs", timeout=10)
        assert page.status_code == 200 and "swagger-ui" in page.text and "/openapi.json" in page.text
        csp = page.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "'sha256-" in csp and "script-src https://cdn.jsdelivr.net" in csp
        assert page.headers["x-frame-options"] == "DENY"
    finally:
        stop_server(on)


# -- point 9: banners only say what the server chose ------------------------------------------------


def test_banners_show_only_server_texts(server):
    url = server.url
    forged = "系統已遭入侵，請撥 0800-000-000 Call this number now"
    m = login(url, "mgr")
    for path in ("/admin/settings", "/admin/alerts", "/admin/rules", "/admin/fleet", "/admin/services"):
        r = m.get(url + path, params={"msg": forged, "err": forged}, timeout=30)
        assert r.status_code == 200 and "0800-000-000" not in r.text, path
        assert 'class="msg"' not in r.text and 'class="err" role="alert"' not in r.text, path
    # A refused setting redirects with a key, and that page shows the server's own text.
    r = m.post(
        f"{url}/admin/settings", data={"csrf": m.csrf, "report.min_n": "zero"}, allow_redirects=False, timeout=30
    )
    location = r.headers["location"]
    assert r.status_code == 303 and "err=" in location and "report.min_n" not in location
    page = m.get(url + location, timeout=30)
    assert 'role="alert">report.min_n' in page.text
    # The same key on another page, or a made-up one, is just text nobody kept.
    key = re.search(r"err=([^&]+)", location).group(1)
    assert 'role="alert"' not in m.get(f"{url}/admin/settings", params={"err": key + "x"}, timeout=30).text
    ok = m.post(f"{url}/admin/settings", data={"csrf": m.csrf, "report.min_n": "30"}, allow_redirects=False, timeout=30)
    assert "已儲存 saved" in m.get(url + ok.headers["location"], timeout=30).text


# -- point 10: secrets are managers' only, masked --------------------------------------------------


def test_secret_settings_are_masked_for_managers_and_hidden_from_viewers(server):
    url = server.url
    m = login(url, "mgr")
    r = m.post(
        f"{url}/admin/settings",
        data={"csrf": m.csrf, "alerts.webhook_url": WEBHOOK, "alerts.smtp_user": "mailer-login"},
        allow_redirects=False,
        timeout=30,
    )
    assert r.status_code == 303 and "err=" not in r.headers["location"]
    v = login(url, "viewer")
    for path in (
        "/admin/settings",
        "/admin/alerts",
        "/admin",
        "/admin/api/alerts",
        "/admin/api/fleet",
        "/admin/api/dashboard",
    ):
        body = v.get(url + path, timeout=30).text
        assert "SECRETKEY42" not in body and "hooks.example.com" not in body and "mailer-login" not in body, path
    assert "已設定 set" in v.get(f"{url}/admin/settings", timeout=30).text
    page = m.get(f"{url}/admin/settings", timeout=30).text
    assert "https://hooks.example.com/••••" in page and "m••••" in page
    assert "SECRETKEY42" not in page and "mailer-login" not in page
    # The audit log keeps the change, masked.
    assert "SECRETKEY42" not in m.get(f"{url}/admin/audit", timeout=30).text
    assert "SECRETKEY42" not in m.get(f"{url}/admin/export/audit.csv", timeout=30).text
    # Saving the form without typing a secret keeps it; "clear" empties it.
    m.post(
        f"{url}/admin/settings",
        data={"csrf": m.csrf, "report.min_n": "30", "alerts.webhook_url": ""},
        allow_redirects=False,
        timeout=30,
    )
    shown = cli(server.db_path, "admin-setting").stdout
    assert WEBHOOK in shown
    m.post(
        f"{url}/admin/settings",
        data={"csrf": m.csrf, "clear:alerts.webhook_url": "on"},
        allow_redirects=False,
        timeout=30,
    )
    assert WEBHOOK not in cli(server.db_path, "admin-setting").stdout
    assert "https://hooks.example.com/••••" not in m.get(f"{url}/admin/settings", timeout=30).text


# -- point 11: HTTPS behind a proxy, and the warning without one -----------------------------------


def test_the_session_cookie_is_secure_behind_a_tls_proxy(server):
    url, https = server.url, {"X-Forwarded-Proto": "https"}  # from 127.0.0.1, a trusted proxy by default
    page = requests.get(f"{url}/admin/login", headers=https, timeout=10)
    assert "secure" in page.headers["set-cookie"].lower()
    # requests keeps Secure cookies off plain http: hand the login cookie over as the proxy would.
    r = requests.post(
        f"{url}/admin/login",
        headers=https,
        cookies=page.cookies.get_dict(),
        data={"username": "mgr", "password": PASSWORDS["mgr"], "csrf": csrf_of(page.text), "next": "/admin"},
        allow_redirects=False,
        timeout=30,
    )
    assert r.status_code == 303 and r.headers["location"] == "/admin", r.text
    session_cookie = [c for c in r.raw.headers.getlist("set-cookie") if c.startswith("kc_session=")]
    assert session_cookie and "secure" in session_cookie[0].lower() and "httponly" in session_cookie[0].lower()
    # Plain http (no proxy) gets no Secure flag: a loopback demo still logs in.
    plain = requests.get(f"{url}/admin/login", timeout=10)
    assert "secure" not in plain.headers["set-cookie"].lower()


def _serve_log(folder: Path, *extra: str) -> str:
    s = _server(folder, *extra)
    stop_server(s)
    return s.db_path.with_suffix(".log").read_text(encoding="utf-8")


def test_serve_warns_when_listening_beyond_loopback_without_tls(tmp_path):
    quiet = _serve_log(tmp_path / "loopback")
    assert "WARNING" not in quiet and "警告" not in quiet
    # Every address, briefly: the test only ever connects through 127.0.0.1.
    loud = _serve_log(tmp_path / "any", "--host", "0.0.0.0")
    assert "警告" in loud and "WARNING" in loud and "0.0.0.0" in loud and "--behind-tls" in loud
    assert loud.index("警告") < loud.index("WARNING")  # zh-TW first
    proxied = _serve_log(tmp_path / "tls", "--host", "0.0.0.0", "--behind-tls")
    assert "WARNING" not in proxied and "警告" not in proxied
