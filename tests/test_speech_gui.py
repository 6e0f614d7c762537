"""Spoken prompts in the real app under Xvfb (issue 12 finding 11, issue 13 point 6).

One app start with ``[audio] prompts`` and ``[queue] speak`` on, SDL's dummy audio device
(sounds load and last their real length, nothing is heard): 🔊 on home reads the home
prompt; a rating then cuts it short and the thank-you is read naming the level; a ticket
taken is read, and a staff call waits for that prompt to end instead of sounding over it.
A second, short start with prompts off has no 🔊 and reads nothing. Screenshots of home
and the ticket with 🔊 go to docs/screenshots/ (1280×800 too with KIOSK_SCREENSHOTS=all).
Without a window: a newer prompt cuts the one being read; a call is never cut.
"""

from __future__ import annotations

import os
import re
import time
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace

import pytest
from servicefile import all_day_directory
from waiting import wait_until
from xvfb import KioskApp, Xvfb, docs_shot, needs_x, screen_fixture

from kiosk import phrases
from kiosk.config import validate
from kiosk.ui.speech import Speech

SIZES = ["800x480"] + (["1280x800"] if os.environ.get("KIOSK_SCREENSHOTS") == "all" else [])
MIN_TARGET_MM = 12
PX_PER_MM = 800 / 154.08  # the official 7" panel's 800 pixels across 154.08 mm
AUDIO = {"SDL_AUDIODRIVER": "dummy"}

screen = screen_fixture(SIZES)


def write_config(tmp_path: Path, *, prompts: bool) -> Path:
    config = tmp_path / f"cfg-{prompts}.toml"
    config.write_text(
        f"""\
[kiosk]
id = "gui-speech-w1"
window = "1"
thanks_seconds = 1.5

[buttons]
repeat_window = 0.2

[queue]
directory = "{all_day_directory(tmp_path / "services.csv")}"
speak = true

[audio]
prompts = {"true" if prompts else "false"}
""",
        encoding="utf-8",
    )
    return config


def shot(app: KioskApp, name: str) -> None:
    docs_shot(app, name, settle=0.3, not_blank=False)


def logged_at(line: re.Match) -> datetime:
    """The time stamp that opens the matched log line."""
    start = line.string.rfind("\n", 0, line.start()) + 1
    return datetime.strptime(line.string[start : start + 23], "%Y-%m-%d %H:%M:%S,%f")


def shown(app: KioskApp, screen: str, lang: str = r"\S+", timeout: float = 15) -> None:
    """``app.expect_shown``, reading the layout past lines the announcer's thread logs among it."""
    match = app.expect(rf"^.*shown: {screen} ({lang})\n", timeout)
    app.layout = {}
    for line in reversed(match.string[: match.start()].splitlines()):
        if " shown: " in line:
            break  # the screen drawn before this one
        found = re.search(r"layout: (\S+) (\S+) (-?\d+) (-?\d+) (\d+) (\d+)$", line)
        if found and found.group(1) == screen:
            app.layout.setdefault(found.group(2), tuple(int(v) for v in found.groups()[2:]))


def heard(app: KioskApp, words: str, since: int, timeout: float = 15) -> re.Match:
    """The announcer's ``said`` line for ``words`` after log position ``since`` (from its own thread,
    so in any order with the screens' lines: it leaves ``app.expect``'s place alone)."""
    pattern = re.compile(rf"announcer: said '{words}")
    return wait_until(lambda: pattern.search(app.log_text(), since), timeout, f"{words!r} said")


def check_listen_target(app: KioskApp) -> None:
    assert "listen" in app.layout, f"no 🔊 on this screen; have {sorted(app.layout)}"
    _x, _y, w, h = app.layout["listen"]
    scale = min(app.xvfb.width / 800, app.xvfb.height / 480)
    assert min(w, h) / scale >= MIN_TARGET_MM * PX_PER_MM, f"🔊 is only {w}x{h} px"
    assert app.layout["listen"][1] == app.layout["language"][1], "🔊 sits in the header, beside the switches"


@pytest.mark.gui
@needs_x
def test_listen_reads_home_then_the_thank_you_ticket_and_call_in_turn(screen, tmp_path):
    config = write_config(tmp_path, prompts=True)
    with KioskApp(screen, tmp_path / "data", config, tmp_path / "app.log", env=AUDIO) as app:
        shown(app, "home", timeout=30)
        check_listen_target(app)
        shot(app, "home-listen")

        mark = len(app.log_text())
        app.click("listen")
        app.expect(r"speech: on")
        heard(app, "歡迎光臨，請為本次服務評分", mark)

        # A rating while home is still being read (its sentence lasts over 10 s): the thank-you
        # follows at once, naming the level, not after the home prompt's end.
        mark = len(app.log_text())
        app.key("1")
        app.expect(r"press: level 1 counted")
        heard(app, "謝謝您的評分，您選擇了非常滿意", mark, timeout=10)  # < the home prompt's 17 s
        shown(app, "thanks")
        check_listen_target(app)
        app.expect(r"speech: off")  # the visit ended with the thank-you
        shown(app, "home")
        assert "speech: reading" not in app.log_text()[mark:].split("speech: reading thanks", 1)[1]

        # In English this time; 🔊 again, then a ticket: read as it appears.
        app.click("language")
        shown(app, "home", "en")
        shot(app, "home-listen-en")
        app.click("listen")
        app.expect(r"speech: reading home")
        app.click("guidance")
        shown(app, "guidance", "en")
        app.click("service:candidate_registration")
        shown(app, "guidance", "en")
        mark = len(app.log_text())
        app.click("take")
        app.expect(r"ticket: A001 stored")
        ticket = heard(app, phrases.ticket("A001", 0).text, mark)
        shown(app, "ticket", "en")
        shown(app, "ticket", "en")  # a second later, when its buttons act (kiosk.flow.TAKE_GUARD)
        check_listen_target(app)
        shot(app, "ticket-listen-en")
        app.click("language")
        shown(app, "ticket", "zh-TW")
        shot(app, "ticket-listen")

        # The staff call the number: it waits until the ticket's sentence has been said.
        length = float(re.findall(r"sound: played \S+ ([\d.]+) s", app.log_text()[: ticket.start()])[-1])
        mark = len(app.log_text())
        app.key("n")
        app.expect(r"called: A001 next")
        call = heard(app, "來賓 A 0 0 1 號，請到 1 號櫃台", mark, timeout=20)
        waited = (logged_at(call) - logged_at(ticket)).total_seconds()
        assert waited >= length - 0.1, f"the call began {waited:.2f} s into a {length:.2f} s prompt"
        assert app.stop() == 0


@pytest.mark.gui
@needs_x
def test_with_prompts_off_there_is_no_listen_button_and_nothing_is_read(tmp_path):
    config = write_config(tmp_path, prompts=False)
    with Xvfb(800, 480) as xvfb, KioskApp(xvfb, tmp_path / "data", config, tmp_path / "app.log", env=AUDIO) as app:
        shown(app, "home", timeout=30)
        assert "listen" not in app.layout and "language" in app.layout
        app.key("1")
        shown(app, "thanks")
        assert "listen" not in app.layout
        shown(app, "home")
        assert app.stop() == 0
        assert "speech:" not in app.log_text()


# -- the app's announcer without a window: calls never cut, prompts cut by newer prompts ------


class Player:
    """A stand-in for the Kivy player: every sound lasts ``seconds``; records starts and stops."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.started: list[float] = []
        self.stops = 0

    def play(self, path: Path) -> float:
        self.started.append(time.monotonic())
        return self.seconds

    def stop(self) -> None:
        self.stops += 1


def speech_for(tmp_path: Path, player: Player, *, speak: bool) -> Speech:
    app = SimpleNamespace(
        kiosk_config=validate({"kiosk": {"id": "speech-w1"}, "queue": {"speak": speak}, "audio": {"prompts": True}}),
        data_dir=tmp_path,
    )
    speech = Speech(app, player=player)
    speech.voice.espeak = None  # the chime for every phrase: what is played when is what counts here
    return speech


def test_a_newer_prompt_cuts_the_one_being_read(tmp_path):
    player = Player(seconds=60)
    speech = speech_for(tmp_path, player, speak=True)
    try:
        speech.read("home")
        wait_until(lambda: len(player.started) == 1, 5, "the home prompt to start")
        speech.read("home")  # the visitor moved on: the first is stopped, the second starts at once
        wait_until(lambda: len(player.started) == 2, 5, "the newer prompt to start")
        assert player.stops == 1
    finally:
        speech.close()


def test_a_call_is_never_cut_and_a_prompt_that_waited_behind_it_for_a_newer_one_is_skipped(tmp_path):
    player = Player(seconds=0.6)
    speech = speech_for(tmp_path, player, speak=False)
    try:
        speech.call("A001", "1")  # [queue] speak off: the chime, through the same announcer
        wait_until(lambda: len(player.started) == 1, 5, "the call to start")
        speech.read("home")
        speech.read("home")  # asked for while the call sounds: only this one is read
        wait_until(speech.announcer.idle, 10, "the announcer to fall silent")
        assert player.stops == 0 and len(player.started) == 2
        assert player.started[1] - player.started[0] >= player.seconds  # after the call, not over it
        assert [s.source for s in speech.announcer.played] == ["chime", "chime"]
    finally:
        speech.close()
