"""What shows over a screen without replacing it: a banner (a call, a rating's
acknowledgement, a refused press) and the "need more time?" warning.

``Overlays.sync`` puts on the current screen what ``kiosk.flow.Flow`` says
(``banner``, ``warning``) and takes off what it no longer says; the app calls it
whenever it shows the flow. They sit on the screen itself, so the screen's
touch targets include the warning's ``extend`` button.

Log lines: ``banner: KIND …`` when a banner appears, ``warning: SCREEN SECONDS``
when the warning appears, ``warning: extended`` when a touch answered it.
"""

from __future__ import annotations

import logging
import math

from kivy.lang import Builder
from kivy.properties import ColorProperty, NumericProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.floatlayout import FloatLayout

from kiosk.flow import Banner, Flow
from kiosk.ui import widgets

log = logging.getLogger("kiosk.ui")


class BannerView(BoxLayout):
    """A strip over the header: the visitor's screen below stays as it was."""

    primary = StringProperty("")
    secondary = StringProperty("")
    bg = ColorProperty(widgets.NAVY)
    fg = ColorProperty(widgets.WHITE)


class TimeoutWarning(FloatLayout):
    """需要更多時間嗎？ with the seconds left and a big 繼續; any touch extends."""

    seconds = NumericProperty(0)

    def on_touch_down(self, touch):
        handled = super().on_touch_down(touch)
        panel = self.ids.panel
        return handled or panel.collide_point(*touch.pos)  # nothing under the panel gets the tap


class Overlays:
    def __init__(self, app):
        self.app = app
        self.banner_view: BannerView | None = None
        self.shown_banner: Banner | None = None
        self.warning_view: TimeoutWarning | None = None

    def banner_texts(self, banner: Banner, lang: str) -> str:
        app = self.app
        if banner.kind == "call":
            return app.tr("call_banner", lang, number=banner.number, window=banner.window)
        if banner.kind == "rated":
            level = app.level_label(banner.level, lang)
            return app.tr("rated_banner" if banner.counted else "rated_again", lang, level=level)
        return app.tr("rating_failed_banner", lang, reason=banner.en if lang == "en" else banner.zh)

    def sync(self, flow: Flow, now: float) -> None:
        screen = self.app.sm.current_screen
        self._sync_banner(flow.banner, screen)
        self._sync_warning(flow, now, screen)

    def refresh_language(self) -> None:
        if self.shown_banner is not None and self.banner_view is not None:
            self._fill(self.banner_view, self.shown_banner)

    def _fill(self, view: BannerView, banner: Banner) -> None:
        app = self.app
        view.primary = self.banner_texts(banner, app.lang)
        view.secondary = self.banner_texts(banner, app.other)
        view.bg, view.fg = {
            "call": (widgets.GOLD, widgets.NAVY),
            "rated": (widgets.GREEN, widgets.WHITE),
            "failed": (widgets.RED, widgets.WHITE),
        }[banner.kind]

    def _sync_banner(self, banner: Banner | None, screen) -> None:
        view = self.banner_view
        if banner is None:
            if view is not None and view.parent is not None:
                view.parent.remove_widget(view)
            self.shown_banner = None
            return
        if view is None:
            view = self.banner_view = BannerView()
        if banner != self.shown_banner:
            self.shown_banner = banner
            self._fill(view, banner)
            log.info("banner: %s %s", banner.kind, view.secondary if self.app.lang != "en" else view.primary)
        if view.parent is not screen:
            if view.parent is not None:
                view.parent.remove_widget(view)
            screen.add_widget(view)

    def _sync_warning(self, flow: Flow, now: float, screen) -> None:
        left = flow.warning(now)
        view = self.warning_view
        if left is None:
            if view is not None and view.parent is not None:
                view.parent.remove_widget(view)
                if flow.screen == screen.name and flow.timeout() is not None:
                    log.info("warning: extended")
                    self.app._announce(flow.screen)
            return
        if view is None:
            view = self.warning_view = TimeoutWarning()
        view.seconds = math.ceil(left)
        if view.parent is not screen:
            if view.parent is not None:
                view.parent.remove_widget(view)
            screen.add_widget(view)
            log.info("warning: %s %d", flow.screen, view.seconds)
            self.app._announce(flow.screen)  # its layout now includes the extend button


Builder.load_string("""
#:import W kiosk.ui.widgets

<BannerView>:
    orientation: 'vertical'
    size_hint: None, None
    # Over the header, left of its buttons (text size, language): the task below is untouched.
    size: self.parent.width - app.u * 310 if self.parent else 100, app.u * 80
    pos: (0, self.parent.height - self.height) if self.parent else (0, 0)
    padding: [app.u * 16, app.u * 6]
    canvas.before:
        Color:
            rgba: root.bg
        Rectangle:
            pos: self.pos
            size: self.size
    FitLabel:
        text: root.primary
        bold: True
        max_font_size: app.u * 29
        color: root.fg
        halign: 'left'
        size_hint_y: 0.6
    FitLabel:
        text: root.secondary
        max_font_size: app.u * 20
        color: root.fg
        halign: 'left'
        size_hint_y: 0.4

<TimeoutWarning>:
    BoxLayout:
        id: panel
        size_hint: None, None
        size: root.width - app.u * 40, app.u * 120
        pos: root.x + app.u * 20, root.y + app.u * 16
        padding: [app.u * 20, app.u * 12]
        spacing: app.u * 16
        canvas.before:
            Color:
                rgba: W.NAVY
            RoundedRectangle:
                pos: self.pos
                size: self.size
                radius: [app.u * 16]
            Color:
                rgba: W.GOLD
            Line:
                rounded_rectangle: (self.x, self.y, self.width, self.height, app.u * 16)
                width: max(2, app.u * 3)
        BoxLayout:
            orientation: 'vertical'
            FitLabel:
                text: app.tr('more_time', app.lang) + '  ' + app.tr('more_time', app.other)
                bold: True
                max_font_size: app.u * 34
                color: W.WHITE
                halign: 'left'
                size_hint_y: 0.55
            FitLabel:
                text: app.tr('more_time_left', app.lang, seconds=root.seconds) + '  ·  ' + app.tr('more_time_left', app.other, seconds=root.seconds)
                max_font_size: app.u * 24
                color: W.WHITE
                halign: 'left'
                size_hint_y: 0.45
        BigButton:
            target: 'extend'
            size_hint_x: None
            width: app.u * 220
            primary: app.tr('more_time_yes', app.lang)
            secondary: app.tr('more_time_yes', app.other)
            primary_size: app.u * 34
            secondary_size: app.u * 20
            bg_color: W.GOLD
            down_color: W.WHITE
            fg_color: W.NAVY
            fg2_color: W.NAVY
            radius: app.u * 12
            on_release: app.extend()
""")
