"""Finding a font that can draw Traditional Chinese.

Debian's fonts-noto-cjk ships Noto Sans CJK as font collections (.ttc), whose
first face is the Japanese one. Kivy's SDL2 text provider only opens a
collection's first face, so the TC face is copied out once into a cache
folder (fontTools, about half a second) and reused on every later start,
once its recorded size and checksum show it is whole.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import platformdirs

from server_sync.durable import make_dirs, replace_file, write_file

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


def _extract_face(collection: Path, weight: str, cache: Path) -> Path:
    stat = collection.stat()
    target = cache / f"NotoSansCJKtc-{weight}-{stat.st_size}-{int(stat.st_mtime)}.otf"
    if _cached_ok(target):
        return target
    from fontTools.ttLib import TTCollection  # only on the first start: a few MB to import

    fonts = TTCollection(str(collection), lazy=True).fonts
    for face in fonts:
        if face["name"].getDebugName(1) == FAMILY:
            make_dirs(cache)
            tmp = target.with_name(target.name + ".tmp")
            face.save(str(tmp))
            # fsync, rename, fsync the folder; the check file is written last, so a
            # cut anywhere before it only means the face is extracted again.
            replace_file(tmp, target)
            check = {"size": target.stat().st_size, "blake2b": _digest(target)}
            write_file(_check_path(target), json.dumps(check).encode())
            return target
    raise FontMissing(f"{collection} has no {FAMILY} face. {PACKAGE_HINT}")


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
