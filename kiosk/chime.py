"""The call chime and the optional spoken call.

The chime is a short two-tone WAV in kiosk.assets (``write_chime`` made it; no sound
file needs downloading), played by the UI through Kivy's SoundLoader. Where
espeak-ng is installed and ``[queue] speak`` is on, the call is also spoken, in
a child process so the UI never waits for it.
"""

from __future__ import annotations

import logging
import math
import shutil
import struct
import subprocess
import threading
import wave
from pathlib import Path

from kiosk.config import asset_path

log = logging.getLogger(__name__)

CHIME_PATH = asset_path("chime.wav")
RATE = 16000
# Two falling tones (E5 then C5), like a station announcement gong.
TONES = ((659.25, 0.45), (523.25, 0.7))


def write_chime(path: Path = CHIME_PATH) -> Path:
    """Write the two-tone chime as 16-bit mono WAV (about 37 kB)."""
    frames = bytearray()
    for freq, seconds in TONES:
        n = int(RATE * seconds)
        for i in range(n):
            t = i / RATE
            envelope = min(1.0, i / (0.01 * RATE)) * math.exp(-3.2 * t / seconds)
            # A touch of the octave makes it a bell rather than a beep.
            sample = envelope * (0.8 * math.sin(2 * math.pi * freq * t) + 0.2 * math.sin(4 * math.pi * freq * t))
            frames += struct.pack("<h", int(sample * 0.6 * 32767))
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(bytes(frames))
    return path


def call_words(number: str, window: str) -> tuple[str, str]:
    """What is spoken for a call, zh-TW and English."""
    spaced = " ".join(number)  # "A 0 0 4": read digit by digit, as counters do
    return (f"來賓 {spaced} 號，請到 {window} 號窗口", f"Number {spaced}, please go to window {window}")


def speak_command(text: str, lang: str) -> list[str] | None:
    """The espeak-ng command for ``text``, or None when espeak-ng is not installed."""
    exe = shutil.which("espeak-ng")
    if exe is None:
        return None
    return [exe, "-v", "cmn" if lang == "zh-TW" else "en", "-s", "140", text]


def speak(number: str, window: str) -> threading.Thread | None:
    """Speak the call in zh-TW then English, without waiting; None when espeak-ng is missing."""
    zh, en = call_words(number, window)
    zh_command, en_command = speak_command(zh, "zh-TW"), speak_command(en, "en")
    if zh_command is None or en_command is None:
        return None
    commands = [zh_command, en_command]

    def run():
        for command in commands:
            try:
                subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30)
            except (OSError, subprocess.SubprocessError) as exc:
                log.warning("espeak-ng failed: %s", exc)
                return

    thread = threading.Thread(target=run, name="kiosk-speak", daemon=True)
    thread.start()
    return thread
