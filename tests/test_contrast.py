"""WCAG contrast of the kiosk's palette (kiosk/ui/widgets.py), without a window.

Text: 7:1 (AAA) for every text colour on every background of its family; marks that
are not text (borders, focus rings, icons, the current-stage dot): 3:1. And the
screens draw text only in the palette's text colours, so the pairs cannot drift.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kiosk.ui import widgets as W

REPO = Path(__file__).resolve().parents[1]
KV_FILES = sorted((REPO / "kiosk" / "ui" / "screens").glob("*.kv"))
TEXT_PROPS = ("color", "fg_color", "fg2_color")


def luminance(colour) -> float:
    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in colour[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a, b) -> float:
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_contrast_formula_matches_wcag():
    assert contrast(W.rgb("#000000"), W.rgb("#FFFFFF")) == pytest.approx(21.0)
    assert contrast(W.rgb("#777777"), W.rgb("#FFFFFF")) == pytest.approx(4.48, abs=0.01)


def light_grounds():
    return [(n, getattr(W, n)) for n in W.LIGHT_GROUNDS] + [
        (f"tile {i + 1}", c) for i, c in enumerate(W.tile_grounds())
    ]


@pytest.mark.parametrize("text", W.TEXT_ON_LIGHT)
def test_text_on_light_grounds_is_aaa(text):
    for ground, colour in light_grounds():
        ratio = contrast(getattr(W, text), colour)
        assert ratio >= 7.0, f"{text} on {ground}: {ratio:.2f}:1"


@pytest.mark.parametrize("text", W.TEXT_ON_DARK)
def test_text_on_dark_grounds_is_aaa(text):
    for ground in W.DARK_GROUNDS:
        ratio = contrast(getattr(W, text), getattr(W, ground))
        assert ratio >= 7.0, f"{text} on {ground}: {ratio:.2f}:1"


@pytest.mark.parametrize(("what", "mark", "beside"), W.NON_TEXT)
def test_marks_that_are_not_text_reach_3_to_1(what, mark, beside):
    ratio = contrast(getattr(W, mark), getattr(W, beside))
    assert ratio >= 3.0, f"{what}: {mark} beside {beside} is {ratio:.2f}:1"


def test_level_tiles_borders_and_faces_stand_out():
    for colour in W.LEVEL_PALETTE:
        border = W.tile_border(colour)
        assert contrast(border, W.WHITE) >= 3.0  # the tile against the screen
        assert contrast(border, W.tint(colour, W.TILE_TINT)) >= 3.0  # the face's edge on its tile


def test_large_text_mode_draws_second_lines_in_ink():
    assert W.muted(True) == W.INK and W.muted(False) == W.MUTED


def _kv_sources() -> list[tuple[str, str]]:
    sources = [(p.name, p.read_text(encoding="utf-8")) for p in KV_FILES]
    widgets_src = (REPO / "kiosk" / "ui" / "widgets.py").read_text(encoding="utf-8")
    sources.append(("widgets.py", widgets_src[widgets_src.index('Builder.load_string("""') :]))
    return sources


def test_screens_colour_text_only_from_the_palettes_text_colours():
    """Every text colour a .kv file names is one the tests above check."""
    allowed = set(W.TEXT_ON_LIGHT) | set(W.TEXT_ON_DARK)
    found = 0
    for name, source in _kv_sources():
        for line in source.splitlines():
            match = re.match(rf"\s*({'|'.join(TEXT_PROPS)}):\s*(.+)$", line)
            if not match:
                continue
            found += 1
            value = match.group(2)
            assert "rgb(" not in value, f"{name}: a literal colour for text: {line.strip()}"
            for colour in re.findall(r"\bW\.([A-Z][A-Z_]+)\b", value):
                assert colour in allowed, f"{name}: text in {colour}, not a checked text colour: {line.strip()}"
    assert found > 50, "expected the screens' colour lines"
