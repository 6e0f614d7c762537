"""案件查詢 in the real app under Xvfb, driven by taps on the on-screen keypad and a
"scanner" (xdotool typing the case number and Enter), at 800x480 and 1280x800."""

from __future__ import annotations

import shutil
from datetime import date, timedelta

import pytest
from casehelp import case_rows, collector_with, kiosk_with_cases
from xvfb import REPO, KioskApp, check_targets, needs_x, screen_fixture

SIZES = ["800x480", "1280x800"]
SHOTS = REPO / "test-output" / "screenshots"
DOCS = REPO / "docs" / "screenshots"
IDLE = 4  # kiosk.idle_timeout for the test; 60 s by default
CONFIG = f"""\
[kiosk]
id = "gui-cases"
window = "2"
idle_timeout = {IDLE}
"""

screen = screen_fixture(SIZES)


def tap_digits(app, digits):
    for d in digits:
        app.click(f"key:{d}")


@pytest.mark.gui
@needs_x
def test_lookup_by_touch_and_scanner(screen, tmp_path):
    size = f"{screen.width}x{screen.height}"
    shots = SHOTS / size
    start = date.today() - timedelta(days=12)
    stages = tuple(
        (s, (start + timedelta(days=i * 2)).isoformat())
        for i, s in enumerate(("收件", "資格審查", "補件通知", "補件完成", "審核中", "陳核", "核定"))
    )
    rows = [
        *case_rows(
            "113-000123",
            code="5678012349",
            stages=stages,
            due=(date.today() + timedelta(days=9)).isoformat(),
            case_type="選舉人名冊閱覽申請",
            case_type_en="Electoral roll inspection",
            unit_en="First Section",
        ),
        *case_rows("113-000124", name="歐陽小明", code="2468135790"),
    ]
    conn = collector_with(tmp_path / "collector.db", rows)
    data = tmp_path / "kiosk"
    kiosk_with_cases(conn, data, kiosk_id="gui-cases")
    config = tmp_path / "cfg.toml"
    config.write_text(CONFIG, encoding="utf-8")
    with KioskApp(screen, data, config, tmp_path / "app.log") as app:
        app.expect_shown("home", "zh-TW", timeout=30)
        app.click("lookup")
        app.expect_shown("lookup", "zh-TW")
        check_targets(
            app,
            "field:case",
            "field:code",
            "search",
            "back",
            "language",
            "key:clear",
            "key:next",
            "key:delete",
            "key:-",
            *(f"key:{d}" for d in range(10)),
        )
        app.screenshot(shots / "lookup.png")

        # A barcode scanner types the case number and Enter: the code field is next.
        app.xdotool("type", "--window", app.window_id(), "--delay", "30", "113-000123")
        app.key("Return")
        app.expect(r"lookup field: code")
        tap_digits(app, "1111")
        app.click("search")
        app.expect(r"lookup: not_found")
        app.screenshot(shots / "lookup-not-found.png")

        tap_digits(app, "5678012349")
        app.screenshot(shots / "lookup-typed.png")
        app.click("search")
        app.expect(r"lookup: found")
        app.expect_shown("case_result", "zh-TW")
        check_targets(app, "done", "language")
        app.screenshot(shots / "case-result.png")
        app.click("language")
        app.expect_shown("case_result", "en")
        app.screenshot(shots / "case-result-en.png")
        app.click("done")
        app.expect_shown("home", "zh-TW")

        # Nothing typed survives the visit: 查詢 right away finds both fields empty.
        app.click("lookup")
        app.expect_shown("lookup")
        app.click("search")
        app.expect(r"lookup: incomplete")

        # Typed by touch only (with a slip corrected by 刪除), then left idle on the result.
        app.click("field:case")
        tap_digits(app, "113-0001249")
        app.click("key:delete")
        app.click("key:next")
        app.expect(r"lookup field: code")
        tap_digits(app, "2468135790")
        app.click("key:next")  # on the code field it searches
        app.expect(r"lookup: found")
        app.expect_shown("case_result")
        app.expect_shown("home", timeout=IDLE + 5)  # idle: cleared and home

        # Idle on the entry screen clears a half-typed code too.
        app.click("lookup")
        app.expect_shown("lookup")
        app.click("field:code")
        tap_digits(app, "99")
        app.expect_shown("home", timeout=IDLE + 5)
        app.click("lookup")
        app.expect_shown("lookup")
        app.click("search")
        app.expect(r"lookup: incomplete")
        assert app.stop() == 0
    log = app.log_text()
    assert "Traceback" not in log, log[-3000:]
    events = app.events()
    assert [e["result"] for e in events if e["type"] == "case_lookup"] == ["not_found", "found", "found"]
    assert not [e for e in events if e["type"] == "rating"], "typing digits must not press rating buttons"
    # No code typed on the keypad is kept. Ids, boot ids and clock readings are left out of the
    # search: a uuid or a monotonic reading may hold "1111" by chance.
    made_by_the_kiosk = {"id", "boot_id", "monotonic", "recorded_at", "seq"}
    for code in ("5678012349", "1111", "2468135790"):
        for e in events:
            kept = {k: v for k, v in e.items() if k not in made_by_the_kiosk}
            assert code not in str(kept), (code, e)
    DOCS.mkdir(exist_ok=True)
    shutil.copy(shots / "lookup-not-found.png", DOCS / f"lookup-{size}.png")
    shutil.copy(shots / "case-result.png", DOCS / f"case-result-{size}.png")
    shutil.copy(shots / "case-result-en.png", DOCS / f"case-result-en-{size}.png")
