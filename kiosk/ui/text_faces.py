"""One open font face per font file, resized for each text measured or drawn.

Kivy's SDL2 text provider opens a font file afresh for every pixel size it draws
(its cache key holds the size), and each opening of a Noto Sans CJK face costs
about 2.5 MB: FreeType copies the face's CFF subroutines into memory. The kiosk
draws 7 sizes on home and 11 once every screen is built. SDL_ttf (2.0.18 and
later) can resize an open face (``TTF_SetFontSize``) to exactly the metrics and
glyphs a fresh opening at that size gives, so this module measures and draws
through one face per file, and resizes it only when the size asked for changes.

``install()`` puts these methods on Kivy's ``LabelSDL2`` (every label, markup
ones too, is that class), calling the same SDL_ttf Kivy loaded, through ctypes:
Kivy keeps its own faces in a Cython dict Python cannot reach, so the drawing it
does in ``_text_sdl2.pyx`` (Kivy 2.3, pinned in pyproject.toml) is done here the
same way. Where that library or ``TTF_SetFontSize`` is not found, Kivy's own
provider stays, and the kiosk only costs more memory.
"""

from __future__ import annotations

import ctypes
import logging
from pathlib import Path
from typing import Any

from kivy.core.image import ImageData
from kivy.core.text.text_sdl2 import LabelSDL2  # also loads the SDL2 and SDL2_ttf Kivy draws with

from kiosk.ui.shared_libraries import loaded_library

log = logging.getLogger("kiosk.ui")


class _Surface(ctypes.Structure):
    # The head of SDL_Surface (SDL 2): the fields read here.
    _fields_ = [
        ("flags", ctypes.c_uint32),
        ("format", ctypes.c_void_p),
        ("w", ctypes.c_int),
        ("h", ctypes.c_int),
        ("pitch", ctypes.c_int),
        ("pixels", ctypes.c_void_p),
    ]


class _Color(ctypes.Structure):
    _fields_ = [("r", ctypes.c_uint8), ("g", ctypes.c_uint8), ("b", ctypes.c_uint8), ("a", ctypes.c_uint8)]


class _Rect(ctypes.Structure):
    _fields_ = [("x", ctypes.c_int), ("y", ctypes.c_int), ("w", ctypes.c_int), ("h", ctypes.c_int)]


SurfaceP = ctypes.POINTER(_Surface)
_HINTING = {"normal": 0, "light": 1, "mono": 2, None: 3}  # TTF_HINTING_*
_STYLE_UNDERLINE, _STYLE_STRIKETHROUGH = 0x04, 0x08
_BLENDMODE_NONE, _BLENDMODE_BLEND = 0, 1


_vp, _int, _str, _u32 = ctypes.c_void_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint32
_intp, _rectp = ctypes.POINTER(ctypes.c_int), ctypes.POINTER(_Rect)
# (function, result, arguments) of what drawing text needs; ctypes must be told each.
Signatures = list[tuple[str, Any, list[Any]]]
TTF_FUNCTIONS: Signatures = [
    ("TTF_WasInit", _int, []),
    ("TTF_Init", _int, []),
    ("TTF_OpenFont", _vp, [_str, _int]),
    ("TTF_SetFontSize", _int, [_vp, _int]),  # SDL_ttf 2.0.18 and later
    ("TTF_SetFontStyle", None, [_vp, _int]),
    ("TTF_GetFontHinting", _int, [_vp]),
    ("TTF_SetFontHinting", None, [_vp, _int]),
    ("TTF_GetFontKerning", _int, [_vp]),
    ("TTF_SetFontKerning", None, [_vp, _int]),
    ("TTF_SetFontOutline", None, [_vp, _int]),
    ("TTF_SizeUTF8", _int, [_vp, _str, _intp, _intp]),
    ("TTF_FontAscent", _int, [_vp]),
    ("TTF_FontDescent", _int, [_vp]),
    ("TTF_RenderUTF8_Blended", SurfaceP, [_vp, _str, _Color]),
    ("TTF_RenderUTF8_Solid", SurfaceP, [_vp, _str, _Color]),
]
SDL_FUNCTIONS: Signatures = [
    ("SDL_CreateRGBSurface", SurfaceP, [_u32, _int, _int, _int, _u32, _u32, _u32, _u32]),
    ("SDL_FreeSurface", None, [SurfaceP]),
    ("SDL_UpperBlit", _int, [SurfaceP, _rectp, SurfaceP, _rectp]),  # SDL_BlitSurface is a macro for it
    ("SDL_SetSurfaceAlphaMod", _int, [SurfaceP, ctypes.c_uint8]),
    ("SDL_SetSurfaceBlendMode", _int, [SurfaceP, _int]),
    ("SDL_GetError", _str, []),
]


def _declare(lib: ctypes.CDLL, functions: Signatures) -> ctypes.CDLL:
    for name, result, arguments in functions:
        fn = getattr(lib, name)  # AttributeError where the library lacks it
        fn.restype, fn.argtypes = result, arguments
    return lib


class _SDL:
    """SDL2 and SDL2_ttf, their functions typed for ctypes."""

    def __init__(self, sdl: ctypes.CDLL, ttf: ctypes.CDLL):
        self.sdl, self.ttf = _declare(sdl, SDL_FUNCTIONS), _declare(ttf, TTF_FUNCTIONS)

    def error(self) -> str:
        return (self.sdl.SDL_GetError() or b"").decode(errors="replace")


class _Face:
    """One open face and the settings it was last used with."""

    def __init__(self, sdl: _SDL, path: str, size: int):
        if not sdl.ttf.TTF_WasInit():
            sdl.ttf.TTF_Init()
        handle = sdl.ttf.TTF_OpenFont(path.encode(), size)
        if not handle:
            raise ValueError(f"{sdl.error()}: for font {path}")
        self.sdl, self.handle, self.size, self.style = sdl, handle, size, 0

    def use(self, options: dict) -> int:
        """The face's handle, set to ``options``' size and style (only what changed)."""
        ttf = self.sdl.ttf
        size = max(1, int(options["font_size"]))  # Kivy opens its faces at int(font_size) too
        if size != self.size:
            if ttf.TTF_SetFontSize(self.handle, size) != 0:
                raise ValueError(f"{self.sdl.error()}: font size {size}")
            self.size = size
        style = (_STYLE_UNDERLINE if options["underline"] else 0) | (
            _STYLE_STRIKETHROUGH if options["strikethrough"] else 0
        )
        if style != self.style:
            ttf.TTF_SetFontStyle(self.handle, style)
            self.style = style
        return self.handle


class SharedFaces:
    """The open faces, one per font file, and Kivy's label methods that use them."""

    def __init__(self, sdl: _SDL):
        self.sdl = sdl
        self.faces: dict[str, _Face] = {}

    def face(self, options: dict) -> int:
        path = options["font_name_r"]
        face = self.faces.get(path)
        if face is None:
            face = self.faces[path] = _Face(self.sdl, path, max(1, int(options["font_size"])))
        return face.use(options)

    # -- the methods put on Kivy's LabelSDL2 (``label`` is the label) ----------
    def get_extents(self, label, text: str) -> tuple[int, int]:
        ttf = self.sdl.ttf
        font = self.face(label.options)
        outline = label.options["outline_width"]
        if outline:
            ttf.TTF_SetFontOutline(font, outline)
        w, h = ctypes.c_int(), ctypes.c_int()
        ttf.TTF_SizeUTF8(font, text.encode(), ctypes.byref(w), ctypes.byref(h))
        if outline:
            ttf.TTF_SetFontOutline(font, 0)
        return w.value, h.value

    def get_ascent(self, label) -> int:
        return self.sdl.ttf.TTF_FontAscent(self.face(label.options))

    def get_descent(self, label) -> int:
        return self.sdl.ttf.TTF_FontDescent(self.face(label.options))

    def render_begin(self, label) -> None:
        w, h = label._size
        label._surface = self.sdl.sdl.SDL_CreateRGBSurface(0, w, h, 32, 0xFF, 0xFF00, 0xFF0000, 0xFF000000)

    def render_text(self, label, text: str, x: int, y: int) -> None:
        sdl, ttf, options = self.sdl.sdl, self.sdl.ttf, label.options
        font = self.face(options)
        hinting = _HINTING.get(options["font_hinting"], _HINTING["normal"])
        if ttf.TTF_GetFontHinting(font) != hinting:
            ttf.TTF_SetFontHinting(font, hinting)
        kerning = 1 if options["font_kerning"] else 0
        if ttf.TTF_GetFontKerning(font) != kerning:
            ttf.TTF_SetFontKerning(font, kerning)
        colour = options["color"]
        c = _Color(int(colour[0] * 255), int(colour[1] * 255), int(colour[2] * 255), 255)
        render = ttf.TTF_RenderUTF8_Blended if options["font_blended"] else ttf.TTF_RenderUTF8_Solid
        data = text.encode()
        outline = options["outline_width"]
        if outline:
            oc = options["outline_color"]
            ttf.TTF_SetFontOutline(font, outline)
            st = render(font, data, _Color(int(oc[0] * 255), int(oc[1] * 255), int(oc[2] * 255), 255))
            ttf.TTF_SetFontOutline(font, 0)
        else:
            st = render(font, data, c)
        if not st:
            return
        if outline:
            fg = render(font, data, c)
            if not fg:
                sdl.SDL_FreeSurface(st)
                return
            where = _Rect(outline, outline, fg.contents.w, fg.contents.h)
            sdl.SDL_SetSurfaceBlendMode(fg, _BLENDMODE_BLEND)
            sdl.SDL_UpperBlit(fg, None, st, ctypes.byref(where))
            sdl.SDL_FreeSurface(fg)
        where = _Rect(x, y, st.contents.w, st.contents.h)
        sdl.SDL_SetSurfaceAlphaMod(st, int(colour[3] * 255))
        # As Kivy: blending only for line_height < 1 (Kivy PR #6507, issue #6508).
        sdl.SDL_SetSurfaceBlendMode(st, _BLENDMODE_BLEND if options["line_height"] < 1 else _BLENDMODE_NONE)
        sdl.SDL_UpperBlit(st, None, label._surface, ctypes.byref(where))
        sdl.SDL_FreeSurface(st)

    def render_end(self, label) -> ImageData:
        surface, label._surface = label._surface, None
        w, h = surface.contents.w, surface.contents.h
        pixels = ctypes.string_at(surface.contents.pixels, w * h * 4)  # 32 bits a pixel, rows unpadded
        self.sdl.sdl.SDL_FreeSurface(surface)
        return ImageData(w, h, "rgba", pixels)


_installed: SharedFaces | None = None


def install() -> SharedFaces | None:
    """Make Kivy's SDL2 labels share one face per font file; None (Kivy's own kept) if it cannot."""
    global _installed
    if _installed is not None:
        return _installed
    sdl_path, ttf_path = loaded_library("libSDL2-"), loaded_library("libSDL2_ttf-")
    try:
        if sdl_path is None or ttf_path is None:
            raise OSError("SDL2 or SDL2_ttf is not among the loaded libraries")
        sdl = _SDL(ctypes.CDLL(sdl_path), ctypes.CDLL(ttf_path))
    except (OSError, AttributeError) as exc:  # AttributeError: an SDL_ttf before 2.0.18
        log.warning("Text: one font face per size (%s)", exc)
        return None
    faces = SharedFaces(sdl)
    LabelSDL2.get_extents = lambda self, text: faces.get_extents(self, text)
    LabelSDL2.get_ascent = lambda self: faces.get_ascent(self)
    LabelSDL2.get_descent = lambda self: faces.get_descent(self)
    LabelSDL2._render_begin = lambda self: faces.render_begin(self)
    LabelSDL2._render_text = lambda self, text, x, y: faces.render_text(self, text, x, y)
    LabelSDL2._render_end = lambda self: faces.render_end(self)
    _installed = faces
    log.info("Text: one font face per file, resized per text (%s)", Path(ttf_path).name)
    return faces
