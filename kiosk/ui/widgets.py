"""Widgets shared by every screen: header, big buttons, self-fitting labels, drawn icons, the palette.

Sizes are multiples of ``app.u``, the window's scale against the 800×480
reference screen, so one layout serves the 7" panel and larger displays; text
sizes and the heights of text rows are multiples of ``app.t``, which is ``app.u``
in normal mode and a step larger in large-text mode (``LARGE_TEXT_FACTOR``).
"""

from __future__ import annotations

import re

from kivy.clock import Clock
from kivy.core.text import Label as CoreLabel
from kivy.graphics import Color, Ellipse, Line, Rectangle, Triangle
from kivy.lang import Builder
from kivy.properties import BooleanProperty, ColorProperty, NumericProperty, ObjectProperty, StringProperty
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.label import Label
from kivy.uix.scrollview import ScrollView
from kivy.uix.widget import Widget


def rgb(hex_colour: str, alpha: float = 1.0) -> tuple[float, float, float, float]:
    h = hex_colour.lstrip("#")
    return (int(h[0:2], 16) / 255, int(h[2:4], 16) / 255, int(h[4:6], 16) / 255, alpha)


# The palette. Every text colour reaches 7:1 (WCAG AAA) on every background of its
# family and every border or icon 3:1 beside what surrounds it; tests/test_contrast.py
# checks the families below, and that the .kv files colour text only from them.
NAVY = rgb("#12355B")
NAVY_DOWN = rgb("#0A2240")
NAVY_LIGHT = rgb("#DCE6F1")  # text on navy, and the pressed state of a white button
INK = rgb("#1B2733")
MUTED = rgb("#3D4751")  # second-language lines and hints (9.5:1 on white)
WHITE = rgb("#FFFFFF")
PAPER = rgb("#F3F6F9")
LINE = rgb("#E1E7EE")  # a pressed paper button, a quiet separator: never a border
BORDER = rgb("#5E6A78")  # borders of buttons and fields (5.5:1 on white)
GOLD = rgb("#E3B44B")  # decoration on navy only (the header's stripe)
GOLD_TEXT = rgb("#FFD166")  # text on navy
GREEN = rgb("#16521B")
AMBER = rgb("#F0A202")  # icon fill, always inside an INK outline
CURRENT = rgb("#8A5200")  # the current stage's dot on the timeline
RED = rgb("#7A1610")
BROWN = rgb("#5C3A00")  # the priority button
BROWN_DOWN = rgb("#402800")
CREAM = rgb("#FBE3B0")  # text on brown

# Most satisfied (left) to least satisfied (right); 3 or 4 levels take evenly spaced stops.
LEVEL_PALETTE = [rgb("#2E7D32"), rgb("#7CB342"), rgb("#F2B705"), rgb("#EF6C00"), rgb("#C62828")]
TILE_TINT = 0.13  # a level tile's background: its colour this much over white
TILE_BORDER_SHADE = 0.35  # a level tile's border: its colour darkened this much (>= 3:1 on white)


def level_colour(number: int, count: int) -> tuple[float, float, float, float]:
    """Colour of rating level ``number`` (1 = leftmost) of ``count``: green to red."""
    if count <= 1:
        return LEVEL_PALETTE[0]
    stop = round((number - 1) * (len(LEVEL_PALETTE) - 1) / (count - 1))
    return LEVEL_PALETTE[stop]


def level_mood(number: int, count: int) -> float:
    """How much a level's face smiles: 1 for the leftmost, -1 for the rightmost."""
    return 1.0 - 2.0 * (number - 1) / max(count - 1, 1)


def tint(colour, amount: float) -> tuple[float, float, float, float]:
    """``colour`` mixed with white; amount 0 is white, 1 the colour itself."""
    r, g, b = colour[:3]
    return (1 - amount * (1 - r), 1 - amount * (1 - g), 1 - amount * (1 - b), 1.0)


def mix(a, b, amount: float) -> tuple[float, float, float, float]:
    """Colour ``a`` moved towards ``b`` by ``amount`` (0 to 1)."""
    return tuple(x + (y - x) * amount for x, y in zip(a, b))


def shade(colour, amount: float) -> tuple[float, float, float, float]:
    """``colour`` darkened towards black by ``amount``."""
    r, g, b = colour[:3]
    return (r * (1 - amount), g * (1 - amount), b * (1 - amount), 1.0)


def muted(large: bool) -> tuple[float, float, float, float]:
    """Second-line text: MUTED, or INK in large-text (high-contrast) mode."""
    return INK if large else MUTED


# Colour families (names of this module's colours). Text in a TEXT_ON_LIGHT colour is
# drawn only on a LIGHT_GROUNDS background, TEXT_ON_DARK only on DARK_GROUNDS.
LIGHT_GROUNDS = ("WHITE", "PAPER", "NAVY_LIGHT", "LINE")
DARK_GROUNDS = ("NAVY", "NAVY_DOWN", "BROWN", "BROWN_DOWN", "RED")
TEXT_ON_LIGHT = ("INK", "NAVY", "MUTED", "GREEN", "RED", "BROWN")
TEXT_ON_DARK = ("WHITE", "NAVY_LIGHT", "GOLD_TEXT", "CREAM")
# (what, colour, beside): non-text marks that must reach 3:1 against their surroundings.
NON_TEXT = (
    ("button border", "BORDER", "WHITE"),
    ("button border", "BORDER", "PAPER"),
    ("service and reason button border", "NAVY", "WHITE"),
    ("no-show button border", "RED", "WHITE"),
    ("focus ring of the active field", "NAVY", "WHITE"),
    ("field border", "BORDER", "PAPER"),
    ("timeline dot", "NAVY", "PAPER"),
    ("current-stage dot", "CURRENT", "PAPER"),
    ("warning icon outline", "INK", "WHITE"),
    ("warning icon outline", "INK", "AMBER"),
    ("check icon", "GREEN", "WHITE"),
    ("countdown bar", "NAVY", "LINE"),
    ("language and text-size buttons", "WHITE", "NAVY"),
    ("header stripe", "GOLD", "NAVY"),
    ("scroll bar", "NAVY", "WHITE"),
    ("scroll bar", "NAVY", "PAPER"),
)


def tile_grounds() -> list[tuple[float, float, float, float]]:
    """The level tiles' backgrounds: light grounds for INK and MUTED text too."""
    return [tint(c, TILE_TINT) for c in LEVEL_PALETTE]


def tile_border(colour) -> tuple[float, float, float, float]:
    return shade(colour, TILE_BORDER_SHADE)


# Kivy's SDL2 text provider opens the font afresh for every pixel size it draws,
# and each opening of a CJK font costs about 2.5 MB; so text is measured at one
# reference size and scaled, and every drawn size is one of a short type scale
# (in 800x480 pixels, multiplied by the window's scale). Nothing is drawn below
# MIN_TEXT: text that does not fit wraps, and its row is made tall enough.
TYPE_SCALE = (16, 20, 24, 29, 34, 41, 48, 56)
MIN_TEXT = TYPE_SCALE[0]
LARGE_TEXT_FACTOR = 1.25  # large-text mode: every text size one step up the scale
# A label's line box (Noto CJK: 1.45 em) is taller than the ink it holds, so this much
# of it, in em, may hang outside the label's box without cutting any ink: CJK glyphs
# span about 1.1 em, Latin with descenders (g, y, commas) about 1.27 em, capitals and
# digits (a ticket number) under 0.9 em. tests/test_readability.py uses the same rule.
_CJK = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef]")
_DESCENDERS = re.compile(r"[gjpqy,;()\[\]_@]")


def ink_slack(text: str) -> float:
    """How much (in em) of a label's line box may hang outside its box when it draws ``text``."""
    if "\n" in text or _DESCENDERS.search(text):
        return 0.18
    return 0.3 if _CJK.search(text) or re.search(r"[a-z]", text) else 0.5


_scale = {"u": 1.0, "t": 1.0}
_measure_cache: dict[tuple, tuple[float, float]] = {}
_WORD = re.compile(r"\S+")


def set_scale(u: float, t: float | None = None) -> None:
    """The window's scale against 800x480 (``u``) and the text unit (``t``, ``u`` unless large)."""
    _scale["u"] = u
    _scale["t"] = u if t is None else t


def snap(size: float) -> int:
    """The largest type-scale size not above ``size`` (the smallest if none is)."""
    sizes = [max(1, round(s * _scale["u"])) for s in TYPE_SCALE]
    fitting = [s for s in sizes if s <= size + 0.5]
    return fitting[-1] if fitting else sizes[0]


def floor_size() -> int:
    """The smallest text drawn now: MIN_TEXT, a step up in large-text mode."""
    return snap(MIN_TEXT * _scale["t"])


def measure(text: str, font_name: str, font_size: float, bold: bool) -> tuple[float, float]:
    """Width and height in pixels of ``text`` (one or more lines) drawn unwrapped."""
    reference = snap(24 * _scale["u"])  # a size the screens draw anyway: no extra font opened
    key = (text, font_name, bold, reference)
    if key not in _measure_cache:
        core = CoreLabel(font_name=font_name, font_size=reference, bold=bold)
        widths, height = [0], 0
        for line in text.split("\n"):
            w, h = core.get_extents(line or " ")
            widths.append(w)
            height += h
        if len(_measure_cache) > 4000:
            _measure_cache.clear()
        _measure_cache[key] = (max(widths) / reference, height / reference)
    w, h = _measure_cache[key]
    return w * font_size * 1.03, h * font_size  # a little slack for hinting at small sizes


def wrapped_lines(text: str, font_name: str, font_size: float, bold: bool, width: float) -> int:
    """How many lines ``text`` takes wrapped at ``width`` as Kivy wraps: at spaces, a too-long word split."""
    space = measure(" ", font_name, font_size, bold)[0]
    count = 0
    for para in text.split("\n"):
        count += 1
        used = 0.0
        for word in _WORD.findall(para):
            w = measure(word, font_name, font_size, bold)[0]
            if used and used + space + w <= width:
                used += space + w
                continue
            if used:  # the word starts a new line
                count += 1
            while w > width:  # a word longer than a line is split across lines
                count += 1
                w -= width
            used = w
    return count


class FitGroup(list):
    """Labels that should share one font size (e.g. all reason buttons): the smallest fit wins."""


class FitLabel(Label):
    """A label whose font steps down from ``max_font_size`` until the text fits its box.

    Configured labels (office names, reasons, levels) can be any length; they
    must never be clipped or tiny: the size steps down the type scale to no less
    than ``floor_size()`` (and ``min_font_size``), on one line while it fits, else
    wrapped. Labels in the same ``fit_group`` all take the size that fits the
    longest of them.
    """

    max_font_size = NumericProperty(20)
    min_font_size = NumericProperty(0)  # a floor above floor_size(), e.g. a button's second line
    fit_group = ObjectProperty(None, allownone=True)

    def __init__(self, **kwargs):
        self._own_size = None
        super().__init__(**kwargs)
        self.font_size = max(snap(self.max_font_size), floor_size())
        self.fbind("text", self._fit)
        self.fbind("size", self._fit)
        self.fbind("max_font_size", self._fit)
        self.fbind("min_font_size", self._fit)
        self.fbind("bold", self._fit)
        self._fit()

    def refit(self) -> None:
        self._fit()

    def on_fit_group(self, _label, group):
        if group is not None and self not in group:
            group.append(self)
        self._fit()

    def fits(self, size: int, avail_w: float, avail_h: float, *, wrap: bool) -> bool:
        """Whether the text at ``size`` fits the box, on one line or (``wrap``) wrapped."""
        w, h = measure(self.text, self.font_name, size, self.bold)
        slack = ink_slack(self.text) * size
        if w <= avail_w and h <= avail_h + slack:
            return True
        if not wrap:
            return False
        lines = wrapped_lines(self.text, self.font_name, size, self.bold, avail_w)
        line_h = measure(" ", self.font_name, size, self.bold)[1] * (self.line_height or 1.0)
        return lines * line_h <= avail_h + slack

    def _fit(self, *_):
        if not self.text:
            return
        floor = max(floor_size(), snap(self.min_font_size) if self.min_font_size else 0)
        top = max(snap(self.max_font_size), floor)
        if self.get_root_window() is None:
            # On a screen not showing: sizes are not final yet. Draw at the
            # nominal size (on the type scale) and fit when the screen is shown.
            self.font_size = top
            return
        avail_w = max(self.width - 2 * self.padding[0], 1)
        avail_h = max(self.height - 2 * self.padding[1], 1)
        sizes = sorted({s for s in (snap(v) for v in range(floor, top + 1)) if floor <= s <= top}, reverse=True)
        # One line while the text stays at least three quarters of its size; else the
        # largest size at which it fits wrapped; at worst the floor, wrapped.
        chosen = next((s for s in sizes if s >= 0.75 * top and self.fits(s, avail_w, avail_h, wrap=False)), None)
        if chosen is None:
            chosen = next((s for s in sizes if self.fits(s, avail_w, avail_h, wrap=True)), floor)
        self._own_size = chosen
        if self.fit_group is None:
            self.font_size = chosen
            return
        shared = min(m._own_size for m in self.fit_group if m._own_size is not None)
        for member in self.fit_group:
            member.font_size = shared


class Paragraph(Label):
    """Wrapped body text that takes the height it needs; ``max_font_size`` is snapped to the type scale."""

    max_font_size = NumericProperty(0)

    def on_max_font_size(self, _label, size):
        self.font_size = max(snap(size), floor_size())


class ScrollBox(ScrollView):
    """A box whose content may be taller than it: it scrolls, with its bar always shown, and
    ``hidden_below`` is true while anything is below the fold (for a "more below" cue), so
    nothing a visitor needs is cut off unseen. Its one child sets its own height.
    """

    hidden_below = BooleanProperty(False)

    def __init__(self, **kwargs):
        # Worked out once the layout has settled (next frame), not from a half-laid-out size.
        self._cue = Clock.create_trigger(self._update_cue)
        super().__init__(**kwargs)
        for prop in ("scroll_y", "height", "viewport_size"):
            self.fbind(prop, self._cue)

    def _update_cue(self, *_):
        overflow = self.viewport_size[1] > self.height + 1
        self.hidden_below = bool(overflow and self.scroll_y > 0.01)


class BigButton(ButtonBehavior, BoxLayout):
    """A large rounded touch target with a main label and an optional second-language line.

    target: a name for the layout log (``KIOSK_LOG_LAYOUT=1``), e.g. "guidance".
    The main line never shrinks below the second line's size; in large-text mode the
    second-language line gives its room to the main one.
    """

    primary = StringProperty("")
    secondary = StringProperty("")
    primary_size = NumericProperty(28)
    secondary_size = NumericProperty(16)
    bg_color = ColorProperty(NAVY)
    down_color = ColorProperty(NAVY_DOWN)
    fg_color = ColorProperty(WHITE)
    fg2_color = ColorProperty(NAVY_LIGHT)
    border_color = ColorProperty((0, 0, 0, 0))
    border_width = NumericProperty(1.5)
    radius = NumericProperty(12)
    target = StringProperty("")
    primary_group = ObjectProperty(None, allownone=True)
    secondary_group = ObjectProperty(None, allownone=True)
    # A button that never has a second line drops that line's label once built: a label
    # costs ~45 KB, and every screen's header has two such buttons.
    one_line = False

    def on_kv_post(self, base_widget):
        super().on_kv_post(base_widget)
        second = self.ids.get("second_line")
        if self.one_line and second is not None:
            self.remove_widget(second)
            Builder.unbind_widget(second.uid)  # its rule's bindings to the app would keep it alive
            del self.ids["second_line"]


class LanguageButton(BigButton):
    """The 中文 / English switch shown on every screen."""

    one_line = True


class TextSizeButton(BigButton):
    """The large-text switch beside the language switch, on every screen."""

    one_line = True


class Header(BoxLayout):
    """Deep-navy top bar: office name, window number, the text-size and language switches."""

    show_window = BooleanProperty(True)


class LevelTile(BoxLayout):
    """One rating level as shown on the home screen; mirrors a physical button.

    Ratings come only from the physical buttons: a tap on a tile just makes the
    "press the buttons below" hint light up.
    """

    def on_touch_down(self, touch):
        if self.collide_point(*touch.pos):
            self.dispatch("on_tapped")
            return True
        return super().on_touch_down(touch)

    def on_tapped(self):
        pass

    level = ObjectProperty(None, allownone=True)
    count = NumericProperty(5)
    colour = ColorProperty(GREEN)
    mood = NumericProperty(1.0)
    primary_group = ObjectProperty(None, allownone=True)
    secondary_group = ObjectProperty(None, allownone=True)
    target = StringProperty("")
    __events__ = ("on_tapped",)


class DrawnIcon(Widget):
    """A vector icon, redrawn when its box or any property named in ``redraw_on`` changes.

    Drawn rather than loaded from image files: sharp at every panel size, and no
    image provider to load at start-up.
    """

    colour = ColorProperty(GREEN)
    redraw_on: tuple[str, ...] = ("pos", "size", "colour")

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        for prop in self.redraw_on:
            self.fbind(prop, self._draw)
        self._draw()

    def _draw(self, *_):
        self.canvas.clear()
        d = min(self.width, self.height)
        if d > 2:
            with self.canvas:
                self.paint(d, *self.center)

    def paint(self, d: float, cx: float, cy: float) -> None:
        raise NotImplementedError


class FaceIcon(DrawnIcon):
    """A round face in ``colour``; ``mood`` 1 smiles broadly, 0 is level, -1 frowns."""

    mood = NumericProperty(1.0)
    redraw_on = ("pos", "size", "colour", "mood")

    def paint(self, d, cx, cy):
        r = d / 2
        Color(*self.colour)
        Ellipse(pos=(cx - r, cy - r), size=(d, d))
        Color(*tile_border(self.colour))  # the face's edge stands out from its tile (3:1)
        # Bevelled joints, as the .kv outlines below: a fraction of the vertices, the same look.
        Line(circle=(cx, cy, r - 1), width=max(1.0, r * 0.04), joint="bevel")
        Color(1, 1, 1, 1)
        eye = r * 0.17
        for ex in (cx - r * 0.36, cx + r * 0.36):
            Ellipse(pos=(ex - eye / 2, cy + r * 0.2 - eye / 2), size=(eye, eye * 1.25))
        corner_y = cy - r * 0.32 + (0.0 if self.mood >= 0 else r * 0.05)
        bend = self.mood * r * 0.5
        half = r * 0.45
        Line(
            bezier=(cx - half, corner_y, cx, corner_y - bend, cx + half, corner_y),
            width=max(1.2, r * 0.09),
            cap="round",
            joint="bevel",
        )


class CheckIcon(DrawnIcon):
    """A green disc with a white tick: the rating was stored."""

    def paint(self, d, cx, cy):
        r = d / 2
        Color(*self.colour)
        Ellipse(pos=(cx - r, cy - r), size=(d, d))
        Color(1, 1, 1, 1)
        Line(
            points=(cx - r * 0.42, cy + r * 0.02, cx - r * 0.12, cy - r * 0.3, cx + r * 0.45, cy + r * 0.33),
            width=max(1.5, r * 0.11),
            cap="round",
            joint="round",
        )


class WarningIcon(DrawnIcon):
    """An amber warning triangle with an exclamation mark, outlined in ink (3:1 on any light ground)."""

    colour = ColorProperty(AMBER)

    def paint(self, d, cx, cy):
        half, h = d / 2, d * 0.87
        bottom = cy - h / 2
        Color(*self.colour)
        Triangle(points=(cx - half, bottom, cx + half, bottom, cx, bottom + h))
        Color(*INK)
        Line(points=(cx - half, bottom, cx + half, bottom, cx, bottom + h), close=True, width=max(1.2, d * 0.035))
        bar_w = d * 0.09
        Rectangle(pos=(cx - bar_w / 2, bottom + h * 0.34), size=(bar_w, h * 0.36))
        Ellipse(pos=(cx - bar_w * 0.65, bottom + h * 0.12), size=(bar_w * 1.3, bar_w * 1.3))


class CountdownBar(Widget):
    """A thin bar that empties as the screen's time runs out (``fraction`` 1 → 0)."""

    fraction = NumericProperty(1.0)
    colour = ColorProperty(NAVY)


Builder.load_string("""
#:import W kiosk.ui.widgets

<FitLabel>:
    text_size: self.size
    halign: 'center'
    valign: 'middle'
    color: W.INK

<Paragraph>:
    text_size: self.width, None
    size_hint_y: None
    height: self.texture_size[1]
    halign: 'center'
    valign: 'top'
    color: W.INK
    line_height: 1.15

<ScrollBox>:
    do_scroll_x: False
    bar_width: max(6, app.u * 8)
    bar_color: W.NAVY
    bar_inactive_color: W.NAVY  # always shown: a visitor sees there is more
    bar_margin: 0
    scroll_type: ['bars', 'content']
    effect_cls: 'ScrollEffect'

<MoreCue@FitLabel>:
    # Under a ScrollBox: says there is more below while there is.
    box: None
    text: ('▼ ' + app.tr('more_below', app.lang)) if self.box and self.box.hidden_below else ''
    bold: True
    max_font_size: app.t * 16
    color: W.NAVY
    size_hint_y: None
    height: app.t * 24

<Para@Paragraph>:
    # Left-aligned body text in a scrolled column: as tall as it needs.
    halign: 'left'
    line_height: 1.1

<BigButton>:
    orientation: 'vertical'
    padding: [app.u * 10, app.u * 6]
    canvas.before:
        Color:
            rgba: self.down_color if self.state == 'down' else self.bg_color
        RoundedRectangle:
            pos: self.pos
            size: self.size
            radius: [self.radius]
        Color:
            rgba: self.border_color
        Line:
            # No border shown: an empty box, so no vertices and nothing drawn.
            rounded_rectangle: (self.x, self.y, self.width, self.height, self.radius) if self.border_color[3] else (self.x, self.y, 0, 0, 1)
            # Bevelled joints: Kivy's default rounds each of an outline's ~180 joints with 10 more
            # triangles (~0.4 MB of vertices an outline); at 4-degree steps a bevel looks the same.
            joint: 'bevel'
            width: self.border_width
    FitLabel:
        text: root.primary
        bold: True
        max_font_size: root.primary_size
        min_font_size: root.secondary_size if root.secondary and not app.large else 0
        color: root.fg_color
        fit_group: root.primary_group
        size_hint_y: 0.58 if root.secondary and not app.large else 1
    FitLabel:
        id: second_line
        text: root.secondary if not app.large else ''
        max_font_size: root.secondary_size
        color: root.fg2_color
        fit_group: root.secondary_group
        size_hint_y: 0.42 if root.secondary and not app.large else None
        height: 0 if app.large or not root.secondary else 1  # re-applied on a switch (the layout sets it when shown)
        opacity: 1 if root.secondary and not app.large else 0

<LanguageButton>:
    target: 'language'
    size_hint: None, None
    size: app.u * 132, app.u * 62
    pos_hint: {'center_y': 0.5}
    radius: app.u * 10
    primary: app.tr('language', app.lang)
    primary_size: app.t * 24
    bg_color: W.WHITE
    down_color: W.NAVY_LIGHT
    fg_color: W.NAVY
    on_release: app.toggle_language()

<TextSizeButton>:
    target: 'text_size'
    size_hint: None, None
    size: app.u * 132, app.u * 62
    pos_hint: {'center_y': 0.5}
    radius: app.u * 10
    primary: app.tr('normal_text' if app.large else 'large_text', app.lang)
    primary_size: app.t * 24
    bg_color: W.NAVY
    down_color: W.NAVY_DOWN
    fg_color: W.WHITE
    border_color: W.WHITE
    border_width: max(1.5, app.u * 2)
    on_release: app.toggle_large_text()

<Header>:
    size_hint_y: None
    height: app.t * 80
    padding: [app.u * 20, app.u * 8, app.u * 12, app.u * 10]
    spacing: app.u * 12
    canvas.before:
        Color:
            rgba: W.NAVY
        Rectangle:
            pos: self.pos
            size: self.size
        Color:
            rgba: W.GOLD
        Rectangle:
            pos: self.pos
            size: self.width, app.u * 4
    BoxLayout:
        orientation: 'vertical'
        FitLabel:
            text: app.office(app.lang)
            bold: True
            max_font_size: app.t * 29
            color: W.WHITE
            halign: 'left'
            size_hint_y: 0.6 if not app.large else 1
        FitLabel:
            text: app.office(app.other) if not app.large else ''
            max_font_size: app.t * 16
            color: W.NAVY_LIGHT
            halign: 'left'
            size_hint_y: 0.4 if not app.large else None
            height: 0 if app.large else 1  # re-applied on a switch (the layout sets it when shown)
    FitLabel:
        text: app.tr('window', app.lang, window=app.window) if root.show_window and app.window else ''
        bold: True
        max_font_size: app.t * 24
        color: W.WHITE
        size_hint_x: None
        width: app.u * 130 if root.show_window else 0
        canvas.before:
            Color:
                rgba: W.NAVY_LIGHT if root.show_window else (0, 0, 0, 0)
            Line:
                rounded_rectangle: (self.x, self.center_y - app.u * 24, self.width, app.u * 48, app.u * 8)
                joint: 'bevel'
                width: 1.2
    TextSizeButton:
    LanguageButton:

<LevelTile>:
    target: 'tile:%d' % self.level.number if self.level else ''
    orientation: 'vertical'
    padding: [app.u * 4, app.u * 8, app.u * 4, app.u * 14]
    spacing: app.u * 2
    canvas.before:
        Color:
            rgba: W.tint(self.colour, W.TILE_TINT)
        RoundedRectangle:
            pos: self.pos
            size: self.size
            radius: [app.u * 12]
        Color:
            rgba: W.tile_border(self.colour)
        Line:
            rounded_rectangle: (self.x, self.y, self.width, self.height, app.u * 12)
            joint: 'bevel'
            width: max(1.5, app.u * 2)
        RoundedRectangle:
            pos: self.x, self.y
            size: self.width, app.u * 10
            radius: [0, 0, app.u * 12, app.u * 12]
    FaceIcon:
        colour: root.colour
        mood: root.mood
    FitLabel:
        text: app.label(root.level, app.lang) if root.level else ''
        bold: True
        max_font_size: app.t * 24
        color: W.INK
        fit_group: root.primary_group
        size_hint_y: None
        height: app.t * 46  # two lines at the smallest size: "Very dissatisfied" wraps in a narrow tile
    FitLabel:
        text: app.label(root.level, app.other) if root.level and not app.large else ''
        max_font_size: app.t * 16
        color: W.muted(app.large)
        fit_group: root.secondary_group
        size_hint_y: None
        height: app.t * 24 if not app.large else 0

<CountdownBar>:
    size_hint_y: None
    height: app.u * 8
    canvas:
        Color:
            rgba: W.LINE
        Rectangle:
            pos: self.pos
            size: self.size
        Color:
            rgba: self.colour
        Rectangle:
            pos: self.pos
            size: self.width * self.fraction, self.height
""")
