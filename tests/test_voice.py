"""The audio layer: the office's clips, espeak-ng, the chime, and one voice at a time."""

from __future__ import annotations

import os
import shutil
import threading
import wave
from pathlib import Path

import pytest

from kiosk import phrases
from kiosk.announcer import Announcer
from kiosk.voice import CHIME_PATH, Phrase, Voice, duration
from tests.waiting import wait_until

ESPEAK = shutil.which("espeak-ng")
needs_espeak = pytest.mark.skipif(ESPEAK is None and not os.environ.get("CI"), reason="espeak-ng not installed")


def write_clip(path: Path, seconds: float, *, rate: int = 16000, channels: int = 1) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"\x01\x00" * channels * int(rate * seconds))
    return path


def record_call_clips(clips: Path, language: str, phrase: Phrase, seconds: float = 0.1) -> None:
    for name in phrase.clips:
        write_clip(clips / language / f"{name}.wav", seconds)


def test_the_office_clips_are_joined_into_one_sound_when_all_are_there(tmp_path):
    phrase = phrases.call("A012", "2")
    assert phrase.clips == ("guest", "A", "0", "1", "2", "number", "please_go_to", "2", "counter")
    record_call_clips(tmp_path / "clips", "nan", phrase)
    voice = Voice(cache_dir=tmp_path / "cache", language="nan", clips_dir=tmp_path / "clips", espeak=None)
    sound = voice.render(phrase)
    assert sound.source == "clips"
    assert duration(sound.path) == pytest.approx(0.1 * len(phrase.clips), abs=1e-3)


def test_a_rerecorded_clip_is_used_at_once(tmp_path):
    phrase = Phrase(("guest",), "來賓")
    clip = write_clip(tmp_path / "clips" / "cmn" / "guest.wav", 0.1)
    voice = Voice(cache_dir=tmp_path / "cache", clips_dir=tmp_path / "clips", espeak=None)
    assert duration(voice.render(phrase).path) == pytest.approx(0.1, abs=1e-3)
    write_clip(clip, 0.25)
    assert duration(voice.render(phrase).path) == pytest.approx(0.25, abs=1e-3)


def test_without_clips_or_espeak_the_chime_sounds(tmp_path):
    voice = Voice(cache_dir=tmp_path, clips_dir=tmp_path / "none", espeak=None)
    sound = voice.render(phrases.call("A012", "2"))
    assert (sound.source, sound.path) == ("chime", CHIME_PATH)


def test_an_unknown_language_is_refused(tmp_path):
    with pytest.raises(ValueError, match="cmn, nan, hak"):
        Voice(cache_dir=tmp_path, language="xx")


@needs_espeak
def test_a_missing_clip_falls_back_to_espeak(tmp_path):
    phrase = phrases.call("B7", "3")
    record_call_clips(tmp_path / "clips", "cmn", Phrase(phrase.clips[:-1], ""))
    voice = Voice(cache_dir=tmp_path / "cache", clips_dir=tmp_path / "clips")
    assert voice.missing_clips(phrase) == ["counter"]
    sound = voice.render(phrase)
    assert sound.source == "espeak"
    assert duration(sound.path) > 1.0  # a whole sentence, not an empty file


@needs_espeak
def test_clips_of_different_formats_fall_back_to_espeak(tmp_path):
    phrase = Phrase(("guest", "number"), "來賓號")
    write_clip(tmp_path / "clips" / "cmn" / "guest.wav", 0.1, rate=16000)
    write_clip(tmp_path / "clips" / "cmn" / "number.wav", 0.1, rate=22050)
    sound = Voice(cache_dir=tmp_path / "cache", clips_dir=tmp_path / "clips").render(phrase)
    assert sound.source == "espeak"


@needs_espeak
def test_taiwanese_without_recordings_uses_the_mandarin_voice(tmp_path):
    phrase = phrases.ticket("A003", 2)
    nan = Voice(cache_dir=tmp_path, language="nan").render(phrase)
    cmn = Voice(cache_dir=tmp_path, language="cmn").render(phrase)
    hak = Voice(cache_dir=tmp_path, language="hak").render(phrase)
    assert nan.source == cmn.source == hak.source == "espeak"
    assert nan.path == cmn.path != hak.path


def test_prompts_name_what_the_visitor_needs():
    assert phrases.thanks(2, "滿意").clips == ("thanks", "level_2")
    assert phrases.thanks(2, "滿意").text.endswith("滿意")
    assert phrases.ticket("A003", None).text == "您的號碼是 A 0 0 3 號"
    assert phrases.ticket("A003", 12).clips[-4:] == ("ahead", "1", "2", "people")
    assert phrases.ticket("A003", 0).text.endswith("您是下一位")  # as the screen says, not "0 位"
    assert phrases.lookup_result("候選人登記", "審查中", "王○○").clips == ()
    assert all(name in phrases.CLIP_WORDS for p in (phrases.home(), phrases.call("Z9", "10")) for name in p.clips)


class Speaker:
    """A stand-in sound card: records what plays and holds each sound until released."""

    def __init__(self):
        self.started: list[Path] = []
        self.finished: list[Path] = []
        self.release = threading.Semaphore(0)

    def play(self, path: Path) -> float:
        assert len(self.started) == len(self.finished), "a sound started while another was playing"
        self.started.append(path)
        return 1.5

    def wait(self, seconds: float) -> None:
        assert seconds == 1.5
        self.release.acquire()
        self.finished.append(self.started[-1])


def test_phrases_play_one_after_another_never_over_each_other(tmp_path):
    speaker = Speaker()
    voice = Voice(cache_dir=tmp_path, espeak=None)
    announcer = Announcer(voice, speaker.play, wait=speaker.wait)
    try:
        assert announcer.say(phrases.call("A001", "1"))
        wait_until(lambda: len(speaker.started) == 1, what="the first call to start")
        assert announcer.say(phrases.call("A002", "2"))  # while the first still sounds
        assert not announcer.idle()
        assert len(speaker.started) == 1
        speaker.release.release()
        wait_until(lambda: len(speaker.started) == 2, what="the second call to start after the first")
        speaker.release.release()
        wait_until(announcer.idle, what="the announcer to fall silent")
        assert speaker.finished == speaker.started
        assert [s.source for s in announcer.played] == ["chime", "chime"]
    finally:
        announcer.close()


def test_a_failing_sound_card_does_not_stop_later_calls(tmp_path):
    played: list[Path] = []

    def play(path: Path) -> float:
        if not played:
            played.append(Path("failed"))
            raise OSError("no audio device")
        played.append(path)
        return 0.0

    announcer = Announcer(Voice(cache_dir=tmp_path, espeak=None), play, wait=lambda s: None)
    try:
        announcer.say(phrases.home())
        announcer.say(phrases.home())
        wait_until(announcer.idle, what="both phrases handled")
        assert played == [Path("failed"), CHIME_PATH]
    finally:
        announcer.close()
