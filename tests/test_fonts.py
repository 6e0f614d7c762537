"""The cached Traditional Chinese face is reused only when whole; a torn copy is made again."""

from __future__ import annotations

import os
import struct
from pathlib import Path

import pytest

from kiosk.fonts import FAMILY, SEARCH, _u32_sum, find_cjk_font, missing_glyphs


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
    assert font.read_bytes() == whole  # the copy is the collection's bytes: the same every time
    assert font.stat().st_ino != damaged_inode  # made again and renamed in, not patched
    assert missing_glyphs(font, "非常滿意") == set()
    assert not list(tmp_path.glob("*.tmp"))


def test_the_copied_face_is_the_collections_tc_face_table_for_table(cached):
    from fontTools.ttLib import TTCollection, TTFont

    tc = next(f for f in TTCollection(str(_collection()), lazy=True).fonts if f["name"].getDebugName(1) == FAMILY)
    ours = TTFont(str(cached), lazy=True)
    assert ours["name"].getDebugName(1) == FAMILY
    tags = sorted(ours.reader.keys())
    assert tags == sorted(tc.reader.keys())
    for tag in tags:
        if tag != "head":  # head differs only in its checksum adjustment
            assert ours.reader[tag] == tc.reader[tag], tag
    # Every table's recorded checksum is right, and so is the whole file's (0xB1B0AFBA).
    data = cached.read_bytes()
    (count,) = struct.unpack_from(">H", data, 4)
    for i in range(count):
        tag, check, offset, length = struct.unpack_from(">4sLLL", data, 12 + 16 * i)
        body = bytearray(data[offset : offset + length])
        if tag == b"head":
            body[8:12] = bytes(4)
        assert _u32_sum(bytes(body)) == check, tag
    assert _u32_sum(data) == 0xB1B0AFBA


def _extract_when_all_are_ready(cache: str, ready) -> str:
    ready.wait(timeout=60)
    return str(find_cjk_font(cache=Path(cache))["Regular"])


def test_kiosks_starting_together_on_a_cold_cache_all_get_the_face(tmp_path):
    """Two kiosk processes on one machine (or a kiosk and `kiosk doctor`) extract the face
    into one empty cache at the same moment: each starts, and one whole face is left."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    _collection()
    spawn = multiprocessing.get_context("spawn")
    starters = 3
    with spawn.Manager() as manager, ProcessPoolExecutor(starters, mp_context=spawn) as pool:
        ready = manager.Barrier(starters)
        fonts = list(pool.map(_extract_when_all_are_ready, [str(tmp_path)] * starters, [ready] * starters))
    assert len(set(fonts)) == 1
    faces = find_cjk_font(cache=tmp_path)  # reused, so it passed the whole-file check
    assert str(faces["Regular"]) == fonts[0]
    made = {p.name for p in tmp_path.iterdir()}
    assert made == {name for face in set(faces.values()) for name in (face.name, face.name + ".check")}
