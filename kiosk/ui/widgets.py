"""Widgets shared by every screen: header, big buttons, self-fitting labels, drawn icons.

Sizes are multiples of ``app.u``, the window's scale against the 800×480
reference screen, so one layout serves the 7" panel and larger displays.
"""

from __future__ import annotations

from kivy.core.text import Label as CoreLabel
from kivy.graphics import Color, Ellipse, Line, Rectangle, Triangle
from kivy.lang import Builder
from kivy.properties import BooleanProperty, ColorProperty, NumericProperty, ObjectProperty, StringProperty
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.label import Label
from kivy.uix.widget import Widget


def rgb(hex_colour: str, alpha: float = 1.0) -> tuple[float, float, float, float]:
    h = hex_colour.lstrip("#")
    return (int(h[0:2], 16) / 255, int(h[2:4], 16) / 255, int(h[4:6], 16) / 255, alpha)


NAVY = rgb("#12355B")
NAVY_DOWN = rgb("#0A2240")
NAVY_LIGHT = rgb("#C9D6E5")
INK = rgb("#1B2733")
MUTED = rgb("#56626E")
WHITE = rgb("#FFFFFF")
PAPER = rgb("#F3F6F9")
LINE = rgb("#C5CED8")
GOLD = rgb("#E3B44B")
GREEN = rgb("#2E7D32")
AMBER = rgb("#F0A202")
RED = rgb("#B3261E")

# Most satisfied (left) to least satisfied (right); 3 or 4 levels take evenly spaced stops.
LEVEL_PALETTE = [rgb("#2E7D32"), rgb("#7CB342"), rgb("#F2B705"), rgb("#EF6C00"), rgb("#C62828")]


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


# Kivy's SDL2 text provider opens the font afresh for every pixel size it draws,
# and each opening of a CJK font costs about 2.5 MB; so text is measured at one
# reference size and scaled, and every drawn size is one of a short type scale
# (in 800x480 pixels, multiplied by the window's scale).
TYPE_SCALE = (9, 12, 14, 17, 20, 24, 29, 34, 41, 48, 56)
_scale = {"u": 1.0}
_measure_cache: dict[tuple, tuple[float, float]] = {}


def set_scale(u: float) -> None:
    """The window's scale against 800x480; font sizes snap to TYPE_SCALE times this."""
    _scale["u"] = u


def snap(size: float) -> int:
    """The largest type-scale size not above ``size`` (the smallest if none is)."""
    sizes = [max(1, round(s * _scale["u"])) for s in TYPE_SCALE]
    fitting = [s for s in sizes if s <= size + 0.5]
    return fitting[-1] if fitting else sizes[0]


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
        if len(_measure_cache) > 2000:
            _measure_cache.clear()
        _measure_cache[key] = (max(widths) / reference, height / reference)
    w, h = _measure_cache[key]
    return w * font_size * 1.03, h * font_size  # a little slack for hinting at small sizes


class FitGroup(list):
    """Labels that should share one font size (e.g. all reason buttons): the smallest fit wins."""


class FitLabel(Label):
    """A label whose font shrinks from ``max_font_size`` until the text fits its box.

    Configured labels (office names, reasons, levels) can be any length; they
    must never be clipped, so the text gets smaller instead of cut. Labels in
    the same ``fit_group`` all take the size that fits the longest of them.
    """

    max_font_size = NumericProperty(20)
    min_font_size = NumericProperty(9)
    fit_group = ObjectProperty(None, allownone=True)

    def __init__(self, **kwargs):
        self._own_size = None
        super().__init__(**kwargs)
        self.font_size = snap(self.max_font_size)
        self.fbind("text", self._fit)
        self.fbind("size", self._fit)
        self.fbind("max_font_size", self._fit)
        self.fbind("bold", self._fit)
        self._fit()

    def refit(self) -> None:
        self._fit()

    def on_fit_group(self, _label, group):
        if group is not None and self not in group:
            group.append(self)
        self._fit()

    def _fit(self, *_):
        if not self.text:
            return
        if self.get_root_window() is None:
            # On a screen not showing: sizes are not final yet. Draw at the
            # nominal size (on the type scale) and fit when the screen is shown.
            self.font_size = snap(self.max_font_size)
            return
        avail_w = max(self.width - 2 * self.padding[0], 1)
        avail_h = max(self.height - 2 * self.padding[1], 1)
        size = snap(max(self.max_font_size, self.min_font_size))
        while size > self.min_font_size:
            w, h = measure(self.text, self.font_name, size, self.bold)
            # The font's line box is about 1.45 em but its glyphs only about 1.1 em:
            # a little of the line box may hang outside the label without clipping ink.
            if w <= avail_w and h <= avail_h * 1.25:
                break
            smaller = snap(size - 1)
            if smaller >= size:
                break
            size = smaller
        self._own_size = size
        if self.fit_group is None:
            self.font_size = size
            return
        shared = min(m._own_size for m in self.fit_group if m._own_size is not None)
        for member in self.fit_group:
            member.font_size = shared


class Paragraph(Label):
    """Wrapped body text that takes the height it needs; ``max_font_size`` is snapped to the type scale."""

    max_font_size = NumericProperty(0)

    def on_max_font_size(self, _label, size):
        self.font_size = snap(size)


class BigButton(ButtonBehavior, BoxLayout):
    """A large rounded touch target with a main label and an optional second-language line.

    target: a name for the layout log (``KIOSK_LOG_LAYOUT=1``), e.g. "guidance".
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


class LanguageButton(BigButton):
    """The 中文 / English switch shown on every screen."""


class Header(BoxLayout):
    """Deep-navy top bar: office name, window number and the language switch."""

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
    """An amber warning triangle with an exclamation mark."""

    colour = ColorProperty(AMBER)

    def paint(self, d, cx, cy):
        half, h = d / 2, d * 0.87
        bottom = cy - h / 2
        Color(*self.colour)
        Triangle(points=(cx - half, bottom, cx + half, bottom, cx, bottom + h))
        Color(*INK)
        bar_w = d * 0.09
        Rectangle(pos=(cx - bar_w / 2, bottom + h * 0.34), size=(bar_w, h * 0.36))
        Ellipse(pos=(cx - bar_w * 0.65, bottom + h * 0.12), size=(bar_w * 1.3, bar_w * 1.3))


class CountdownBar(Widget):
    """A thin bar that empties as the screen's time runs out (``fraction`` 1 → 0)."""

    fraction = NumericProperty(1.0)
    colour = ColorProperty(NAVY_LIGHT)


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
            rounded_rectangle: (self.x, self.y, self.width, self.height, self.radius)
            width: self.border_width
    FitLabel:
        text: root.primary
        bold: True
        max_font_size: root.primary_size
        color: root.fg_color
        fit_group: root.primary_group
        size_hint_y: 0.6 if root.secondary else 1
    FitLabel:
        text: root.secondary
        max_font_size: root.secondary_size
        color: root.fg2_color
        fit_group: root.secondary_group
        size_hint_y: 0.4 if root.secondary else None
        height: 0
        opacity: 1 if root.secondary else 0

<LanguageButton>:
    target: 'language'
    size_hint: None, None
    size: app.u * 148, app.u * 62
    pos_hint: {'center_y': 0.5}
    radius: app.u * 10
    primary: app.tr('language', app.lang)
    primary_size: app.u * 24
    bg_color: W.WHITE
    down_color: W.NAVY_LIGHT
    fg_color: W.NAVY
    on_release: app.toggle_language()

<Header>:
    size_hint_y: None
    height: app.u * 80
    padding: [app.u * 20, app.u * 8, app.u * 12, app.u * 10]
    spacing: app.u * 16
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
            max_font_size: app.u * 29
            color: W.WHITE
            halign: 'left'
            size_hint_y: 0.6
        FitLabel:
            text: app.office(app.other)
            max_font_size: app.u * 14
            color: W.NAVY_LIGHT
            halign: 'left'
            size_hint_y: 0.4
    FitLabel:
        text: app.tr('window', app.lang, window=app.window) if root.show_window else ''
        bold: True
        max_font_size: app.u * 24
        color: W.WHITE
        size_hint_x: None
        width: app.u * 150 if root.show_window else 0
        canvas.before:
            Color:
                rgba: (1, 1, 1, 0.35) if root.show_window else (0, 0, 0, 0)
            Line:
                rounded_rectangle: (self.x, self.center_y - app.u * 24, self.width, app.u * 48, app.u * 8)
                width: 1.2
    LanguageButton:

<LevelTile>:
    target: 'tile:%d' % self.level.number if self.level else ''
    orientation: 'vertical'
    padding: [app.u * 6, app.u * 10, app.u * 6, app.u * 14]
    spacing: app.u * 2
    canvas.before:
        Color:
            rgba: W.tint(self.colour, 0.13)
        RoundedRectangle:
            pos: self.pos
            size: self.size
            radius: [app.u * 12]
        Color:
            rgba: self.colour
        Line:
            rounded_rectangle: (self.x, self.y, self.width, self.height, app.u * 12)
            width: max(1.5, app.u * 2)
        RoundedRectangle:
            pos: self.x, self.y
            size: self.width, app.u * 10
            radius: [0, 0, app.u * 12, app.u * 12]
    FaceIcon:
        colour: root.colour
        mood: root.mood
        size_hint_y: 0.5
    FitLabel:
        text: app.label(root.level, app.lang) if root.level else ''
        bold: True
        max_font_size: app.u * 24
        color: W.INK
        fit_group: root.primary_group
        size_hint_y: 0.27
    FitLabel:
        text: app.label(root.level, app.other) if root.level else ''
        max_font_size: app.u * 14
        color: W.MUTED
        fit_group: root.secondary_group
        size_hint_y: 0.23

<CountdownBar>:
    size_hint_y: None
    height: app.u * 8
    canvas:
        Color:
            rgba: W.PAPER
        Rectangle:
            pos: self.pos
            size: self.size
        Color:
            rgba: self.colour
        Rectangle:
            pos: self.pos
            size: self.width * self.fraction, self.height
""")
