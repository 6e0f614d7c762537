"""Walks every screen of the real kiosk app in-process and reports every drawn label.

Run by tests/test_readability.py in a private Xvfb: ``python readability_probe.py
CONFIG DATA_DIR WxH LARGE OUT.json [SHOTS_DIR]`` (LARGE: 1 to walk large text too). It starts the app as ``kiosk run --demo``
does, brings up each screen (and its states: a closed service, a lockout, the staff
panel…) in zh-TW and English, in normal and large text, and for each one writes the
labels on screen: text, font size, box, and the size the text really takes when Kivy
lays it out at that width (a fresh core label, so nothing the widget cut off is lost).
With SHOTS_DIR it also saves a screenshot of each state (ImageMagick's ``import``).
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

from kiosk.config import load
from kiosk.fonts import find_cjk_font
from kiosk.ui.app import kivy_settings


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    config_path, data_dir, size, large, out = sys.argv[1:6]
    shots = Path(sys.argv[6]) if len(sys.argv) > 6 else None
    config = load(config_path)
    w, h = (int(v) for v in size.split("x"))
    config.values["display.width"], config.values["display.height"] = w, h
    fonts = find_cjk_font(config["display.font"])
    env, settings = kivy_settings(config, demo=True, fonts=fonts, is_pi=False, environ=dict(os.environ))
    for name, value in env.items():
        os.environ.setdefault(name, value)
    from kivy.config import Config as KivyConfig

    for (section, key), value in settings.items():
        KivyConfig.set(section, key, value)
    # Deferred on purpose, as in kiosk/ui/app.py: importing the app opens the window,
    # so it must come after the settings above.
    from probe_walk import Probe

    Probe(config, data_dir, out=Path(out), shots=shots, size=size, large=large == "1").run()


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    main()
