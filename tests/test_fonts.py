"""The cached Traditional Chinese face is reused only when whole; a torn copy is made again."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kiosk.fonts import SEARCH, find_cjk_font, missing_glyphs


def _collection() -> Path:
    for name in SEARCH["Regular"]:
        if name.endswith(".ttc") and Path(name).is_file():
            return Path(name)
    if os.environ.get("CI"):
        pytest.fail("CI has no Noto Sans CJK collection: ./dev.sh setup installs fonts-noto-cjk")
    pytest.skip("no Noto Sans CJK collection (apt-get install fonts-noto-cjk)")


@pytest.fixture
def cached(tmp_path):
    _collection()
    font = find_cjk_font(cache=tmp_path)["Regular"]
    assert font.parent == tmp_path
    return font


def test_a_whole_cached_face_is_reused(cached, tmp_path):
    before = cached.stat()
    again = find_cjk_font(cache=tmp_path)["Regular"]
    assert again == cached
    assert (again.stat().st_ino, again.stat().st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


@pytest.mark.parametrize("damage", ["truncated", "one byte changed", "check file lost"])
def test_a_damaged_cached_face_is_made_again(cached, tmp_path, damage):
    whole, damaged_inode = cached.read_bytes(), cached.stat().st_ino
    if damage == "truncated":  # what a power cut before the data reached the card leaves
        with open(cached, "r+b") as fh:
            fh.truncate(len(whole) // 3)
    elif damage == "one byte changed":
        with open(cached, "r+b") as fh:
            fh.seek(len(whole) // 2)
            fh.write(bytes([whole[len(whole) // 2] ^ 0xFF]))
    else:
        cached.with_name(cached.name + ".check").unlink()
    font = find_cjk_font(cache=tmp_path)["Regular"]
    # fontTools stamps the save time into the face, so compare what matters, not bytes.
    assert font.stat().st_size == len(whole)
    assert font.stat().st_ino != damaged_inode  # made again and renamed in, not patched
    assert missing_glyphs(font, "非常滿意") == set()
    assert not list(tmp_path.glob("*.tmp"))
