"""Finding a font that can draw Traditional Chinese.

Debian's fonts-noto-cjk ships Noto Sans CJK as font collections (.ttc), whose
first face is the Japanese one. Kivy's SDL2 text provider only opens a
collection's first face, so the TC face is copied out once into a cache
folder and reused on every later start, once its recorded size and checksum
show it is whole. The copy is plain byte work on the collection's table
directory (``extract_face``: tens of milliseconds, no fontTools): a collection's
faces share table data, and one face is its tables behind a header of its own.
"""

from __future__ import annotations

import hashlib
import json
import struct
from pathlib import Path

import platformdirs

from server_sync.durable import make_dirs, write_file

PACKAGE_HINT = "請安裝字型 install the font: sudo apt-get install fonts-noto-cjk"

# Where Debian, Raspberry Pi OS and a few other systems put Noto Sans CJK.
SEARCH = {
    "Regular": [
        "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
        "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
        "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
        "/usr/share/fonts/opentype/noto/NotoSansCJKtc-Regular.otf",
    ],
    "Bold": [
        "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
        "/usr/share/fonts/noto-cjk/NotoSansCJK-Bold.ttc",
        "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Bold.ttc",
        "/usr/share/fonts/opentype/noto/NotoSansCJKtc-Bold.otf",
    ],
}
FAMILY = "Noto Sans CJK TC"


class FontMissing(Exception):
    """No usable CJK font; the message names the package to install."""


def _cache_dir() -> Path:
    return Path(platformdirs.user_cache_dir("counter-kiosk", appauthor=False)) / "fonts"


def _digest(path: Path) -> str:
    h = hashlib.blake2b(digest_size=16)  # fast on a Pi without crypto instructions
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def _check_path(font: Path) -> Path:
    return font.with_name(font.name + ".check")


def _cached_ok(font: Path) -> bool:
    """True if ``font`` is whole: its size and checksum match what was recorded when it was made.

    A file that only exists may be a torn copy left by a power cut, and Kivy
    would then draw nothing (or crash) on every start until someone deleted it.
    """
    try:
        recorded = json.loads(_check_path(font).read_text(encoding="utf-8"))
        return font.stat().st_size == recorded["size"] and _digest(font) == recorded["blake2b"]
    except (OSError, ValueError, KeyError, TypeError):
        return False


def _u32_sum(data: bytes) -> int:
    """The sfnt checksum: the sum of big-endian 32-bit words, zero-padded, modulo 2**32."""
    data += b"\0" * (-len(data) % 4)
    return sum(struct.unpack(f">{len(data) // 4}L", data)) & 0xFFFFFFFF


# A face's tables: {tag: (offset, length, checksum)}, as its collection records them.
Tables = dict[bytes, tuple[int, int, int]]


def _family(data: bytes, tables: Tables) -> str:
    """A face's family name (name ID 1), from its Windows or Mac record."""
    offset, _length, _sum = tables[b"name"]
    _format, count, strings = struct.unpack_from(">HHH", data, offset)
    found = ""
    for i in range(count):
        platform, _enc, _lang, name_id, size, where = struct.unpack_from(">6H", data, offset + 6 + 12 * i)
        if name_id != 1:
            continue
        raw = data[offset + strings + where : offset + strings + where + size]
        if platform == 3:
            return raw.decode("utf-16-be", errors="replace")
        found = found or raw.decode("latin-1")
    return found


def _faces(data: bytes) -> list[tuple[bytes, Tables]]:
    """Each face of a font collection: (its sfnt version, its tables)."""
    if data[:4] != b"ttcf":
        raise ValueError("not a font collection")
    (count,) = struct.unpack_from(">L", data, 8)
    faces = []
    for (start,) in struct.iter_unpack(">L", data[12 : 12 + 4 * count]):
        (num_tables,) = struct.unpack_from(">H", data, start + 4)
        records = [struct.unpack_from(">4sLLL", data, start + 12 + 16 * i) for i in range(num_tables)]
        faces.append((data[start : start + 4], {tag: (off, length, check) for tag, check, off, length in records}))
    return faces


def extract_face(data: bytes, family: str) -> bytes:
    """The face called ``family`` of the collection ``data``, as a font file of its own.

    The tables are copied as they are, with the checksums the collection records for
    them (the same bytes), so only ``head`` is summed again, for its checkSumAdjustment.
    """
    for version, face in _faces(data):
        if _family(data, face) != family:
            continue
        tags = sorted(face)
        n = len(tags)
        entry_selector = n.bit_length() - 1
        search_range = 16 << entry_selector
        header = version + struct.pack(">HHHH", n, search_range, entry_selector, n * 16 - search_range)
        offset = 12 + 16 * n
        records, bodies, sums, head_at = [], [], 0, -1
        for tag in tags:
            where, length, check = face[tag]
            body = data[where : where + length]
            if tag == b"head":
                head = bytearray(body)
                head[8:12] = bytes(4)  # checkSumAdjustment: set once the whole file's sum is known
                body, check, head_at = bytes(head), _u32_sum(bytes(head)), offset
            records.append(struct.pack(">4sLLL", tag, check, offset, length))
            bodies += [body, bytes(-length % 4)]
            sums += check
            offset += length + (-length % 4)
        directory = header + b"".join(records)
        font = bytearray(directory + b"".join(bodies))
        if head_at >= 0:  # the file's sum is its directory's plus every table's
            total = (_u32_sum(directory) + sums) & 0xFFFFFFFF
            struct.pack_into(">L", font, head_at + 8, (0xB1B0AFBA - total) & 0xFFFFFFFF)
        return bytes(font)
    raise FontMissing(f"no {family} face in the collection. {PACKAGE_HINT}")


def _extract_face(collection: Path, weight: str, cache: Path) -> Path:
    stat = collection.stat()
    target = cache / f"NotoSansCJKtc-{weight}-{stat.st_size}-{int(stat.st_mtime)}.otf"
    if _cached_ok(target):
        return target
    try:
        face = extract_face(collection.read_bytes(), FAMILY)
    except (ValueError, struct.error) as exc:
        raise FontMissing(f"{collection} cannot be read as a font collection ({exc}). {PACKAGE_HINT}") from None
    make_dirs(cache)
    # fsync, rename, fsync the folder; the check file is written last, so a
    # cut anywhere before it only means the face is extracted again.
    write_file(target, face)
    check = {"size": target.stat().st_size, "blake2b": _digest(target)}
    write_file(_check_path(target), json.dumps(check).encode())
    return target


def find_cjk_font(configured: str = "", *, cache: Path | None = None) -> dict[str, Path]:
    """Return {"Regular": path, "Bold": path} of fonts Kivy can open directly."""
    cache = cache or _cache_dir()
    if configured:
        path = Path(configured)
        if not path.is_file():
            raise FontMissing(f"設定的字型檔不存在 configured font not found: {path}. {PACKAGE_HINT}")
        return {"Regular": path, "Bold": path}
    found: dict[str, Path] = {}
    for weight, candidates in SEARCH.items():
        for candidate in map(Path, candidates):
            if candidate.is_file():
                found[weight] = _extract_face(candidate, weight, cache) if candidate.suffix == ".ttc" else candidate
                break
    if "Regular" not in found:
        raise FontMissing(f"找不到中文字型 no CJK font found ({FAMILY}). {PACKAGE_HINT}")
    found.setdefault("Bold", found["Regular"])
    return found


def missing_glyphs(font: Path, text: str) -> set[str]:
    """Characters of ``text`` that ``font`` cannot draw (whitespace ignored)."""
    from fontTools.ttLib import TTFont

    cmap = TTFont(str(font), lazy=True).getBestCmap()
    return {ch for ch in text if not ch.isspace() and ord(ch) not in cmap}
