"""Telephone-courtesy tests (issue 14, point 4): the sheet from the office's standard, scoring,
the sheet a manager changes, and who sees what, through the real collector app in-process.

One app for the module (its accounts are made once: argon2 is slow on purpose); every test
uses its own unit names and tester, so none depends on another's rows. Times come from the
collector's injected clock, never a date literal."""

from __future__ import annotations

import csv
import io
import json
import re
import sqlite3
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlite_utils
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from server_sync.collector import db as dbmod
from server_sync.collector.admin import accounts
from server_sync.collector.api import create_app
from server_sync.collector.courtesy import scores, sheet, tables
from server_sync.collector.courtesy.scores import band_for, yearly_scores

START = 1_900_000_000.0  # the collector's clock; only the office-time date it gives matters
USERS = {"mgr": "manager", "viewer": "viewer", "tess": "tester", "toby": "tester"}


def office_now() -> datetime:
    """The collector's clock in office time."""
    return datetime.fromtimestamp(START, ZoneInfo("Asia/Taipei"))


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    path = tmp_path_factory.mktemp("courtesy") / "collector.db"
    conn = dbmod.open_db(path)
    for name, role in USERS.items():
        accounts.add_user(conn, name, f"{name}-password-1", role)
    conn.close()
    application = create_app(path, clock=lambda: START)
    with TestClient(application) as client:
        client.db_path = path
        yield client


@pytest.fixture
def as_user(app):
    """Log ``app`` in as a user; the session's CSRF token from a page that user may open."""

    def login(name: str) -> str:
        app.cookies.clear()
        page = app.get("/admin/login")
        token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
        r = app.post(
            "/admin/login",
            data={"username": name, "password": f"{name}-password-1", "csrf": token, "next": "/admin"},
            follow_redirects=False,
        )
        assert r.status_code == 303, r.text
        home = "/admin/courtesy" if USERS[name] != "viewer" else "/admin/courtesy/report"
        return re.search(r'name="csrf" value="([^"]+)"', app.get(home).text).group(1)

    yield login
    app.cookies.clear()


def all_yes(kind: str) -> dict[str, str]:
    part = sheet.validate(sheet.DEFAULT_SHEET)[kind]
    return {f"mark_{i['id']}": "yes" for i in part["items"] if not i["auto"]}


def post_test(app, csrf, unit, *, kind="unit", rings="3", seconds="", marks=None, when=None, notes=""):
    data = {
        "csrf": csrf,
        "kind": kind,
        "unit": unit,
        "called_at": (when or office_now()).strftime("%Y-%m-%dT%H:%M"),
        "rings": rings,
        "seconds": seconds,
        "notes": notes,
        **(marks if marks is not None else all_yes(kind)),
    }
    return app.post("/admin/courtesy/tests", data=data)


def banner(html: str) -> str:
    m = re.search(r'class="(?:msg|err)"[^>]*>([^<]*)<', html)
    return m.group(1) if m else ""


# -- the sheet and the score (plain Python) -----------------------------------------------------


def test_the_default_sheet_is_the_standard_on_the_agencies_split():
    s = sheet.validate(sheet.DEFAULT_SHEET)
    assert (s["switchboard"]["total"], s["unit"]["total"]) == (45, 55)

    def by_section(kind):
        out: dict[str, float] = {}
        for item in s[kind]["items"]:
            out[item["section"].split()[0]] = out.get(item["section"].split()[0], 0) + item["points"]
        return out

    assert by_section("switchboard") == {"接聽速度": 25, "禮貌": 20}
    assert by_section("unit") == {"接聽速度": 15, "禮貌": 25, "答復內容": 15}
    names = " ".join(i["name"] for k in sheet.KINDS for i in s[k]["items"])
    for phrase in (
        "4 聲或 10 秒",
        "語調謙和、熱誠",
        "嘉義市選舉委員會",
        "您好",
        "幫您轉接，請稍候",
        "讓您久等了",
        "一問三不知",
        "代接或回電",
    ):
        assert phrase in names, phrase


def test_scores_are_out_of_100_over_the_items_that_applied():
    s = sheet.validate(sheet.DEFAULT_SHEET)
    marks = {k[5:]: v for k, v in all_yes("unit").items()}
    assert sheet.score(s, "unit", marks, rings=4, seconds=None).score == 100
    # Picked up on the 6th ring after 12 s: the 15 speed points are lost, 40 of 55 left.
    assert sheet.score(s, "unit", marks, rings=6, seconds=12).score == pytest.approx(100 * 40 / 55)
    # 10 seconds is in time even after more rings.
    assert sheet.score(s, "unit", marks, rings=6, seconds=10).score == 100
    # No transfer in this call: the item is left out, not marked down.
    no_transfer = {**marks, "transfer": "na", "explains": "half"}
    assert sheet.score(s, "unit", no_transfer, rings=2, seconds=None).score == pytest.approx(100 * 47 / 52)
    with pytest.raises(sheet.SheetError):
        sheet.score(s, "unit", {**marks, "tone": ""}, rings=2, seconds=None)
    with pytest.raises(sheet.SheetError):
        sheet.score(s, "unit", marks, rings=None, seconds=None)


@pytest.mark.parametrize(
    ("score", "band"),
    [
        (100, "優良"),
        (90, "優良"),
        (89.9, "良好"),
        (80, "良好"),
        (79.9, "普通"),
        (70, "普通"),
        (69.9, "待改進"),
        (None, "尚無資料"),
    ],
)
def test_bands(score, band):
    assert band_for(score) == band


def test_a_sheet_is_checked_before_it_is_used():
    good = sheet.validate(sheet.DEFAULT_SHEET)
    wrong_sum = {**good, "unit": {**good["unit"], "total": 60}}
    with pytest.raises(sheet.SheetError, match="add up to 55"):
        sheet.validate(wrong_sum)
    empty_name = {
        **good,
        "switchboard": {
            **good["switchboard"],
            "items": [{**good["switchboard"]["items"][0], "name": " "}, *good["switchboard"]["items"][1:]],
        },
    }
    with pytest.raises(sheet.SheetError, match="must not be empty"):
        sheet.validate(empty_name)
    twice = {**good, "unit": {**good["unit"], "items": good["unit"]["items"] + [good["unit"]["items"][0]], "total": 70}}
    with pytest.raises(sheet.SheetError, match="used twice"):
        sheet.validate(twice)
    with pytest.raises(sheet.SheetError):
        sheet.validate({"unit": good["unit"]})


def test_yearly_scores_on_an_empty_database(tmp_path):
    conn = dbmod.open_db(tmp_path / "c.db")
    try:
        assert yearly_scores(conn, office_now().year) == {}
        assert yearly_scores(conn, office_now().year, ["第一組"]) == {
            "第一組": scores.CourtesyYear(None, 0, "尚無資料")
        }
    finally:
        conn.close()
    # A database the migration has not reached: no table, no tests, no error.
    assert yearly_scores(sqlite3.connect(":memory:"), office_now().year) == {}


def test_the_tester_role_migration_keeps_accounts_and_sessions(tmp_path):
    conn = dbmod.open_db(tmp_path / "c.db")
    try:
        user = accounts.add_user(conn, "old", "old-password-1", "viewer")
        token, _ = accounts.new_session(conn, user)
        conn.execute("BEGIN IMMEDIATE")
        tables._allow_tester(sqlite_utils.Database(conn))
        conn.execute("COMMIT")
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        assert accounts.session_for(conn, token).user.username == "old"
        accounts.add_user(conn, "new-tester", "tester-password-1", "tester")
    finally:
        conn.close()


# -- who sees what, through the app ---------------------------------------------------------------


def test_a_tester_records_tests_and_sees_only_the_form_and_their_own(app, as_user):
    csrf = as_user("toby")
    post_test(app, csrf, "測試甲組")
    csrf = as_user("tess")
    r = post_test(app, csrf, "測試乙組", rings="6", seconds="12", notes="第六聲才接")
    assert "分" in banner(r.text) and "良好" not in banner(r.text)  # 40/55 = 72.7: 普通
    assert "72.7" in r.text and "普通" in banner(r.text)
    assert "測試乙組" in r.text and "測試甲組" not in r.text  # toby's test is not tess's to see
    assert app.get("/admin", follow_redirects=False).headers["location"] == "/admin/courtesy"
    assert app.get("/admin/courtesy/report", follow_redirects=False).headers["location"] == "/admin/courtesy"
    assert app.get("/admin/alerts", follow_redirects=False).headers["location"] == "/admin/courtesy"
    assert app.get("/admin/api/alerts").status_code == 403
    assert app.get("/admin/courtesy/export/all.xlsx").status_code == 403
    assert app.get("/admin/courtesy/sheet", follow_redirects=False).headers["location"] == "/admin/courtesy"
    nav = re.search(r'<header class="top">(.*?)</header>', app.get("/admin/courtesy").text, re.S).group(1)
    assert "/admin/courtesy" in nav and "/admin/alerts" not in nav and "測試員 tester" in nav


def test_a_test_needs_the_session_csrf_and_every_item(app, as_user):
    csrf = as_user("tess")
    assert post_test(app, "not-the-token", "測試丙組").status_code == 403
    marks = all_yes("switchboard")
    marks.pop("mark_greeting")
    r = post_test(app, csrf, "測試丙組", kind="switchboard", marks=marks)
    assert "mark every item" in banner(r.text)
    r = post_test(app, csrf, "測試丙組", rings="", seconds="")
    assert "rings or the seconds" in banner(r.text)
    with dbmod.connect(app.db_path) as conn:
        assert conn.execute("SELECT count(*) FROM courtesy_tests WHERE unit = '測試丙組'").fetchone()[0] == 0


def test_a_viewer_reads_the_reports_and_exports_but_records_nothing(app, as_user):
    csrf = as_user("tess")
    now = office_now()
    last_month = now.replace(day=1) - timedelta(days=1)
    post_test(app, csrf, "報表組", when=last_month.replace(hour=10) if last_month.year == now.year else now)
    post_test(app, csrf, "報表組", marks={**all_yes("unit"), "mark_explains": "no"})
    csrf = as_user("viewer")
    assert app.get("/admin/courtesy", follow_redirects=False).headers["location"] == "/admin/courtesy/report"
    assert post_test(app, csrf, "報表組").status_code == 403
    page = app.get(f"/admin/courtesy/report?year={now.year}")
    assert page.status_code == 200 and "報表組" in page.text and "<svg" in page.text
    year = yearly_scores(sqlite3.connect(app.db_path), now.year)["報表組"]
    assert year.tests == 2 and year.mean_score == pytest.approx((100 + 100 * 45 / 55) / 2, abs=0.1)
    rows = list(
        csv.reader(
            io.StringIO(
                app.get(f"/admin/courtesy/export/courtesy-tests.csv?year={now.year}").content.decode("utf-8-sig")
            )
        )
    )
    assert any("報表組" in r for r in rows)
    book = load_workbook(io.BytesIO(app.get(f"/admin/courtesy/export/all.xlsx?year={now.year}").content))
    assert len(book.sheetnames) == 2
    ods = app.get(f"/admin/courtesy/export/all.ods?year={now.year}")
    assert ods.status_code == 200 and ods.content[:2] == b"PK"


def test_a_manager_changes_the_sheet_checked_audited_and_old_scores_kept(app, as_user):
    csrf = as_user("mgr")
    r = post_test(app, csrf, "改表組")
    assert "100" in banner(r.text)
    bad = app.post("/admin/courtesy/sheet", data={"csrf": csrf, "sheet": "{not json"})
    assert "JSON" in banner(bad.text)
    s = sheet.validate(sheet.DEFAULT_SHEET)
    s["unit"]["items"][1]["points"] = 9  # tone 5 -> 9: the sum is now 59, not 55
    r = app.post("/admin/courtesy/sheet", data={"csrf": csrf, "sheet": json.dumps(s)})
    assert "add up to 59" in banner(r.text)
    s["unit"]["total"] = 59
    r = app.post("/admin/courtesy/sheet", data={"csrf": csrf, "sheet": json.dumps(s)})
    assert "saved" in banner(r.text)
    with dbmod.connect(app.db_path) as conn:
        scored = conn.execute("SELECT score, sheet_id FROM courtesy_tests WHERE unit = '改表組'").fetchone()
        audit = [a for (a,) in conn.execute("SELECT action FROM admin_audit WHERE username = 'mgr'")]
    assert scored == (100.0, None)  # scored on the default, and stays so
    assert {"add_courtesy_test", "save_courtesy_sheet"} <= set(audit)
    r = app.post("/admin/courtesy/sheet", data={"csrf": csrf, "reset": "1"})
    assert "saved" in banner(r.text)
    # A wrong test is voided, not deleted: it stays listed and leaves the figures.
    with dbmod.connect(app.db_path) as conn:
        test_id = conn.execute("SELECT id FROM courtesy_tests WHERE unit = '改表組'").fetchone()[0]
    r = app.post(f"/admin/courtesy/tests/{test_id}/void", data={"csrf": csrf})
    assert "voided" in banner(r.text) and "(作廢 void)" in r.text
    assert "改表組" not in yearly_scores(sqlite3.connect(app.db_path), office_now().year)
    csrf = as_user("viewer")
    assert app.post("/admin/courtesy/sheet", data={"csrf": csrf, "reset": "1"}).status_code == 403
