"""A running kiosk's parts, built from its config: store, recorder, buttons, flow."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from kiosk.buttons import RatingButtons
from kiosk.config import Config
from kiosk.flow import Flow
from kiosk.queue import CallOutcome, LocalDirectory, Queue
from kiosk.ratings import RatingRecorder
from kiosk.store import Store, StoreUnavailable
from kiosk.sync_state import StatusReader
from server_sync.client.status import status_line

if TYPE_CHECKING:  # the type only: the module brings requests, imported when sync starts
    from server_sync.client.worker import SyncWorker


def make_flow(config: Config) -> Flow:
    return Flow(
        # No reasons configured: never show an empty question screen.
        ask_from_level=config.ask_from_level if config.reasons else len(config.levels) + 1,
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

    def __init__(
        self,
        config: Config,
        data_dir: str | Path,
        *,
        pin_factory=None,
        clock=None,
        listener=lambda outcome: None,
        on_next=lambda: None,
        must_open: bool = True,
        on_call=lambda outcome: None,
    ):
        self.config = config
        self.store = Store(
            data_dir,
            kiosk_id=config.kiosk_id,
            unit=config["kiosk.unit"],
            window=config["kiosk.window"],
            clock=clock,
            must_open=must_open,
        )
        self.recorder = RatingRecorder(self.store, repeat_window=config["buttons.repeat_window"])
        # The window's queue (kiosk.queue): the "next" button calls numbers, ratings name their ticket.
        self.directory: LocalDirectory | None = None
        self.queue: Queue | None = None
        self.on_call, self._on_next = on_call, on_next
        if self.store.conn is not None:
            self.directory = LocalDirectory(self.store, config["queue.directory"] or None)
            if config["queue.enabled"]:
                self.queue = Queue(
                    self.store,
                    window=config["kiosk.window"],
                    directory=self.directory.get,
                    no_show_after_calls=config["queue.no_show_after_calls"],
                )
                self.recorder.link = self.queue.rating_link
        self.pin_factory = pin_factory
        self.buttons = RatingButtons(
            config.levels,
            self.recorder,
            listener=listener,
            pull_up=config["buttons.pull_up"],
            bounce_time=config["buttons.bounce_time"],
            led_seconds=config["buttons.led_seconds"],
            next_pin=config["buttons.next_pin"],
            on_next=self._next_pressed,
            pin_factory=pin_factory,
        )
        self._sync: SyncWorker | None = None  # once start_sync ran
        self._sync_status: StatusReader | None = None  # made on first status_line

    def _next_pressed(self) -> None:
        """The staff "next" button (a gpiozero thread): call the next number, then tell the UI."""
        if self.queue is not None:
            outcome: CallOutcome | StoreUnavailable
            try:
                outcome = self.queue.call_next(via="button")
            except StoreUnavailable as exc:  # nothing was called; the UI says so to staff
                outcome = exc
            self.on_call(outcome)
        self._on_next()

    def close(self) -> None:
        if self.directory is not None:
            self.directory.close()
        if self._sync is not None:
            self._sync.stop()
            self._sync = None
        if self._sync_status is not None:
            self._sync_status.close()
        self.buttons.close()
        self.store.close()

    # Sync (server_sync.client) plugs in here; with no [sync] url configured the
    # kiosk is a standalone recorder and these do nothing.
    def start_sync(self) -> None:
        """Start the background sync thread if a collector is configured."""
        if not self.config["sync.url"] or self._sync is not None:
            return
        # Deferred on purpose, not to dodge a cycle (kiosk.outbox never imports this module):
        # only a kiosk with a collector configured loads requests, urllib3 and ssl, and only now.
        from kiosk.outbox import sync_worker

        # Its own SQLite connection and HTTP session: the UI never waits for the network.
        self._sync = sync_worker(self.config, self.store.data_dir, clock=self.store.clock)
        self._sync.start()

    def status_line(self, lang: str) -> str:
        """The discreet sync status line shown on the home screen ("" when sync is off)."""
        if not self.config["sync.url"]:
            return ""
        if self._sync_status is None:
            self._sync_status = StatusReader(self.store.data_dir)
        return status_line(self._sync_status.read(), lang)
