"""服務導引 → ticket → GPIO "next" → calling → rating → staff panel, in the real app under Xvfb.

Screenshots of every queue screen go to test-output/screenshots/<size>/queue-*.png
and, for the README, to docs/screenshots/queue-*-<size>.png.
"""

from __future__ import annotations

import re

import pytest
from queuehelp import all_day_directory
from waiting import wait_until
from xvfb import REPO, KioskApp, Xvfb, check_targets, docs_shot, needs_x, screen_fixture

from kiosk.pinhash import hash_pin
from kiosk.staffpin import FREE_TRIES

STAFF_PIN = "246813"
STAFF_PIN_HASH = hash_pin(STAFF_PIN)

SIZES = ["800x480", "1280x800"]
screen = screen_fixture(SIZES)


def shot(app: KioskApp, name: str, settle: float = 0.3) -> None:
    docs_shot(app, f"queue-{name}", settle=settle)


@pytest.mark.gui
@needs_x
def test_queue_walkthrough(screen, tmp_path):
    directory = all_day_directory(tmp_path / "services.csv")
    printed = tmp_path / "printer.bin"
    config = tmp_path / "cfg.toml"
    config.write_text(
        f"""\
[kiosk]
id = "gui-queue-w1"
window = "1"
thanks_seconds = 1.0

[buttons]
repeat_window = 0.2

[queue]
directory = "{directory}"
printer = "file:{printed}"
staff_pin_hash = "{STAFF_PIN_HASH}"
""",
        encoding="utf-8",
    )
    # SDL's dummy audio device: the chime really loads and plays, with nothing to hear.
    with KioskApp(screen, tmp_path / "data", config, tmp_path / "app.log", env={"SDL_AUDIODRIVER": "dummy"}) as app:
        app.expect_shown("home", timeout=30)
        app.click("guidance")
        app.expect_shown("guidance")
        check_targets(app, "back", "staff", "language", "service:candidate_registration", "service:polling_place")
        shot(app, "guidance")

        app.click("service:candidate_registration")
        app.expect(r"service: candidate_registration")
        app.expect_shown("guidance")
        check_targets(app, "back", "take", "take_priority")
        shot(app, "service")

        app.click("take")
        stored = app.expect(r"ticket: A001 stored")
        switched = app.expect(r"screen: ticket")
        assert stored.start() < switched.start(), "the ticket must be stored before it is shown"
        app.expect_shown("ticket")
        app.expect_shown("ticket")  # again a second later, when its back button acts (kiosk.flow.TAKE_GUARD)
        wait_until(lambda: "printed: A001" in app.log_text(), what="the ticket printed")  # before or after that
        shot(app, "ticket", settle=0.4)
        data = printed.read_bytes()
        assert b"A001" in data and b"Candidate registration" in data and b"Window 1" in data
        app.click("back")
        app.expect_shown("home")

        # A priority number for another service, in English this time.
        app.click("language")
        app.expect_shown("home", "en")
        app.click("guidance")
        app.expect_shown("guidance", "en")
        app.click("service:polling_place")
        app.expect_shown("guidance", "en")
        shot(app, "service-en")
        app.click("take_priority")
        app.expect(r"ticket: P001 stored")
        app.expect_shown("ticket", "en")
        app.expect_shown("ticket", "en")  # again a second later, when its back button acts (kiosk.flow.TAKE_GUARD)
        app.click("back")
        app.expect_shown("home")

        # Staff press the GPIO "next" button (a mock pin): the priority ticket comes first.
        app.key("n")
        app.expect(r"called: P001 next")
        app.expect(r"chime: played")
        app.expect_shown("calling")
        shot(app, "calling")
        app.expect_shown("home", timeout=20)  # back by itself after calling_seconds

        # The visitor rates on the way out: the rating names P001.
        app.key("2")
        app.expect(r"press: level 2 counted")
        app.expect_shown("thanks")
        app.expect_shown("home")

        # The staff panel: a wrong PIN, then the right one; call the next, recall, no-show.
        app.click("guidance")
        app.expect_shown("guidance")
        app.click("staff")
        app.expect_shown("staff")
        check_targets(app, "back", "pin:0", "pin:9", "pin:ok", "pin:clear")
        for key in "111111":
            app.click(f"pin:{key}")
        app.click("pin:ok")
        app.expect(r"staff: wrong PIN")
        shot(app, "staff-pin")
        for key in STAFF_PIN:
            app.click(f"pin:{key}")
        app.click("pin:ok")
        app.expect(r"staff: unlocked")
        app.expect_shown("staff")
        check_targets(app, "next", "recall", "no_show", "lock")
        app.click("next")
        app.expect(r"called: A001 next")
        shot(app, "staff")
        app.click("recall")
        app.expect(r"called: A001 recall")
        app.click("no_show")  # asks first (issue 12): nothing is marked on one tap
        app.expect_shown("staff")
        assert "no-show: A001" not in app.log_text()
        app.click("no_show_yes")
        app.expect(r"no-show: A001")
        app.expect_shown("staff")
        app.click("lock")
        app.expect_shown("home")
        assert app.stop() == 0
    log = app.log_text()
    assert "Traceback" not in log, log[-3000:]
    assert re.search(r"ticket-on-screen A001 \d+\.\d", log)

    events = app.events()
    by_type = {}
    for e in events:
        by_type.setdefault(e["type"], []).append(e)
    assert [e["ticket"] for e in by_type["ticket_issued"]] == ["A001", "P001"]
    assert [(e["ticket"], e["call"], e["via"]) for e in by_type["ticket_called"]] == [
        ("P001", 1, "button"),
        ("A001", 1, "staff"),
        ("A001", 2, "staff"),
    ]
    assert [e["ticket"] for e in by_type["ticket_no_show"]] == ["A001"]
    rating = by_type["rating"][0]
    p001 = by_type["ticket_issued"][1]
    assert rating["ref"] == p001["id"] and rating["ticket"] == "P001" and rating["service"] == "polling_place"
    assert rating["wait_seconds"] > 0 and rating["service_seconds"] >= 0


def _enter_pin(app: KioskApp, pin: str) -> None:
    for key in pin:
        app.click(f"pin:{key}")
    app.click("pin:ok")


@pytest.mark.gui
@needs_x
def test_the_staff_lock_survives_a_restart(tmp_path):
    """Five wrong PINs lock the panel; a restart (SIGTERM, as systemd would) gives no fresh tries."""
    directory = all_day_directory(tmp_path / "services.csv")
    config = tmp_path / "cfg.toml"
    config.write_text(
        f'[kiosk]\nid = "gui-pin-w1"\n\n[queue]\nstaff_pin_hash = "{STAFF_PIN_HASH}"\ndirectory = "{directory}"\n',
        encoding="utf-8",
    )
    with Xvfb(800, 480) as xvfb:
        with KioskApp(xvfb, tmp_path / "data", config, tmp_path / "app1.log") as app:
            app.expect_shown("home", timeout=30)
            app.click("guidance")
            app.expect_shown("guidance")
            app.click("staff")
            app.expect_shown("staff")
            for n in range(1, FREE_TRIES + 1):
                _enter_pin(app, "000000")
                app.expect(rf"staff: wrong PIN \({n}\)")
            app.expect(r"staff: locked for 60 s")
            app.screenshot(REPO / "test-output" / "screenshots" / "800x480" / "queue-staff-locked.png")
            assert app.stop() == 0
        with KioskApp(xvfb, tmp_path / "data", config, tmp_path / "app2.log") as app:
            app.expect_shown("home", timeout=30)
            app.click("guidance")
            app.expect_shown("guidance")
            app.click("staff")
            app.expect(r"staff: locked for \d+ s")  # said on entering, before anyone types
            app.expect_shown("staff")
            _enter_pin(app, STAFF_PIN)  # even the right PIN waits for the lock to end
            app.expect(r"staff: locked for \d+ s")
            app.click("back")
            app.expect_shown("home")
            assert app.stop() == 0
        log = app.log_text()
        assert "staff: unlocked" not in log and "wrong PIN" not in log, log[-3000:]
        assert "Traceback" not in log, log[-3000:]
