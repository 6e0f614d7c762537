"""The service-directory and case pages on a real collector process: who may upload what (requests),
and a manager's uploads through the real forms in Chromium — refused files show every problem with
its line and change nothing, accepted ones reach the kiosk API and the audit log."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from pathlib import Path

import pytest
import requests
from adminhelp import add_admins, cli, login, shot, shots_to_docs
from chromium import launch, playwright_or_skip
from collector_helpers import start_server, stop_server

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
BUNDLED = ROOT / "assets" / "services.zh-TW.csv"

HEADER = "case_no,case_type,applicant_name,verify_code,stage,stage_date,unit,extension,due_date,closed_date\n"


def _ago(days: int) -> str:
    """A date ``days`` before today: the cases stay recent (not yet purged) on any day the suite runs."""
    return (date.today() - timedelta(days=days)).isoformat()


GOOD_ROWS = (
    f"113-000501,選舉人名冊查詢,陳美麗,2468135790,收件,{_ago(30)},第一組,1201,{_ago(11)},\n"  # line 2
    f"113-000501,選舉人名冊查詢,陳美麗,2468135790,審核中,{_ago(28)},第一組,1201,{_ago(11)},\n"  # line 3
    f"113-000502,政治獻金申報,歐陽娜娜,9753186420,收件,{_ago(29)},第三組,1301,,\n"  # line 4
    f"113-000503,證明文件補發,林志強,8642097531,收件,{_ago(27)},行政室,,,{_ago(21)}\n"  # line 5
)
BAD_ROW = f"113-000504,證明文件補發,張大同,12ab,收件,{_ago(25)},行政室,,,\n"  # line 6
CASES_WITH_BAD_ROW = (HEADER + GOOD_ROWS + BAD_ROW).encode("utf-8")
SECRETS = ("陳美麗", "歐陽娜娜", "林志強", "張大同", "2468135790", "9753186420", "8642097531")
# One service with every field, as the kiosk API hands it back.
JSON_SERVICE = {
    "code": "a",
    "series": "A",
    "name": "甲",
    "name_en": "A",
    "unit": "一",
    "unit_en": "Unit One",
    "windows": ["1"],
    "typical_minutes": 5.0,
    "hours": "mon-fri 08:30-17:30",
    "documents": [],
    "documents_en": [],
    "notes": "",
    "notes_en": "",
}


def bad_services_csv() -> bytes:
    """The bundled directory with two broken cells: typical_minutes on line 3, hours on line 4."""
    lines = BUNDLED.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[2] = lines[2].replace(",10,mon-fri 08:30-17:30,", ",abc,mon-fri 08:30-17:30,")
    lines[3] = lines[3].replace(",6,mon-fri 08:30-17:30,", ",6,mon-fri 8-17,")
    assert ",abc," in lines[2] and "8-17" in lines[3]
    return "".join(lines).encode("utf-8")


def kiosk_services(server, token: str) -> dict:
    r = requests.get(f"{server.url}/api/v1/services", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert r.status_code == 200
    return r.json()


def case_count(m: requests.Session, url: str) -> int:
    return int(re.search(r'id="cases-total">(\d+)<', m.get(f"{url}/admin/cases", timeout=10).text).group(1))


@pytest.fixture
def admin_server(tmp_path):
    """A collector of each test's own: what one test uploads must not be what the next one finds."""
    path = tmp_path / "collector.db"
    cli(path, "kiosks")  # creates and migrates the file
    add_admins(path)
    server = start_server(path)
    yield server
    stop_server(server)


@pytest.fixture
def kiosk_token(admin_server):
    return admin_server.new_kiosk("manage-desk")


def test_access_rules(admin_server, kiosk_token):
    url = admin_server.url
    before = kiosk_services(admin_server, kiosk_token)
    good_services = {"file": ("services.csv", BUNDLED.read_bytes(), "text/csv")}
    good_cases = {"file": ("cases.csv", (HEADER + GOOD_ROWS).encode(), "text/csv")}
    # Anonymous: pages send to the login, uploads get 401.
    for path in ("/admin/services", "/admin/cases", "/admin/cases/template.csv"):
        r = requests.get(url + path, allow_redirects=False, timeout=10)
        assert r.status_code == 303 and r.headers["location"].startswith("/admin/login"), path
    for path, files in (("/admin/services", good_services), ("/admin/cases", good_cases)):
        assert requests.post(url + path, data={"csrf": "x"}, files=files, timeout=10).status_code == 401, path

    # A viewer sees the directory but not its upload form, and no case data at all.
    v = login(url, "viewer")
    page = v.get(f"{url}/admin/services", timeout=10)
    assert page.status_code == 200 and "服務項目 Services" in page.text and 'id="services-upload"' not in page.text
    assert 'href="/admin/cases"' not in page.text
    for path in ("/admin/cases", "/admin/cases/template.csv"):
        r = v.get(url + path, timeout=10)
        assert r.status_code == 403 and "manager" in r.text, path
    for path, files in (("/admin/services", good_services), ("/admin/cases", good_cases)):
        r = v.post(url + path, data={"csrf": v.csrf}, files=files, allow_redirects=False, timeout=10)
        assert r.status_code == 403 and "manager" in r.text, path

    # A manager's upload without the session's CSRF token is refused.
    m = login(url, "mgr")
    assert 'href="/admin/cases"' in m.get(f"{url}/admin/services", timeout=10).text
    for path, files in (("/admin/services", good_services), ("/admin/cases", good_cases)):
        for data in ({}, {"csrf": "not-the-token"}, {"csrf": v.csrf}):
            r = m.post(url + path, data=data, files=files, allow_redirects=False, timeout=10)
            assert r.status_code == 403 and "CSRF" in r.text, (path, data)
    # Over the size limit: a clear 413, nothing read into the database.
    big = {"file": ("huge.csv", b"x" * (20 * 1024 * 1024 + 1), "text/csv")}
    for path in ("/admin/services", "/admin/cases"):
        r = m.post(url + path, data={"csrf": m.csrf}, files=big, timeout=60)
        assert r.status_code == 413 and "file too large (limit 20 MB)" in r.text and "檔案過大" in r.text, path
    # No file chosen.
    r = m.post(f"{url}/admin/services", data={"csrf": m.csrf}, timeout=10)
    assert r.status_code == 422 and "choose a file" in r.text

    # Nothing any of that tried happened.
    assert kiosk_services(admin_server, kiosk_token) == before
    assert case_count(m, url) == 0
    audit = m.get(f"{url}/admin/audit", timeout=10).text
    assert "import_services" not in audit and "import_cases" not in audit


@pytest.fixture(scope="module")
def page():
    with launch(playwright_or_skip()) as browser:
        context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-TW")
        pg = context.new_page()
        yield pg
        context.close()


def submit(pg, button: str) -> None:
    with pg.expect_navigation():
        pg.click(button)


@pytest.mark.browser
def test_manager_uploads_in_chromium(page, admin_server, kiosk_token):
    pg, url = page, admin_server.url
    pg.goto(f"{url}/admin/services")
    pg.fill("#username", "mgr")
    pg.fill("#password", "manager-password-1")
    submit(pg, "#login")
    assert pg.url == f"{url}/admin/services"
    nav = pg.inner_text("header.top")
    assert "服務項目 Services" in nav and "案件 Cases" in nav
    before = kiosk_services(admin_server, kiosk_token)
    assert pg.inner_text("#svc-revision") == str(before["revision"])

    # A broken directory: every problem with its line and column, zh-TW and English; nothing changes.
    pg.set_input_files(
        "#services-file", files=[{"name": "services-broken.csv", "mimeType": "text/csv", "buffer": bad_services_csv()}]
    )
    submit(pg, "#services-import")
    assert "2 個問題" in pg.inner_text(".err") and "the directory is unchanged" in pg.inner_text(".err")
    rows = [r.split("\t") for r in pg.inner_text("#problems").splitlines()[1:]]
    assert [(r[0], r[1]) for r in rows] == [("第 3 行 line 3", "typical_minutes"), ("第 4 行 line 4", "hours")]
    assert "一般辦理時間應為 0.5 到 240 分鐘" in rows[0][2] and "expected minutes from 0.5 to 240" in rows[0][3]
    assert pg.inner_text("#svc-revision") == str(before["revision"])
    shot(pg, "services-errors")
    assert kiosk_services(admin_server, kiosk_token) == before

    # The bundled directory: a new revision, on the page and for the kiosks.
    pg.set_input_files("#services-file", str(BUNDLED))
    submit(pg, "#services-import")
    rev = before["revision"] + 1
    assert f"revision {rev}" in pg.inner_text(".msg")
    assert pg.inner_text("#svc-revision") == str(rev) and pg.inner_text("#svc-count") == "8"
    table = pg.inner_text("#services")
    assert "候選人登記" in table and "Candidate registration" in table and "mon-fri 08:30-12:00" in table
    shot(pg, "services")
    got = kiosk_services(admin_server, kiosk_token)
    assert got["revision"] == rev
    assert [s["code"] for s in got["services"]] == [
        line.split(",")[0] for line in BUNDLED.read_text(encoding="utf-8").splitlines()[1:]
    ]

    # Cases: one bad row and nothing is imported; the row's line and reason are shown.
    pg.click("header.top a[href='/admin/cases']")
    pg.wait_for_url(f"{url}/admin/cases")
    assert pg.inner_text("#cases-total") == "0"
    pg.set_input_files(
        "#cases-file", files=[{"name": "cases-may.csv", "mimeType": "text/csv", "buffer": CASES_WITH_BAD_ROW}]
    )
    submit(pg, "#cases-import")
    assert "nothing imported" in pg.inner_text(".err") and "未匯入任何案件" in pg.inner_text(".err")
    rows = [r.split("\t") for r in pg.inner_text("#problems").splitlines()[1:]]
    assert len(rows) == 1 and rows[0][:3] == ["第 6 行 line 6", "verify_code", "113-000504"]
    assert "must be digits" in rows[0][4]
    assert pg.inner_text("#cases-total") == "0" and pg.inner_text("#cases-revision") == "0"
    shot(pg, "cases-errors")

    # The same file with "skip invalid rows": the three good cases go in, the bad one is still reported.
    # (The refused page keeps no file: choosing it again is the browser's rule for file inputs.)
    pg.set_input_files(
        "#cases-file", files=[{"name": "cases-may.csv", "mimeType": "text/csv", "buffer": CASES_WITH_BAD_ROW}]
    )
    pg.check("#skip-invalid")
    submit(pg, "#cases-import")
    msg = pg.inner_text(".msg")
    assert "added 3" in msg and "skipped 1" in msg
    assert "第 6 行 line 6" in pg.inner_text("#problems")
    assert (pg.inner_text("#cases-total"), pg.inner_text("#cases-open"), pg.inner_text("#cases-closed")) == (
        "3",
        "2",
        "1",
    )
    assert pg.inner_text("#cases-keep") == "30" and int(pg.inner_text("#cases-revision")) >= 3
    recent = pg.inner_text("#cases-recent")
    assert "陳○○" in recent and "歐○○○" in recent and "審核中" in recent
    html = pg.content()
    for secret in SECRETS:  # neither a verification code nor an unmasked name ever reaches the page
        assert secret not in html, secret
    shot(pg, "cases")

    # The audit log holds both imports, with their counts.
    pg.goto(f"{url}/admin/audit")
    audit = pg.inner_text("table")
    services_line = next(line for line in audit.splitlines() if "import_services" in line)
    assert "services.zh-TW.csv" in services_line and f'"revision": {rev}' in services_line
    cases_line = next(line for line in audit.splitlines() if "import_cases" in line)
    assert '"added": 3' in cases_line and '"skipped_cases": 1' in cases_line and "cases-may.csv" in cases_line
    assert sum("import_cases" in line for line in audit.splitlines()) == 1  # the refused file is no import
    for secret in SECRETS:
        assert secret not in audit
    shot(pg, "audit-imports")

    pg.set_viewport_size({"width": 800, "height": 480})
    for name in ("services", "cases"):
        pg.goto(f"{url}/admin/{name}")
        shot(pg, f"{name}-800x480", full=False)
    shots_to_docs("services", "cases")


def test_reimport_changes_nothing(admin_server, kiosk_token):
    url = admin_server.url
    m = login(url, "mgr")
    cases_file = {"file": ("cases.csv", (HEADER + GOOD_ROWS).encode(), "text/csv")}
    m.post(f"{url}/admin/cases", data={"csrf": m.csrf}, files=cases_file, timeout=30)
    first = m.get(f"{url}/admin/cases", timeout=10).text
    revision = re.search(r'id="cases-revision">(\d+)<', first).group(1)
    again = m.post(f"{url}/admin/cases", data={"csrf": m.csrf}, files=cases_file, timeout=30)
    assert again.status_code == 200 and "added 0, updated 0, unchanged 3" in again.text
    assert re.search(r'id="cases-revision">(\d+)<', again.text).group(1) == revision

    # The directory as JSON (the kiosks' own form) is taken too; the same directory again keeps its revision.
    current = kiosk_services(admin_server, kiosk_token)
    data = {"services": [dict(JSON_SERVICE)]}
    body = json.dumps(data, ensure_ascii=False).encode()
    r = m.post(
        f"{url}/admin/services",
        data={"csrf": m.csrf},
        files={"file": ("dir.json", body)},
        allow_redirects=False,
        timeout=10,
    )
    assert r.status_code == 303 and "err=" not in r.headers["location"]
    got = kiosk_services(admin_server, kiosk_token)
    assert got["revision"] == current["revision"] + 1 and got["services"] == data["services"]
    r = m.post(f"{url}/admin/services", data={"csrf": m.csrf}, files={"file": ("dir.json", body)}, timeout=10)
    assert f"still revision {got['revision']}" in r.text
    assert kiosk_services(admin_server, kiosk_token)["revision"] == got["revision"]
    # A bad JSON item is named by its number and field.
    data["services"][0]["series"] = "P"
    r = m.post(
        f"{url}/admin/services",
        data={"csrf": m.csrf},
        files={"file": ("dir.json", json.dumps(data).encode())},
        timeout=10,
    )
    assert r.status_code == 422 and "第 1 筆" in r.text and "item 1" in r.text and "series" in r.text
    assert kiosk_services(admin_server, kiosk_token)["revision"] == got["revision"]
