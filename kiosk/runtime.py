"""A running kiosk's parts, built from its config: store, recorder, buttons, flow, queue.

The queue depends on ``[queue] role`` (docs/queue.md, "Window kiosks and the entrance kiosk"):
``local`` keeps this window's own queue in the kiosk's store; ``window`` and ``host`` go through
the office's queue host (``kiosk.office.client.RemoteQueue``), the host device's own UI over
loopback, so its screens and the other windows see one queue.
"""

from __future__ import annotations

import socket
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

if TYPE_CHECKING:  # the types only: both modules bring requests, imported when sync or a host needs it
    from kiosk.office.client import RemoteQueue
    from server_sync.client.worker import SyncWorker

LOOPBACK = "127.0.0.1"
ANY_ADDRESS = ("", "0.0.0.0", "::", "localhost")  # a host listening on these is reachable on loopback


def make_flow(config: Config) -> Flow:
    return Flow(
        # No reasons configured: never show an empty question screen.
        ask_from_level=config.ask_from_level if config.reasons else len(config.levels) + 1,
        idle_timeout=config["kiosk.idle_timeout"],
        thanks_seconds=config["kiosk.thanks_seconds"],
        reasons_timeout=config["kiosk.reasons_timeout"],
        language=config["kiosk.language"],
    )


def host_url(config: Config) -> str:
    """The office's queue host as this kiosk reaches it: queue.host for a window, its own listener
    (queue.listen, on loopback when it listens on every address) for the host device; "" when local."""
    role = config["queue.role"]
    if role == "window":
        return config["queue.host"]
    if role != "host":
        return ""
    address, _, port = config["queue.listen"].rpartition(":")
    address = address.strip("[]")
    if address in ANY_ADDRESS or address.startswith("127."):
        address = LOOPBACK
    elif ":" in address:
        address = f"[{address}]"
    return f"http://{address}:{port}/"


def public_host_url(config: Config) -> str:
    """The host as a visitor's phone on the office network reaches it (the ticket's QR code): queue.host
    for a window; for the host device its listening address, or this machine's LAN address when it
    listens on every address; "" when local."""
    url = host_url(config)
    if config["queue.role"] != "host" or not url.startswith(f"http://{LOOPBACK}:"):
        return url
    port = url.rstrip("/").rsplit(":", 1)[1]
    return f"http://{lan_address()}:{port}/"


def lan_address() -> str:
    """This machine's address on its default route (no packet is sent: a UDP socket only picks a route)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("10.255.255.255", 9))
            return s.getsockname()[0]
        except OSError:  # no network at all: only this machine could open the link anyway
            return LOOPBACK


def remote_queue(config: Config, store: Store, directory: LocalDirectory) -> RemoteQueue:
    """The queue through the office's host ([queue] role window or host)."""
    # Deferred on purpose, not to dodge a cycle (kiosk.office.client never imports this module): only
    # a kiosk working through a host loads requests, urllib3 and ssl (tests/test_lazy_imports.py).
    from kiosk.office.client import HostClient, RemoteQueue
    from kiosk.office.devices import LOCAL_TOKEN_FILE
    from kiosk.office.hub import HOST_DIR

    # The host device's own screens need no token of their own: the host writes one for them.
    local = store.data_dir / HOST_DIR / LOCAL_TOKEN_FILE if config["queue.role"] == "host" else None
    return RemoteQueue(
        HostClient(host_url(config), config["queue.host_token"], token_file=local),
        window=config["kiosk.window"],
        directory=directory.get,
        clock=store.clock,
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
        self.queue: Queue | RemoteQueue | None = None
        self.on_call, self._on_next = on_call, on_next
        # The entrance kiosk ([queue] entrance) only issues tickets: no rating buttons, no "next".
        self.entrance = bool(config["queue.entrance"])
        if self.store.conn is not None:
            self.directory = LocalDirectory(self.store, config["queue.directory"] or None)
            if config["queue.enabled"] and config["queue.role"] != "local":
                self.queue = remote_queue(config, self.store, self.directory)
            elif config["queue.enabled"]:
                self.queue = Queue(
                    self.store,
                    window=config["kiosk.window"],
                    directory=self.directory.get,
                    no_show_after_calls=config["queue.no_show_after_calls"],
                )
            if self.queue is not None:
                self.recorder.link = self.queue.rating_link
        self.pin_factory = pin_factory
        self.buttons = RatingButtons(
            [] if self.entrance else config.levels,
            self.recorder,
            listener=listener,
            pull_up=config["buttons.pull_up"],
            bounce_time=config["buttons.bounce_time"],
            led_seconds=config["buttons.led_seconds"],
            next_pin=None if self.entrance else config["buttons.next_pin"],
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
        client = getattr(self.queue, "client", None)  # a RemoteQueue's HTTP session
        if client is not None:
            client.close()
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
