"""The kiosk's voice in the app: one announcer for calls and prompts, the 🔊 聽語音 button.

Everything the kiosk sounds goes through one ``kiosk.announcer.Announcer`` (``app.speech``),
so a staff call waits for a prompt being read, and a prompt for a call, instead of
sounding over it. Without ``[queue] speak`` a call is the chime alone, through the same
announcer. Which screen is read and when is the flow's rule (``kiosk.flow.Flow.listen``,
``take_speech``); this module only turns a screen's name into the words on it.

Log lines (tests read them): ``speech: reading WHAT``, ``chime: played SECONDS s``,
``sound: played PATH SECONDS s``, ``audio: …`` when there is no audio output; the
announcer's own ``announcer: said …``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kivy.app import App
from kivy.clock import Clock
from kivy.lang import Builder

from kiosk import phrases
from kiosk.announcer import Announcer
from kiosk.ui.widgets import BigButton, Header, TextSizeButton
from kiosk.voice import CHIME_PATH, Phrase, Sound, Voice

log = logging.getLogger("kiosk.ui.speech")

# No clips and no words: the voice renders the chime (a call when [queue] speak is off).
CHIME = Phrase((), "")
SPOKEN_LANGUAGE = "zh-TW"  # the phrases are 華語 wording (or the office's clips): labels in zh-TW
KEPT_SOUNDS = 8  # loaded sounds kept for a replay (a recall, 🔊 again); older ones unloaded
START_TIMEOUT = 5.0  # seconds the announcer waits for the main thread to start a sound


class KivyPlayer:
    """Plays a WAV through Kivy's SoundLoader and returns its length in seconds.

    The announcer calls ``play`` on its worker thread; the sound is loaded and started
    on Kivy's main thread (Kivy's audio is not made for other threads) while the worker
    waits. Without an audio output the length is 0.0 and the reason is logged once.
    """

    def __init__(self) -> None:
        self._sounds: OrderedDict[Path, Any] = OrderedDict()  # kivy.core.audio.Sound
        self._warned = False
        self._playing: Any = None  # the sound started last

    def play(self, path: Path) -> float:
        started = threading.Event()
        length = [0.0]

        def start(_dt) -> None:
            try:
                length[0] = self._start(path)
            finally:
                started.set()

        Clock.schedule_once(start)
        if not started.wait(START_TIMEOUT):
            log.warning("sound: %s not started within %.0f s (the app is busy or stopping)", path.name, START_TIMEOUT)
        return length[0]

    def stop(self) -> None:
        """Stop the sound playing now (from any thread)."""
        Clock.schedule_once(lambda _dt: self._playing.stop() if self._playing is not None else None)

    def _start(self, path: Path) -> float:
        sound = self._sounds.pop(path, None) or self._load(path)
        if sound is None:
            return 0.0
        self._sounds[path] = sound  # the newest last
        while len(self._sounds) > KEPT_SOUNDS:
            _old, evicted = self._sounds.popitem(last=False)
            evicted.unload()
        sound.stop()
        sound.play()
        self._playing = sound
        seconds = float(sound.length)
        if path == CHIME_PATH:
            log.info("chime: played %.2f s", seconds)
        else:
            log.info("sound: played %s %.2f s", path.name, seconds)
        return seconds

    def _load(self, path: Path):
        try:
            # Here, not at the top: importing Kivy's audio core probes every audio provider
            # (GStreamer, ffpyplayer, SDL2), start-up time a kiosk that never sounds need not spend.
            from kivy.core.audio import SoundLoader

            sound = SoundLoader.load(str(path))
        except Exception as exc:
            self._no_output(f"cannot load {path.name}: {exc}")
            return None
        if sound is None or not sound.length:  # no audio device: SDL2 hands back an empty sound
            self._no_output("no audio output available; calls and prompts are shown only")
            return None
        return sound

    def _no_output(self, why: str) -> None:
        if not self._warned:
            self._warned = True
            log.warning("audio: %s", why)


@dataclass(frozen=True)
class Prompt(Phrase):
    """A visitor prompt, not a call: a newer prompt cuts it short (its screen has gone)."""


class Superseded(Exception):
    """A prompt whose turn came after a newer one was asked for: it is not played."""


class TrackingVoice(Voice):
    """A voice that remembers the phrase it rendered last: the one the announcer plays next."""

    current: Phrase | None = None

    def render(self, phrase: Phrase) -> Sound:
        self.current = phrase
        return super().render(phrase)


class Speech:
    """The app's announcer, and the words of each screen it reads (``app.speech``).

    A call is never cut short and never sounds over anything. A prompt is read to its end
    unless a newer prompt is asked for (the visitor moved on): then it stops at once, and a
    prompt that waited behind a call while a newer one came is skipped.
    """

    def __init__(self, app, *, player=None):
        cfg = app.kiosk_config
        self.app = app
        self.prompts = bool(cfg["audio.prompts"])  # the 🔊 button is offered
        self.speak_calls = bool(cfg["queue.speak"])
        self.voice = TrackingVoice(
            cache_dir=Path(app.data_dir) / "sounds",
            language=cfg["audio.language"],
            clips_dir=Path(cfg["audio.clips"]) if cfg["audio.clips"] else None,
        )
        self.player = player or KivyPlayer()
        self._latest: Prompt | None = None  # the newest prompt asked for
        self._cut = threading.Event()
        self.announcer = Announcer(self.voice, self._play, wait=self._wait)

    def read(self, what: str) -> bool:
        """Read the screen ``what`` (a name from kiosk.flow.LISTEN_SCREENS) aloud; False if it holds nothing."""
        phrase = self.phrase(what)
        if phrase is None:
            return False
        log.info("speech: reading %s", what)
        prompt = Prompt(phrase.clips, phrase.text)
        self._latest = prompt
        self._cut.set()  # a prompt playing now stops (a call plays on)
        return self.announcer.say(prompt)

    def phrase(self, what: str) -> Phrase | None:
        app = self.app
        if what == "home":
            return phrases.home()
        if what == "thanks":
            level = app.flow.thanked_level
            return phrases.thanks(level, app.level_label(level, SPOKEN_LANGUAGE)) if level else None
        if what == "ticket":
            ticket = app.sm.get_screen("ticket").ticket
            return phrases.ticket(ticket.number, ticket.ahead) if ticket is not None else None
        if what == "case_result":
            case = app.sm.get_screen("case_result").case
            if case is None:
                return None
            stage = case.current.label(SPOKEN_LANGUAGE) if case.current else ""
            return phrases.lookup_result(case.type_label(SPOKEN_LANGUAGE), stage, case.name)
        return None

    def call(self, number: str, window: str) -> None:
        """A ticket called (or recalled): spoken with ``[queue] speak``, else the chime; after what plays."""
        self.announcer.say(phrases.call(number, window) if self.speak_calls else CHIME)

    def close(self) -> None:
        self.announcer.close(timeout=1.0)

    # -- on the announcer's worker thread ---------------------------------------------
    def _stale(self, phrase: Phrase | None) -> bool:
        return isinstance(phrase, Prompt) and phrase is not self._latest

    def _play(self, path: Path) -> float:
        if self._stale(self.voice.current):
            raise Superseded("a newer prompt replaced it")
        return self.player.play(path)

    def _wait(self, seconds: float) -> None:
        """Wait the sound out; a prompt stops as soon as a newer prompt is asked for."""
        playing = self.voice.current
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            self._cut.wait(left)
            self._cut.clear()
            if self._stale(playing):
                self.player.stop()
                return


class ListenButton(BigButton):
    """🔊 聽語音: reads this screen aloud, and what appears after it in this visit."""


class SpokenHeader(Header):
    """The header of a screen that can be read: with ``[audio] prompts``, 🔊 聽語音 beside the text-size switch."""

    def on_kv_post(self, base_widget):
        super().on_kv_post(base_widget)
        speech = getattr(App.get_running_app(), "speech", None)
        if speech is None or not speech.prompts:
            return  # no button at all: the header is as on every other screen
        # children run right to left: just left of the text-size switch, else before the last
        index = next((i for i, w in enumerate(self.children) if isinstance(w, TextSizeButton)), 0)
        self.add_widget(ListenButton(), index=index + 1)


Builder.load_string("""
#:import W kiosk.ui.widgets

<ListenButton>:
    target: 'listen'
    size_hint: None, None
    # 80 x 64 px at 800x480, 15.4 x 12.3 mm on the official 7" panel (5.2 px/mm); the loudspeaker
    # above the word keeps it narrow, so the header still has room for the office's name.
    size: app.u * 80, app.u * 64
    pos_hint: {'center_y': 0.5}
    radius: app.u * 10
    padding: [app.u * 3, app.u * 32, app.u * 3, app.u * 3]
    primary: app.tr('listen', app.lang)
    primary_size: app.t * 20
    bg_color: W.WHITE
    down_color: W.NAVY_LIGHT
    fg_color: W.NAVY
    on_release: app.listen()
    canvas.after:
        # A loudspeaker with two sound waves, navy on white, above the word.
        Color:
            rgba: W.NAVY
        Rectangle:
            pos: self.center_x - app.u * 12, self.top - app.u * 23
            size: app.u * 5, app.u * 10
        Quad:
            points: [self.center_x - app.u * 7, self.top - app.u * 23, self.center_x - app.u * 7, self.top - app.u * 13, self.center_x + app.u * 1, self.top - app.u * 7, self.center_x + app.u * 1, self.top - app.u * 29]
        Line:
            circle: (self.center_x + app.u * 1, self.top - app.u * 18, app.u * 5, 45, 135)
            width: max(1.2, app.u * 1.6)
        Line:
            circle: (self.center_x + app.u * 1, self.top - app.u * 18, app.u * 9.5, 40, 140)
            width: max(1.2, app.u * 1.6)
""")
