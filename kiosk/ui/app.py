"""Starting the touchscreen.

Kivy reads its settings when it is first imported and opens its window when
``kivy.core.window`` is imported, so everything about the window (size,
fullscreen, rotation, video driver, font) is decided here first, by the pure
function ``kivy_settings``, and only then is the app module imported.

Imports go one way: app → kioskapp → the screen modules (lookup_screens,
queue_screens) → screen, widgets. Nothing below imports this module.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import platformdirs

from kiosk.config import Config
from kiosk.ui import process_age  # noqa: F401  (before Kivy: process_age's fallback counts from start-up)
from kiosk.ui.heap import tune_malloc

log = logging.getLogger("kiosk.ui")

FONT_NAME = "NotoSansCJKTC"
PI_MODEL_FILE = Path("/proc/device-tree/model")


def is_raspberry_pi(model_file: Path = PI_MODEL_FILE) -> bool:
    """True on a Raspberry Pi (its device tree names the model)."""
    try:
        return "raspberry pi" in model_file.read_bytes().decode(errors="replace").lower()
    except OSError:
        return False


class _OptionalInputDrivers(logging.Filter):
    """Kivy logs an ERROR with a traceback for each optional input driver the
    system lacks (mtdev, wacom, ...); that is normal, so say it in one INFO line."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = str(record.msg)
        if (
            record.levelno >= logging.ERROR
            and message.startswith("Input: ")
            and ("not supported" in message or "not available" in message)
        ):
            record.levelno, record.levelname = logging.INFO, "INFO"
            record.exc_info, record.exc_text = None, None
        return True


def kivy_settings(
    config: Config, *, demo: bool, fonts: dict[str, Path], is_pi: bool, environ: dict[str, str]
) -> tuple[dict[str, str], dict[tuple[str, str], str]]:
    """The environment variables and Kivy Config values for this kiosk.

    Returns (env, settings): env holds variables to set when not already set;
    settings maps (section, key) to the value for ``kivy.config.Config.set``.
    """
    env = {
        "KIVY_NO_ARGS": "1",  # the command line belongs to `kiosk`, not Kivy
        "KIVY_NO_CONFIG": "1",  # never read or write a config.ini: settings come from here
        "KIVY_LOG_MODE": "PYTHON",  # Kivy logs through the kiosk's logging set-up
        "KIVY_NO_FILELOG": "1",
        # Only SDL2's providers: Kivy otherwise imports every image library it finds
        # (Pillow among them), megabytes a Pi Zero 2 W cannot spare.
        "KIVY_WINDOW": "sdl2",
        "KIVY_IMAGE": "sdl2",
        "KIVY_TEXT": "sdl2",
        "KIVY_AUDIO": "sdl2",
        "KIVY_HOME": str(Path(platformdirs.user_cache_dir("counter-kiosk", appauthor=False)) / "kivy"),
    }
    fullscreen = config["display.fullscreen"]
    if demo:
        fullscreen = False
    elif fullscreen == "auto":
        fullscreen = is_pi
    if not demo and is_pi and not environ.get("DISPLAY") and not environ.get("WAYLAND_DISPLAY"):
        env["SDL_VIDEODRIVER"] = "kmsdrm"  # Raspberry Pi OS Lite: draw straight to the panel
    regular, bold = str(fonts["Regular"]), str(fonts.get("Bold", fonts["Regular"]))
    settings = {
        ("kivy", "default_font"): repr([FONT_NAME, regular, regular, bold, bold]),
        ("kivy", "exit_on_escape"): "1" if demo else "0",
        ("kivy", "log_level"): "info",
        ("graphics", "rotation"): str(config["display.rotation"]),
        ("graphics", "maxfps"): "30",
        # A touch panel on a Pi reports both through the kernel (hidinput) and as a
        # mouse; the mouse provider steps aside while touches arrive, so no tap counts twice.
        ("input", "mouse"): "mouse,multitouch_on_demand" if demo else "mouse,disable_on_activity,multitouch_on_demand",
    }
    if fullscreen:
        settings.update(
            {
                ("graphics", "fullscreen"): "auto",  # the display's own resolution
                ("graphics", "borderless"): "1",
                ("graphics", "show_cursor"): "0",
            }
        )
    else:
        settings.update(
            {
                ("graphics", "fullscreen"): "0",
                ("graphics", "borderless"): "0",
                ("graphics", "show_cursor"): "1",
                ("graphics", "width"): str(config["display.width"]),
                ("graphics", "height"): str(config["display.height"]),
                ("graphics", "resizable"): "1" if demo else "0",
            }
        )
    return env, settings


def configure_kivy(config: Config, *, fonts: dict[str, Path], demo: bool) -> None:
    """Set Kivy's environment and Config for this kiosk; before anything imports the window."""
    env, settings = kivy_settings(config, demo=demo, fonts=fonts, is_pi=is_raspberry_pi(), environ=dict(os.environ))
    for name, value in env.items():
        os.environ.setdefault(name, value)
    # Kivy reads the environment above when first imported, so it is imported only now.
    from kivy.config import Config as KivyConfig
    from kivy.logger import Logger as KivyLogger

    KivyLogger.addFilter(_OptionalInputDrivers())

    for (section, key), value in settings.items():
        KivyConfig.set(section, key, value)
    log.info(
        "Starting the touchscreen (%s, %s)",
        "demo" if demo else "buttons on GPIO",
        "fullscreen"
        if settings[("graphics", "fullscreen")] != "0"
        else f"{config['display.width']}x{config['display.height']} window",
    )


def run_app(config: Config, data_dir: str | Path, *, fonts: dict[str, Path], demo: bool) -> None:
    """Open the touchscreen and run until the window closes or SIGTERM arrives."""
    tune_malloc()  # before Kivy allocates anything (kiosk/ui/heap.py)
    configure_kivy(config, fonts=fonts, demo=demo)
    # Deferred on purpose, not to dodge a cycle (kioskapp never imports this module):
    # importing kioskapp opens the window, so it must come after the settings above.
    from kiosk.ui.kioskapp import KioskApp

    KioskApp(config, data_dir, demo=demo).run()
