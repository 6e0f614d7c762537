"""Interruptions, tickets and timeouts in the real app under Xvfb (issue 12, points 1–4 and 8).

One app start shares several checks: a double tap on 取號 keeps the ticket; a
staff call over the ticket is a banner; the timeout warning appears and a touch
extends it; a rating key on the lookup screen is a rating (demo keys) and keeps
the typed case number. Timeouts are the configured ones made short, and every
wait is for a log line, not a sleep. Screenshots go to docs/screenshots/.
"""

from __future__ import annotations

import pytest
from queuehelp import all_day_directory
from xvfb import KioskApp, Xvfb, docs_shot, needs_x


def shot(app: KioskApp, name: str, settle: float = 0.3) -> None:
    docs_shot(app, name, settle=settle, not_blank=False)


@pytest.mark.gui
@needs_x
def test_interruptions_keep_the_visitors_task(tmp_path):
    directory = all_day_directory(tmp_path / "services.csv")
    config = tmp_path / "cfg.toml"
    config.write_text(
        f"""\
[kiosk]
id = "gui-interrupt-w1"
window = "1"
idle_timeout = 6
thanks_seconds = 1.5

[buttons]
repeat_window = 0.2

[queue]
directory = "{directory}"
""",
        encoding="utf-8",
    )
    with Xvfb(800, 480) as xvfb, KioskApp(xvfb, tmp_path / "data", config, tmp_path / "app.log") as app:
        app.expect_shown("home", timeout=30)
        assert "my_number" not in app.layout  # no ticket taken here yet

        # Two taps on 取號 200 ms apart: one ticket, and it stays on screen.
        app.click("guidance")
        app.expect_shown("guidance")
        app.click("service:polling_place")
        app.expect_shown("guidance")
        app.click("take")
        app.click("take")
        app.expect(r"ticket: D001 stored")
        app.expect_shown("ticket")  # drawn, its back button still inactive (kiosk.flow.TAKE_GUARD)
        app.expect_shown("ticket")  # a second later: the back button acts
        assert "back" in app.layout
        shot(app, "ticket-qr")
        # Staff call the number: a banner over the ticket, not the calling screen.
        app.key("n")
        app.expect(r"called: D001 next")
        app.expect(r"banner: call Number D001, please go to window 1")
        shot(app, "banner-call")
        app.click("back")
        app.expect_shown("home")
        assert "my_number" in app.layout  # 我的號碼: the ticket of the last hour
        app.click("my_number")
        app.expect(r"recall: D001")
        app.expect(r"screen: ticket")
        app.expect_shown("ticket")
        app.expect_shown("ticket")  # ready: the back button is there
        app.click("back")
        app.expect_shown("home")

        # The lookup: typed digits, a rating key (demo: key 3 is the 普通 button), the number kept.
        app.click("lookup")
        app.expect_shown("lookup")
        for key in "113":
            app.click(f"key:{key}")
        app.key("3")
        app.expect(r"press: level 3 counted")
        app.expect(r"banner: rated Rating received: Neutral")
        shot(app, "banner-rated")
        app.click("key:next")
        app.expect(r"lookup field: code")  # 下一欄 moves on only with a case number typed

        # Its timeout is warned; 繼續 extends it; untouched, it goes home.
        app.expect(r"warning: lookup \d+", timeout=10)
        app.expect_shown("lookup")
        assert "extend" in app.layout
        shot(app, "timeout-warning")
        app.click("extend")
        app.expect(r"warning: extended")
        app.expect(r"warning: lookup \d+", timeout=10)
        app.expect(r"screen: home", timeout=10)
        app.expect_shown("home")

        # A rating on home: the thank-you names the level.
        app.key("2")
        app.expect(r"press: level 2 counted")
        app.expect_shown("thanks")
        assert app.stop() == 0
    log = app.log_text()
    assert "Traceback" not in log, log[-3000:]
    assert "screen: calling" not in log  # the call never took the ticket away
    events = app.events()
    assert [e["ticket"] for e in events if e["type"] == "ticket_issued"] == ["D001"]
    assert [(e["level"], e["misuse"]) for e in events if e["type"] == "rating"] == [(3, False), (2, False)]
