"""The admin pages in real Chromium (Debian's, driven by Playwright): log in, open the dashboard,
apply a filter, download CSV and XLSX and check their figures against the collector's data;
a screenshot of every page goes to test-output/admin/."""

from __future__ import annotations

import csv
import io
import os
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from adminhelp import DASHBOARD_TABLES, PASSWORDS, cli, shot, shots_to_docs
from chromium import launch, playwright_or_skip
from collector_helpers import make_batch, make_event

from server_sync.wire.tz import OFFICE_TZ

pytestmark = [pytest.mark.slow, pytest.mark.browser]
# axe-core, put into the venv by ./dev.sh setup (npm); AXE_CORE_JS names another copy.
AXE = Path(os.environ.get("AXE_CORE_JS") or Path(sys.prefix) / "node" / "node_modules" / "axe-core" / "axe.min.js")
# Each violation as "rule: the first elements it names", to read in a failure message.
AXE_RUN = """async () => (await axe.run(document, {resultTypes: ['violations']})).violations.map(
    v => v.id + ' (' + v.impact + '): ' + v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(', '))"""
# Unit 第一組 window 1: 40 counted presses (12/14/8/4/2) + 2 misuse; unit 第二組 window 2: 8 presses.
UNIT1 = [1] * 12 + [2] * 14 + [3] * 8 + [4] * 4 + [5] * 2
UNIT2 = [1, 1, 2, 3, 3, 4, 5, 5]
TICKETS_CALLED, TICKETS_NO_SHOW = 45, 3
# The fixture's week: Monday to Friday of last week in the office, whatever today is.
_today = datetime.fromtimestamp(time.time(), OFFICE_TZ).date()
MONDAY = _today - timedelta(days=_today.weekday() + 7)
FRIDAY = MONDAY + timedelta(days=4)
SPAN = f"from={MONDAY}&to={FRIDAY}"


def at(day: date, hour: int, minute: int) -> str:
    return f"{day}T{hour:02d}:{minute:02d}:00+08:00"


@pytest.fixture(scope="module")
def page(admin_server):
    sync_api = playwright_or_skip()
    # The fixture's ratings are from last week: let them raise alerts as if they had just arrived.
    assert cli(admin_server.db_path, "admin-setting", "alerts.max_age_hours", str(15 * 24)).returncode == 0
    # The office's service directory, so the pages show the services' names, not their codes.
    directory = Path(__file__).resolve().parents[2] / "assets" / "services.zh-TW.csv"
    assert cli(admin_server.db_path, "import-services", str(directory)).returncode == 0
    # The collector counts a kiosk's events under the unit and window it records for the kiosk.
    token = admin_server.new_kiosk("front-desk", unit="第一組", window="1")
    token2 = admin_server.new_kiosk("unit2-desk", unit="第二組", window="2")
    events, seq = [], 0
    for i, lv in enumerate(UNIT1 + [1, 1]):
        seq += 1
        events.append(
            make_event(
                seq,
                level=lv,
                misuse=i >= len(UNIT1),
                service="candidate_registration",
                recorded_at=at(MONDAY + timedelta(days=i % 5), 9 + i % 7, i % 60),
                boot_id="unanchored",
            )
        )
    events2 = []
    for i, lv in enumerate(UNIT2):
        events2.append(
            make_event(
                i + 1,
                level=lv,
                unit="第二組",
                window="2",
                service="political_donation",
                recorded_at=at(MONDAY + timedelta(days=1 + i % 3), 10 + i % 5, 15),
                boot_id="unanchored",
            )
        )
    seq += 1
    events.append(
        make_event(
            seq,
            type="reason",
            level=5,
            ref=events[len(UNIT1) - 1]["id"],
            reason="wait",
            recorded_at=at(FRIDAY, 15, 0),
            boot_id="unanchored",
        )
    )
    # Unit 1's tickets: 45 first calls, 3 of them no-shows, so 42 served (a response rate of 40 / 42).
    for i in range(TICKETS_CALLED + TICKETS_NO_SHOW):
        seq += 1
        kind = "ticket_called" if i < TICKETS_CALLED else "ticket_no_show"
        day = MONDAY + timedelta(days=i % 5)
        events.append(
            make_event(
                seq,
                type=kind,
                level=None,
                service="candidate_registration",
                recorded_at=at(day, 9 + i % 7, i % 60),
                boot_id="unanchored",
            )
        )
    r = admin_server.post(token, make_batch(events))
    assert r.status_code == 200 and r.json()["stored"] == len(events)
    r = admin_server.post(token2, make_batch(events2))
    assert r.status_code == 200 and r.json()["stored"] == len(events2)
    with launch(sync_api) as browser:
        # bypass_csp: the pages' policy allows no script, and axe-core is injected as one.
        context = browser.new_context(
            viewport={"width": 1280, "height": 800}, accept_downloads=True, locale="zh-TW", bypass_csp=True
        )
        pg = context.new_page()
        pg.base = admin_server.url
        yield pg
        context.close()


def axe_violations(pg) -> list[str]:
    """What axe-core finds wrong on the page as it is now (WCAG 2.x A/AA rules and best practices)."""
    if not AXE.exists():
        pytest.fail(f"axe-core is not installed at {AXE}: run ./dev.sh setup (or set AXE_CORE_JS)")
    pg.add_script_tag(path=str(AXE))
    return [f"{pg.url}: {v}" for v in pg.evaluate(AXE_RUN)]


# Cards that stick out of the page's main column, and whether the page scrolls sideways: a wide
# table must wrap or scroll inside its card.
# At 1280 px nothing scrolls at all; on a narrow screen a table may scroll inside its card.
OVERFLOW = """(wide) => {
    const main = document.querySelector('main').getBoundingClientRect();
    const cards = [...document.querySelectorAll('.card')].filter(c => c.getBoundingClientRect().right > main.right + 1
        || (wide && c.scrollWidth > c.clientWidth + 1));
    return cards.map(c => (c.querySelector('table') || c).id || c.className)
        .concat(document.documentElement.scrollWidth > window.innerWidth ? ['the page scrolls sideways'] : []);
}"""


def layout_and_language(pg) -> list[str]:
    """What is wrong with the page beside axe: a card wider than the page, an h1 not zh-TW first."""
    wide = pg.viewport_size["width"] >= 1280
    problems = [f"{pg.url}: overflows: {c}" for c in pg.evaluate(OVERFLOW, wide)]
    h1 = pg.inner_text("h1").strip()
    if not h1 or (not "\u3400" <= h1[0] <= "\u9fff" and not h1[0].isdigit()):
        problems.append(f"{pg.url}: the heading {h1!r} does not start in zh-TW")
    return problems


def nav_pages(pg) -> list[str]:
    """Every page the header's navigation links to, for the account logged in."""
    return pg.eval_on_selector_all("header.top a[href]", "links => links.map(a => a.getAttribute('href'))")


def download(pg, selector: str) -> bytes:
    with pg.expect_download() as info:
        pg.click(selector)
    return Path(info.value.path()).read_bytes()


def test_walkthrough(page, admin_server):
    pg, url = page, page.base
    pg.context.clear_cookies()  # the page is shared with the axe test, which may have logged in first
    pg.goto(f"{url}/admin")
    assert "/admin/login" in pg.url  # anonymous: the login page, nothing else
    shot(pg, "login", full=False)
    pg.fill("#username", "mgr")
    pg.fill("#password", "manager-password-1")
    pg.click("#login")
    pg.wait_for_url(f"{url}/admin")
    # The default filter is the last 365 days: set the span that holds the fixture.
    pg.fill("input[name=from]", MONDAY.isoformat())
    pg.fill("input[name=to]", FRIDAY.isoformat())
    pg.click("#apply")
    pg.wait_for_load_state()
    assert pg.inner_text("#kpi-n") == str(len(UNIT1) + len(UNIT2))
    assert pg.inner_text("#kpi-misuse") == "2"
    shot(pg, "dashboard")
    # Apply a unit filter: only unit 1's 40 presses remain.
    pg.select_option("select[name=unit]", "第一組")
    pg.click("#apply")
    pg.wait_for_load_state()
    assert "unit=%E7%AC%AC%E4%B8%80%E7%B5%84" in pg.url or "unit=第一組" in pg.url
    assert pg.inner_text("#kpi-n") == "40"
    # By hand: (12*100 + 14*75 + 8*50 + 4*25) / 40 = 2750/40 = 68.75 -> 68.8; CSAT 26/40 = 65.0 %.
    assert pg.inner_text("#kpi-hi") == "68.8"
    assert pg.inner_text("#kpi-csat") == "65.0%"
    assert "在 95% 信心水準下，抽樣誤差約 ±" in pg.inner_text("#kpi-csat-moe")
    assert pg.inner_text("#kpi-response") == f"{100 * 40 / (TICKETS_CALLED - TICKETS_NO_SHOW):.1f}%"
    shot(pg, "dashboard-filtered")
    api = pg.request.get(f"{url}/admin/api/dashboard?{SPAN}&unit=第一組").json()
    assert api["total"]["n"] == 40 and api["total"]["happy_index"] == 68.8

    levels = download(pg, "#csv-levels").decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(levels)))
    assert rows[0] == ["等級 level", "次數 count", "百分比 %", "抽樣誤差 margin ±pp (95%)"]
    assert [int(r[1]) for r in rows[1:6]] == [12, 14, 8, 4, 2]
    assert (
        [float(r[2]) for r in rows[1:6]]
        == [api["total"]["shares"][str(i)] for i in range(1, 6)]
        == [30.0, 35.0, 20.0, 10.0, 5.0]
    )
    assert rows[7][1] == "2"  # misuse, counted apart

    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(download(pg, "#xlsx-all")))
    assert set(DASHBOARD_TABLES) <= set(wb.sheetnames)
    summary = list(wb["summary"].iter_rows(min_row=2, values_only=True))
    head, row = summary[0], summary[1]
    assert row[head.index("有效數 n")] == 40 and row[head.index("快樂指數 Happy Index")] == 68.8
    assert row[head.index("滿意度 CSAT %")] == 65.0
    assert tuple(row[head.index("滿意度95%下限 CSAT CI low") : head.index("滿意度95%上限 CSAT CI high") + 1]) == tuple(
        api["total"]["csat_ci"]
    )
    svc_head, *svc_rows = list(wb["services"].iter_rows(min_row=2, values_only=True))
    services = {r[1]: r for r in svc_rows}
    assert services["候選人登記"][svc_head.index("有效數 n")] == 40

    # Unit 2 alone has 8 responses: below the minimum n the page says so instead of a figure.
    pg.select_option("select[name=unit]", "第二組")
    pg.click("#apply")
    pg.wait_for_load_state()
    assert pg.inner_text("#kpi-n") == "8" and "回覆數不足" in pg.inner_text("#kpi-hi")
    unit2_csv = download(pg, "#csv-summary").decode("utf-8-sig")
    assert "回覆數不足" in unit2_csv

    # Manager actions through the real forms: change a rule, acknowledge an alert with a note.
    pg.goto(f"{url}/admin/rules")
    pg.fill("input[form=rule-3][name=params]", '{"hours": 48}')
    pg.click("button[form=rule-3]:not([name])")
    pg.wait_for_load_state()
    assert "rule 3 saved" in pg.inner_text(".msg")
    assert pg.input_value("input[form=rule-3][name=params]") == '{"hours": 48.0}'
    pg.goto(f"{url}/admin/alerts")
    first = pg.locator("div.alert-open").first
    first.locator("input[name=note]").fill("已由組長回電說明 the head of unit called back")
    first.locator("button").click()
    pg.wait_for_load_state()
    assert "acknowledged" in pg.inner_text(".msg")
    assert "已由組長回電說明" in pg.inner_text("#acked")
    for name in ("alerts", "rules", "fleet", "settings", "audit", "self-evaluation"):
        pg.goto(f"{url}/admin/{name}" + (f"?year={MONDAY.year}" if name == "self-evaluation" else ""))
        assert pg.locator("h1").count() == 1
        shot(pg, name)
    pdf = download(pg, "#se-pdf")
    assert pdf.startswith(b"%PDF")
    # The narrow layout (a small laptop or tablet) still works.
    pg.set_viewport_size({"width": 800, "height": 480})
    pg.goto(f"{url}/admin?{SPAN}")
    shot(pg, "dashboard-800x480", full=False)
    shots_to_docs("dashboard", "alerts", "fleet", "self-evaluation", "settings", "audit")


def log_in(pg, user: str) -> None:
    pg.context.clear_cookies()
    pg.goto(f"{pg.base}/admin/login")
    pg.fill("#username", user)
    pg.fill("#password", PASSWORDS[user])
    pg.click("#login")
    pg.wait_for_url(f"{pg.base}/admin")


def test_axe_finds_nothing_on_any_page_as_manager_or_viewer(page):
    """axe-core on the login page and on every page the navigation offers, in both roles
    (the dashboard with the fixture's week, the self-evaluation of its year)."""
    pg = page
    pg.context.clear_cookies()
    pg.goto(f"{pg.base}/admin/login")
    found = axe_violations(pg)
    seen: dict[str, list[str]] = {}
    for user in ("mgr", "viewer"):
        log_in(pg, user)
        pages = nav_pages(pg)
        seen[user] = pages
        for href in pages:
            query = {"/admin": f"?{SPAN}", "/admin/self-evaluation": f"?year={MONDAY.year}"}.get(href, "")
            pg.goto(f"{pg.base}{href}{query}")
            found += [f"{user} {v}" for v in axe_violations(pg) + layout_and_language(pg)]
    # The narrow layout: the dashboard's tables still stay inside their cards.
    pg.set_viewport_size({"width": 800, "height": 480})
    pg.goto(f"{pg.base}/admin?{SPAN}")
    found += layout_and_language(pg)
    pg.set_viewport_size({"width": 1280, "height": 800})
    # The page a refused request gets (error.html): a viewer asking for the audit log.
    assert pg.goto(f"{pg.base}/admin/audit").status == 403
    found += [f"viewer {v}" for v in axe_violations(pg)]
    assert {"/admin", "/admin/alerts", "/admin/rules", "/admin/fleet", "/admin/settings"} <= set(seen["viewer"])
    assert {"/admin/cases", "/admin/audit", "/admin/accounts"} <= set(seen["mgr"]) - set(seen["viewer"])
    assert not found, "\n".join(found)
