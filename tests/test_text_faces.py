"""One font face per file (kiosk/ui/text_faces.py) measures and draws exactly as Kivy's face per size."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kiosk.fonts import SEARCH, find_cjk_font
from kiosk.ui.shared_libraries import loaded_library

# Run apart: it imports Kivy and changes its label class, which this process must not keep.
PROBE = r"""
import hashlib, json, sys
from kivy.core.text.text_sdl2 import LabelSDL2

regular, bold = sys.argv[1], sys.argv[2]
TEXTS = ["非常滿意", "Very dissatisfied, gjpqy", "1 號窗口 A023", "請按螢幕下方的實體按鈕評分"]
# Sizes jump about, as labels drawn one after another do, so the one face is resized each time.
CASES = [(text, size, weight, style) for size in (16, 29, 16, 24, 41, 20, 56, 16) for text in TEXTS
         for weight in ("Regular", "Bold") for style in ("plain",)]
CASES += [(TEXTS[1], 24, "Regular", "underline"), (TEXTS[0], 34, "Bold", "outline"), (TEXTS[2], 20, "Regular", "plain")]

def drawn(text, size, weight, style):
    label = LabelSDL2(text=text, font_size=size, font_name=bold if weight == "Bold" else regular,
                      color=(0.1, 0.2, 0.3, 0.9), underline=style == "underline",
                      outline_width=2 if style == "outline" else None)
    extents = label.get_extents(text)
    metrics = [label.get_ascent(), label.get_descent()]
    size_ = label.render()
    label._size = size_
    label._render_begin()
    label.render_lines(label._cached_lines, label._default_line_options(label._cached_lines),
                       label._render_text, 0, size_)
    data = label._render_end()
    return [list(extents), metrics, [data.width, data.height], hashlib.sha256(data.data).hexdigest()]

kivy_own = [drawn(*case) for case in CASES]
from kiosk.ui import text_faces
faces = text_faces.install()
shared = [drawn(*case) for case in CASES]
print(json.dumps({"installed": faces is not None, "kivy": kivy_own, "shared": shared,
                  "faces": sorted(faces.faces) if faces else [], "cases": CASES}))
"""


def _fonts(tmp_path: Path) -> dict[str, Path]:
    if not any(name.endswith(".ttc") and Path(name).is_file() for name in SEARCH["Regular"]):
        if os.environ.get("CI"):
            pytest.fail("CI has no Noto Sans CJK collection: ./dev.sh setup installs fonts-noto-cjk")
        pytest.skip("no Noto Sans CJK collection (apt-get install fonts-noto-cjk)")
    return find_cjk_font(cache=tmp_path / "fonts")


def test_one_face_per_file_draws_every_size_as_kivys_face_per_size(tmp_path):
    fonts = _fonts(tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith("KIVY_")}
    env.update(
        KIVY_NO_ARGS="1",
        KIVY_NO_CONFIG="1",
        KIVY_NO_FILELOG="1",
        KIVY_LOG_MODE="PYTHON",
        KIVY_TEXT="sdl2",
        KIVY_IMAGE="sdl2",
        KIVY_HOME=str(tmp_path / "kivy"),
    )
    out = subprocess.run(
        [sys.executable, "-c", PROBE, str(fonts["Regular"]), str(fonts["Bold"])],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["installed"]
    # Extents, ascent and descent, the drawn size and every pixel: the same as Kivy's own.
    for case, ours, kivys in zip(result["cases"], result["shared"], result["kivy"], strict=True):
        assert ours == kivys, case
    # Eight sizes, two weights: one face for each file.
    assert result["faces"] == sorted({str(fonts["Regular"]), str(fonts["Bold"])})


def test_the_loaded_library_is_found_by_its_name(tmp_path):
    maps = tmp_path / "maps"
    maps.write_text(
        "7f00-7f01 r--p 00000000 08:01 1 /usr/lib/x86_64-linux-gnu/libSDL2_image-2.0.so.0\n"
        "7f01-7f02 r-xp 00001000 08:01 2 /opt/venv/Kivy.libs/libSDL2_ttf-2-df2c5903.0.so.0.2200.0\n"
        "7f02-7f03 rw-p 00000000 00:00 0 \n"
        "7f03-7f04 r-xp 00000000 08:01 3 /usr/lib/libSDL2-2.0.so.0.2600.5\n",
        encoding="utf-8",
    )
    assert loaded_library("libSDL2_ttf-", maps) == "/opt/venv/Kivy.libs/libSDL2_ttf-2-df2c5903.0.so.0.2200.0"
    assert loaded_library("libSDL2-", maps) == "/usr/lib/libSDL2-2.0.so.0.2600.5"
    assert loaded_library("libSDL2_mixer-", maps) is None
    assert loaded_library("libSDL2-", tmp_path / "no such file") is None
