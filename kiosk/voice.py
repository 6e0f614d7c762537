"""Words into sound, offline: the office's own recordings first, espeak-ng next, the chime last.

A ``Phrase`` is what is to be said twice over: as a list of clip names (``guest``, ``A``,
``0``, ``1``, ``2``, ``number``, ``please_go_to`` …) and as the sentence espeak-ng reads
when a clip is missing. An office drops its recordings, one WAV per clip name, in
``<clips folder>/<language>/`` (docs/queue.md lists the names); it may record them in 華語,
台語 or 客語 (國家語言發展法 lets citizens use their national language with government).
espeak-ng has voices for 華語 (cmn) and 客語 (hak) but none for 台語, so a 台語 office without
a full set of clips falls back to the 華語 voice, then to the chime.

The rendered sound is one WAV file (clips joined end to end), so a call is one sound and
cannot interleave with another; files are cached by content, since calls repeat all day.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import subprocess
import wave
from dataclasses import dataclass
from pathlib import Path

from kiosk.config import AUDIO_LANGUAGES, asset_path

log = logging.getLogger(__name__)

CHIME_PATH = asset_path("chime.wav")

# Language code -> (name shown to staff, espeak-ng voice or None).
LANGUAGES: dict[str, tuple[str, str | None]] = {
    "cmn": ("華語 Mandarin", "cmn"),
    "nan": ("台語 Taiwanese", None),
    "hak": ("客語 Hakka", "hak"),
}
assert tuple(LANGUAGES) == AUDIO_LANGUAGES
FALLBACK_VOICE = "cmn"
# Words per minute: slower than espeak-ng's 175, as counters speak for every listener.
SPEED = 140


@dataclass(frozen=True)
class Phrase:
    """Something to say: clip names in order, and the same words as text for the synthesiser."""

    clips: tuple[str, ...]
    text: str


@dataclass(frozen=True)
class Sound:
    """A rendered phrase: the WAV to play, and where it came from (``clips``, ``espeak`` or ``chime``)."""

    path: Path
    source: str


class Voice:
    """Renders phrases in one language, choosing recorded clips, espeak-ng or the chime."""

    def __init__(
        self,
        *,
        cache_dir: Path,
        language: str = "cmn",
        clips_dir: Path | None = None,
        espeak: str | None = "espeak-ng",
        chime: Path = CHIME_PATH,
    ):
        if language not in LANGUAGES:
            raise ValueError(f"unknown language {language!r}; one of {', '.join(LANGUAGES)}")
        self.language = language
        self.clips_dir = clips_dir / language if clips_dir else None
        # The synthesiser's command, found on PATH; None (or not installed) means clips or the chime only.
        self.espeak = shutil.which(espeak) if espeak else None
        self.chime = chime
        self.cache_dir = cache_dir

    def missing_clips(self, phrase: Phrase) -> list[str]:
        """Clip names of ``phrase`` that the office has not recorded (all of them without a folder)."""
        if self.clips_dir is None:
            return list(phrase.clips)
        return [name for name in phrase.clips if not (self.clips_dir / f"{name}.wav").is_file()]

    def render(self, phrase: Phrase) -> Sound:
        """The sound for ``phrase``: the office's clips when all are there, else espeak-ng, else the chime."""
        if phrase.clips and not self.missing_clips(phrase):
            try:
                return Sound(self._join_clips(phrase.clips), "clips")
            except (OSError, EOFError, wave.Error, ValueError) as exc:
                log.warning("voice: the recorded clips cannot be joined (%s); using espeak-ng", exc)
        voice = LANGUAGES[self.language][1] or FALLBACK_VOICE
        if self.espeak and phrase.text:
            try:
                return Sound(self._synthesise(phrase.text, voice), "espeak")
            except (OSError, subprocess.SubprocessError) as exc:
                log.warning("voice: espeak-ng failed (%s); only the chime sounds", exc)
        return Sound(self.chime, "chime")

    def _cached(self, key: str) -> tuple[Path, bool]:
        digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:24]
        path = self.cache_dir / f"{digest}.wav"
        return path, path.is_file()

    def _join_clips(self, names: tuple[str, ...]) -> Path:
        assert self.clips_dir is not None
        paths = [self.clips_dir / f"{name}.wav" for name in names]
        # The clips' sizes and times are in the key, so a re-recorded clip is picked up.
        stamp = "|".join(f"{p.name}:{p.stat().st_size}:{p.stat().st_mtime_ns}" for p in paths)
        out, hit = self._cached(f"clips|{self.clips_dir}|{stamp}")
        if hit:
            return out
        params = None
        frames: list[bytes] = []
        for path in paths:
            with wave.open(str(path), "rb") as clip:
                shape = (clip.getnchannels(), clip.getsampwidth(), clip.getframerate())
                if params is None:
                    params = shape
                elif shape != params:
                    raise ValueError(
                        f"{path.name} is {shape[0]} ch/{shape[1] * 8} bit/{shape[2]} Hz, "
                        f"the others {params[0]} ch/{params[1] * 8} bit/{params[2]} Hz"
                    )
                frames.append(clip.readframes(clip.getnframes()))
        assert params is not None
        self._write(out, params, b"".join(frames))
        return out

    def _synthesise(self, text: str, voice: str) -> Path:
        assert self.espeak is not None
        out, hit = self._cached(f"espeak|{voice}|{SPEED}|{text}")
        if hit:
            return out
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        part = out.with_suffix(".part")
        subprocess.run(
            [self.espeak, "-v", voice, "-s", str(SPEED), "-w", str(part), text],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=30,
        )
        os.replace(part, out)
        return out

    def _write(self, out: Path, params: tuple[int, int, int], frames: bytes) -> None:
        # A cache: a power cut loses at most a file that is rendered again, so no fsync.
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        part = out.with_suffix(".part")
        with wave.open(str(part), "wb") as w:
            w.setnchannels(params[0])
            w.setsampwidth(params[1])
            w.setframerate(params[2])
            w.writeframes(frames)
        os.replace(part, out)


def duration(path: Path) -> float:
    """Seconds of sound in a WAV file."""
    with wave.open(str(path), "rb") as w:
        return w.getnframes() / float(w.getframerate())
