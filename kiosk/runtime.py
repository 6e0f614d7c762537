"""A running kiosk's parts, built from its config: store, recorder, buttons, flow."""

from __future__ import annotations

from pathlib import Path

from kiosk.buttons import RatingButtons
from kiosk.config import Config
from kiosk.flow import Flow
from kiosk.ratings import RatingRecorder
from kiosk.store import Store


def make_flow(config: Config) -> Flow:
    return Flow(
        ask_from_level=config.ask_from_level,
        idle_timeout=config["kiosk.idle_timeout"],
        thanks_seconds=config["kiosk.thanks_seconds"],
        reasons_timeout=config["kiosk.reasons_timeout"],
        language=config["kiosk.language"],
    )


class Kiosk:
    """Everything one kiosk holds while it runs.

    config: the validated configuration.
    data_dir: the folder holding the SQLite file.
    pin_factory: gpiozero pin factory (``MockFactory`` in demo); None for the Pi's default.
    clock: SystemClock, or a SimulatedClock for simulations.
    listener: receives every PressOutcome / PressFailed from the buttons.
    must_open: raise at once if the store cannot be opened (commands) rather than retry on each press (the UI).
    """

    def __init__(self, config: Config, data_dir: str | Path, *, pin_factory=None, clock=None,
                 listener=lambda outcome: None, on_next=lambda: None, must_open: bool = True):
        self.config = config
        self.store = Store(data_dir, kiosk_id=config.kiosk_id, unit=config["kiosk.unit"],
                           window=config["kiosk.window"], clock=clock, must_open=must_open)
        self.recorder = RatingRecorder(self.store, repeat_window=config["buttons.repeat_window"])
        self.pin_factory = pin_factory
        self.buttons = RatingButtons(
            config.levels, self.recorder, listener=listener,
            pull_up=config["buttons.pull_up"], bounce_time=config["buttons.bounce_time"],
            led_seconds=config["buttons.led_seconds"], next_pin=config["buttons.next_pin"],
            on_next=on_next, pin_factory=pin_factory)

    def close(self) -> None:
        self.buttons.close()
        self.store.close()

    # Sync (server_sync.client) plugs in here; with no [sync] url configured the
    # kiosk is a standalone recorder and these do nothing.
    def start_sync(self) -> None:
        """Start the background sync thread if a collector is configured."""
        if not self.config["sync.url"]:
            return
        raise NotImplementedError("sync client lands with issue 3")

    def status_line(self, lang: str) -> str:
        """The discreet sync status line shown on the home screen ("" when sync is off)."""
        if not self.config["sync.url"]:
            return ""
        raise NotImplementedError("sync client lands with issue 3")
