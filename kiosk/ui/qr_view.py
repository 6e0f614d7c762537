"""A QR code drawn as rectangles on the canvas: sharp at any size, no image provider needed."""

from __future__ import annotations

from kivy.graphics import Color, Rectangle
from kivy.properties import ListProperty
from kivy.uix.widget import Widget

QUIET = 4  # modules of white border a phone camera needs around the code


class QRView(Widget):
    """``grid``: rows of dark (True) modules, from kiosk.ticket_qr.modules; empty draws nothing."""

    grid = ListProperty([])

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        for prop in ("pos", "size", "grid"):
            self.fbind(prop, self._draw)
        self._draw()

    def _draw(self, *_):
        self.canvas.clear()
        n = len(self.grid)
        side = min(self.width, self.height)
        if not n or side < n:
            return
        step = int(side / (n + 2 * QUIET)) or 1  # whole pixels: no blurred module edges
        full = step * (n + 2 * QUIET)
        x0 = round(self.center_x - full / 2)
        y0 = round(self.center_y - full / 2)
        with self.canvas:
            Color(1, 1, 1, 1)
            Rectangle(pos=(x0, y0), size=(full, full))
            Color(0, 0, 0, 1)
            for r, row in enumerate(self.grid):
                y = y0 + (n + QUIET - 1 - r) * step  # the first row is the top one
                x = None
                for c, dark in enumerate([*row, False]):  # runs of dark modules as one rectangle
                    if dark and x is None:
                        x = c
                    elif not dark and x is not None:
                        Rectangle(pos=(x0 + (QUIET + x) * step, y), size=((c - x) * step, step))
                        x = None
