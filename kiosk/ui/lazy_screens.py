"""A ScreenManager that builds each screen the first time it is needed.

Start-up builds only the first screen (home), so the first frame waits for
nothing else; the others are built one per frame after it (``build_next``, from
the app once the first frame is up), or at once when something asks for one
earlier: ``get_screen``, ``has_screen`` and setting ``current`` all see the
screens still to build. A maker loads its screens' .kv rules first, so those are
not parsed at start-up either.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from kivy.lang import Builder
from kivy.uix.screenmanager import Screen, ScreenManager

Maker = Callable[[], Iterable[Screen]]


class LazyScreens(ScreenManager):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._makers: dict[str, tuple[tuple[str, ...], Maker]] = {}

    def later(self, names: Iterable[str], make: Maker, *, kv_files: Iterable[str] = ()) -> None:
        """``make()`` returns the screens called ``names``; ``kv_files`` are loaded just before it."""
        kv = tuple(kv_files)

        def build() -> Iterable[Screen]:
            for path in kv:
                Builder.load_file(path)
            return make()

        names = tuple(names)
        for name in names:
            self._makers[name] = (names, build)

    def pending(self) -> list[str]:
        """Names of the screens not built yet."""
        return list(self._makers)

    def build_next(self) -> bool:
        """Build the next pending group of screens; True while more are left."""
        if self._makers:
            self._build(next(iter(self._makers)))
        return bool(self._makers)

    def _build(self, name: str) -> None:
        names, build = self._makers[name]
        for each in names:
            self._makers.pop(each, None)
        for screen in build():
            self.add_widget(screen)

    def get_screen(self, name):
        if name in self._makers:
            self._build(name)
        return super().get_screen(name)

    def has_screen(self, name):
        return name in self._makers or super().has_screen(name)
