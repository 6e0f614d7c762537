"""The call chime.

The chime is a short two-tone WAV in kiosk.assets (``write_chime`` made it; no sound
file needs downloading). The app plays it, and speaks calls and prompts, through one
announcer (kiosk/announcer.py, kiosk/ui/speech.py), so no two sounds overlap.
"""

from __future__ import annotations

import math
import struct
import wave
from pathlib import Path

from kiosk.config import asset_path

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
