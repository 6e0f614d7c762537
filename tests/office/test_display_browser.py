"""The wall display and the phone page in real Chromium, against a real queue host."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from chromium import launch, playwright_or_skip
from officehelp import HostProcess, add_device, office_config
from waiting import wait_until

from kiosk.office.client import HostClient

pytestmark = [pytest.mark.slow, pytest.mark.browser]
DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
SHOTS = Path(__file__).resolve().parents[2] / "test-output" / "office"


@pytest.fixture
def chromium():
    # The call chime plays without a tap on the page first, as on the wall display.
    with launch(playwright_or_skip(ci_needs_it=True), "--autoplay-policy=no-user-gesture-required") as browser:
        yield browser


@pytest.fixture
def office(tmp_path):
    config = office_config(tmp_path)
    data = tmp_path / "data"
    tokens = {"entrance": add_device(config, data, "entrance"), "1": add_device(config, data, "w1", "1")}
    tokens["2"] = add_device(config, data, "w2", "2")
    host = HostProcess(config, data).start()
    yield host, tokens
    host.stop()


def shoot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / name))
    DOCS.mkdir(parents=True, exist_ok=True)
    shutil.copy(SHOTS / name, DOCS / name)


def test_the_wall_display_shows_calls_and_says_when_it_has_lost_the_host(office, chromium):
    host, tokens = office
    entrance = HostClient(host.url, tokens["entrance"])
    for i in range(3):
        entrance.issue("election_bulletin", priority=False, press=f"display-test-{i}")  # windows 1;2
    page = chromium.new_context(viewport={"width": 1920, "height": 1080}, locale="zh-TW").new_page()
    page.goto(host.url + "/display")
    page.wait_for_function("document.body.dataset.connection === 'live'", timeout=15000)
    window2 = HostClient(host.url, tokens["2"])
    called = window2.press("2", "next", press="display-next-1")["called"]["number"]
    page.wait_for_function(f"document.body.dataset.lastCall === '{called}@2'", timeout=10000)
    card = page.locator(".window[data-window='2'] .number")
    assert card.inner_text() == called
    # Legible from 5 m: the numbers are at least 8 % of the screen's height.
    assert card.bounding_box()["height"] >= 0.08 * 1080
    assert "再次叫號" not in page.locator("#flash").inner_text()
    shoot(page, "display-1920x1080.png")
    page.set_viewport_size({"width": 1280, "height": 720})
    assert card.bounding_box()["height"] >= 0.08 * 720
    shoot(page, "display-1280x720.png")

    # A busy hour: every recent call listed pushes the lines down; none is cut at the column's foot,
    # those left out are counted, and they are lines nobody waits in (waiting ones come first).
    window1 = HostClient(host.url, tokens["1"])
    entrance.issue("election_bulletin", priority=False, press="display-test-3")
    for i in range(6):
        entrance.issue("polling_place", priority=False, press=f"display-polling-{i}")  # windows 1;2
    presses = iter(range(100))

    def call_at(client: HostClient, window: str) -> str | None:
        # A second "next" within NEXT_GUARD seconds is taken for a double press: wait it out.
        res = client.press(window, "next", press=f"display-busy-{next(presses)}")
        return None if res["ignored"] else res["called"]["number"]

    for client, window in ((window1, "1"), (window2, "2")) * 2 + ((window1, "1"),):
        last = wait_until(
            lambda c=client, w=window: call_at(c, w), timeout=15, what=f"a call at window {window}", interval=0.5
        )
        if window == "2":
            called = last  # what window 2 serves now, which the display must show again after a restart
    page.wait_for_function(f"document.body.dataset.lastCall === '{last}@1'", timeout=10000)
    page.wait_for_function("document.querySelectorAll('#calls li').length === 6", timeout=10000)
    foot = page.locator("#lines").bounding_box()
    rows = page.locator("#services tbody tr:not([hidden])")
    assert rows.count() >= 1
    for i in range(rows.count()):
        box = rows.nth(i).bounding_box()
        assert box["y"] + box["height"] <= foot["y"] + foot["height"] + 1, rows.nth(i).inner_text()
    shown = [rows.nth(i).inner_text() for i in range(rows.count())]
    waiting = [int(re.search(r"(\d+) 人", t).group(1)) > 0 for t in shown]
    assert waiting == sorted(waiting, reverse=True), shown  # every line with people before any without
    assert any(waiting), shown
    left_out = int(page.evaluate("document.body.dataset.linesLeftOut"))
    all_rows = page.locator("#services tbody tr").count()
    assert left_out == all_rows - rows.count()
    if left_out:
        assert f"另有 {left_out} 項服務未列出" in page.locator("#more").inner_text()
    shoot(page, "display-busy-1280x720.png")

    host.kill()
    page.wait_for_function("document.body.dataset.connection === 'lost'", timeout=20000)
    assert page.locator("#lost").is_visible()
    assert "連線中斷" in page.locator("#lost").inner_text()
    shoot(page, "display-lost-1280x720.png")
    host.start(port=host.port)
    page.wait_for_function("document.body.dataset.connection === 'live'", timeout=30000)
    assert not page.locator("#lost").is_visible()
    assert page.locator(".window[data-window='2'] .number").inner_text() == called  # rebuilt from the host's log
    again = window2.press("2", "recall", press="display-recall-1")["called"]["number"]
    page.wait_for_function(f"document.body.dataset.lastCall === '{again}@2'", timeout=10000)
    assert "再次叫號" in page.locator("#flash").inner_text()


def test_the_phone_page_follows_the_ticket_without_personal_data(office, chromium):
    host, tokens = office
    entrance = HostClient(host.url, tokens["entrance"])
    first = entrance.issue("polling_place", priority=False, press="phone-test-1")
    mine = entrance.issue("polling_place", priority=False, press="phone-test-2")
    assert len(mine["token"]) >= 16 and mine["token"] not in (mine["number"], first["token"])
    page = chromium.new_context(viewport={"width": 390, "height": 844}, locale="zh-TW", is_mobile=True).new_page()
    page.goto(f"{host.url}/t/{mine['token']}")
    page.wait_for_function(f"document.getElementById('number').textContent === '{mine['number']}'", timeout=10000)
    assert page.locator("#ahead").inner_text().startswith("1 人")
    assert "等候中" in page.locator("#status").inner_text()
    shoot(page, "phone-ticket-waiting.png")
    window1 = HostClient(host.url, tokens["1"])
    window1.press("1", "next", press="phone-next-1")
    page.wait_for_function("document.getElementById('ahead').textContent.startsWith('0 人')", timeout=10000)
    HostClient(host.url, tokens["2"]).press("2", "next", press="phone-next-2")
    page.wait_for_function("document.getElementById('status').className === 'called'", timeout=10000)
    assert "請到 2 號櫃台" in page.locator("#status").inner_text()
    shoot(page, "phone-ticket-called.png")
    # The number alone finds nothing: the page is reached only through the ticket's QR code.
    guess = page.request.get(f"{host.url}/t/{mine['number']}.json")
    assert guess.status == 404 and "No such ticket" in guess.json()["detail"]["en"]
