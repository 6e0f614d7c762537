"""A window kiosk and the entrance kiosk working through a real queue host, in the real app under Xvfb.

The window kiosk (one app start): the staff panel's next calls through the host, a transfer to another
service and window, the host killed (the panel says so and nothing is called; a visitor's service page
says numbers are unavailable), the host restarted on the same port (next works, nothing was called
twice). The entrance kiosk: its home lists every service of the office and 取號 issues through the host.
Screenshots go to docs/screenshots/office-*-<size>.png; 1280×800 only with KIOSK_SCREENSHOTS=all (the
suite's time budget runs one size).
"""

from __future__ import annotations

import os
import signal

import pytest
from officehelp import HostProcess, add_device, office_config
from test_host import host_events
from waiting import wait_until
from xvfb import KioskApp, docs_shot, needs_x, screen_fixture

from kiosk.directory import bundled_path
from kiosk.office.client import HostClient
from kiosk.pinhash import hash_pin
from server_sync.wire.directory import load_file

STAFF_PIN = "246813"
SIZES = ["800x480"] + (["1280x800"] if os.environ.get("KIOSK_SCREENSHOTS") == "all" else [])
screen = screen_fixture(SIZES)


def shot(app: KioskApp, name: str, settle: float = 0.4) -> None:
    docs_shot(app, f"office-{name}", settle=settle)


@pytest.fixture
def office(tmp_path):
    config = office_config(tmp_path)
    data = tmp_path / "host-data"
    tokens = {"entrance": add_device(config, data, "entrance"), "2": add_device(config, data, "window-2", "2")}
    host = HostProcess(config, data).start()
    yield host, tokens, tmp_path / "services.csv"
    host.stop()


def kiosk_config(path, host, token, directory, **queue) -> None:
    extra = "".join(f"{k} = {v}\n" for k, v in queue.items())
    path.write_text(
        f'[kiosk]\nid = "{path.stem}"\nwindow = "2"\n[queue]\nrole = "window"\nhost = "{host.url}/"\n'
        f'host_token = "{token}"\ndirectory = "{directory}"\nstaff_pin_hash = "{hash_pin(STAFF_PIN)}"\n{extra}',
        encoding="utf-8",
    )


def window_2(screen, host, tokens, directory, tmp_path) -> KioskApp:
    """The kiosk app as window 2 of the office (started by ``with``)."""
    config = tmp_path / "window-2.toml"
    kiosk_config(config, host, tokens["2"], directory)
    return KioskApp(screen, tmp_path / "kiosk-data", config, tmp_path / "app.log", env={"SDL_AUDIODRIVER": "dummy"})


def shown_with(app: KioskApp, screen: str, target: str, lang: str = r"\S+", timeout: float = 20) -> None:
    """Wait for ``screen`` drawn with ``target`` among its touch targets (it may be drawn before it has it)."""
    while True:
        app.expect_shown(screen, lang, timeout)
        if target in app.layout:
            return


def enter_pin(app: KioskApp) -> None:
    for key in STAFF_PIN:
        app.click(f"pin:{key}")
    app.click("pin:ok")
    app.expect(r"staff: unlocked")
    app.expect_shown("staff")


@pytest.mark.gui
@needs_x
def test_a_window_kiosk_calls_and_transfers_through_the_host_and_says_when_it_is_lost(screen, office, tmp_path):
    host, tokens, directory = office
    entrance = HostClient(host.url, tokens["entrance"])
    issued = [
        entrance.issue(code, priority=False, press=f"gui-{i:04d}")["number"]
        for i, code in enumerate(["electoral_roll", "polling_place", "polling_place"])
    ]
    assert issued == ["C001", "D001", "D002"]
    with window_2(screen, host, tokens, directory, tmp_path) as app:
        app.expect_shown("home", timeout=30)
        app.click("guidance")
        app.expect_shown("guidance")
        app.click("staff")
        app.expect_shown("staff")
        enter_pin(app)
        assert {"next", "recall", "no_show", "transfer", "lock"} <= set(app.layout)

        # Next through the host: the window's line (priority first, then in order) is the office's.
        app.click("next")
        app.expect(r"called: C001 next")
        called = host_events(host, "ticket_called")
        assert [(e["ticket"], e["window"]) for e in called] == [("C001", "2")]

        # 轉介: C001 goes on to the election bulletin, for window 1, at the front of its line.
        app.click("transfer")
        app.expect_shown("staff")
        assert "transfer:election_bulletin" in app.layout and "transfer_cancel" in app.layout
        shot(app, "transfer-service")
        app.click("transfer:election_bulletin")
        app.expect_shown("staff")
        assert {"to_window:any", "to_window:1", "to_window:2", "position:front", "position:back"} <= set(app.layout)
        app.click("to_window:1")
        app.click("position:front")
        shot(app, "transfer-confirm")
        app.click("transfer_confirm")
        app.expect(r"transferred: C001")
        app.expect_shown("staff")
        assert "transfer_done" in app.layout
        shot(app, "transfer-done")
        app.click("language")
        app.expect_shown("staff", "en")
        shot(app, "transfer-done-en")
        app.click("language")
        app.expect_shown("staff", "zh-TW")
        app.click("transfer_done")
        app.expect_shown("staff")
        moved = host_events(host, "ticket_transferred")
        assert [(e["ticket"], e["service"], e["to_window"], e["position"]) for e in moved] == [
            ("C001", "election_bulletin", "1", "front")
        ]

        app.click("next")
        app.expect(r"called: D001 next")  # C001 now waits for window 1

        # The host is gone (a power cut): the panel says so, and nothing is called.
        port = host.port
        host.kill()
        app.click("next")
        app.expect(r"staff next not stored")
        app.expect_shown("staff")
        shot(app, "host-lost")
        app.click("language")
        app.expect_shown("staff", "en")
        shot(app, "host-lost-en")
        app.click("lock")
        app.expect_shown("home")

        # A visitor meanwhile: the service's page says numbers are unavailable, and why.
        app.click("guidance")
        app.expect_shown("guidance")
        app.click("service:polling_place")
        app.expect(r"service polling_place: no status")
        app.expect_shown("guidance")
        assert "take" not in app.layout and "back" in app.layout
        shot(app, "guidance-host-lost")
        app.click("back")
        app.expect_shown("guidance")
        app.click("back")
        app.expect_shown("home")

        # The host comes back on its address: next works again, and nothing was called twice.
        host.start(port)
        app.click("guidance")
        app.expect_shown("guidance")
        app.click("staff")
        app.expect_shown("staff")
        enter_pin(app)
        app.click("next")
        app.expect(r"called: D002 next")
        app.click("lock")
        app.expect_shown("home")
        assert app.stop() == 0
    log = app.log_text()
    assert "Traceback" not in log, log[-3000:]
    called = host_events(host, "ticket_called")
    assert [(e["ticket"], e["window"], e["call"]) for e in called] == [
        ("C001", "2", 1),
        ("D001", "2", 1),
        ("D002", "2", 1),
    ]
    served = host_events(host, "ticket_served")
    assert [e["ticket"] for e in served] == ["C001", "D001"]  # C001's service here ended at the transfer
    assert not [e for e in app.events() if e["type"].startswith("ticket_")]  # the queue lives at the host


@pytest.mark.gui
@needs_x
def test_a_window_kiosk_keeps_working_while_the_host_hangs_on_a_ticket(screen, office, tmp_path):
    """The host stops answering (SIGSTOP: connections taken, no answers) as a visitor taps 取號: the
    screen says 取號中… and keeps working (a rating pressed meanwhile is counted), and the number
    is shown once the host answers. Stopped again, a service's page still opens at once."""
    host, tokens, directory = office
    with window_2(screen, host, tokens, directory, tmp_path) as app:
        app.expect_shown("home", timeout=30)
        app.click("guidance")
        shown_with(app, "guidance", "service:polling_place")
        app.click("service:polling_place")
        shown_with(app, "guidance", "take")
        host.proc.send_signal(signal.SIGSTOP)
        try:
            app.click("take")
            app.expect(r"ticket: taking a number for polling_place through the office's queue host")
            app.key("1")  # demo keys are read on the UI thread: a frozen screen would not count this
            app.expect(r"press: level 1 counted")
            assert "ticket: D001 stored" not in app.log_text() and "ticket not stored" not in app.log_text()
            shot(app, "taking-number", settle=0.3)
        finally:
            host.proc.send_signal(signal.SIGCONT)
        app.expect(r"ticket: D001 stored", timeout=30)
        app.expect_shown("ticket")
        app.expect_shown("ticket")  # its back button acts a second later
        app.click("back")
        app.expect_shown("home")

        # A service's page while the host hangs: it is drawn at once, its line read beside it,
        # and it says numbers are unavailable once the read has failed.
        app.click("guidance")
        shown_with(app, "guidance", "service:polling_place")
        host.proc.send_signal(signal.SIGSTOP)
        try:
            app.click("service:polling_place")
            shown_with(app, "guidance", "back")
            assert "service:polling_place" not in app.layout  # the service's page, not the list
            assert "service polling_place: no status" not in app.log_text()  # drawn before the read ended
            app.expect(r"service polling_place: no status")
            app.expect_shown("guidance")
            assert "take" not in app.layout
        finally:
            host.proc.send_signal(signal.SIGCONT)
        assert app.stop() == 0
    log = app.log_text()
    assert "Traceback" not in log, log[-3000:]
    assert [e["ticket"] for e in host_events(host, "ticket_issued")] == ["D001"]  # one ticket, not one per try
    assert [e["level"] for e in app.events() if e["type"] == "rating"] == [1]


@pytest.mark.gui
@needs_x
def test_the_entrance_kiosk_lists_every_service_and_issues_through_the_host(screen, office, tmp_path):
    host, tokens, directory = office
    services = load_file(bundled_path()).services
    printed = tmp_path / "printer.bin"
    config = tmp_path / "entrance.toml"
    kiosk_config(config, host, tokens["entrance"], directory, entrance="true", printer=f'"file:{printed}"')
    with KioskApp(screen, tmp_path / "kiosk-data", config, tmp_path / "app.log") as app:
        shown_with(app, "home", "take:candidate_registration", timeout=30)  # once the host gave the lines
        assert {f"service:{s.code}" for s in services} <= set(app.layout)  # every service of the office
        assert {f"take:{s.code}" for s in services} <= set(app.layout)
        assert not [t for t in app.layout if t.startswith("tile:")]  # no rating tiles
        shot(app, "entrance", settle=1.0)  # the cards may still be redrawing their lines
        app.click("take:candidate_registration")
        app.expect(r"ticket: A001 stored")
        app.expect(rf"ticket-qr: A001 links {host.url}/t/…")  # the phone page on the host
        app.expect_shown("ticket")
        app.expect_shown("ticket")  # its back button acts a second later
        wait_until(lambda: "printed: A001" in app.log_text(), what="the ticket printed")
        shot(app, "entrance-ticket")
        app.click("back")
        app.expect_shown("home")
        app.click("language")
        shown_with(app, "home", "my_number", "en")  # 我的號碼 recalls the ticket just taken
        shot(app, "entrance-en")
        app.click("take_priority:election_bulletin")
        app.expect(r"ticket: P001 stored")
        app.expect_shown("ticket", "en")
        # Printing runs beside the screen: stopped before it ends, the file held half a ticket.
        wait_until(lambda: "printed: P001" in app.log_text(), what="the priority ticket printed")
        assert app.stop() == 0
    log = app.log_text()
    assert "Traceback" not in log, log[-3000:]
    issued = host_events(host, "ticket_issued")
    assert [(e["ticket"], e["service"], e["priority"]) for e in issued] == [
        ("A001", "candidate_registration", False),
        ("P001", "election_bulletin", True),
    ]
    assert b"P001" in printed.read_bytes()  # printed like any ticket (the file holds the last one)
    assert not [e for e in app.events() if e["type"] in ("rating", "ticket_issued")]
