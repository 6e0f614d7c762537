"""systemd notifications: READY=1 at start, WATCHDOG=1 heartbeats from the UI loop.

The heartbeat is sent from the Kivy main loop itself, not from a thread, so a
frozen UI stops it and systemd restarts the kiosk (``WatchdogSec=`` in
systemd/kiosk.service) even though the process is still alive.
"""

from __future__ import annotations

import os
import socket


class Notifier:
    """Sends sd_notify messages to ``$NOTIFY_SOCKET``; does nothing outside systemd."""

    def __init__(self, environ=os.environ):
        address = environ.get("NOTIFY_SOCKET", "")
        if address.startswith("@"):  # abstract namespace socket
            address = "\0" + address[1:]
        self.address = address or None
        usec = environ.get("WATCHDOG_USEC", "")
        pid = environ.get("WATCHDOG_PID", "")
        wanted = usec.isdigit() and (not pid or pid == str(os.getpid()))
        self.watchdog_seconds = int(usec) / 1e6 if wanted else None
        self._sock = None

    @property
    def enabled(self) -> bool:
        return self.address is not None

    def heartbeat_interval(self) -> float | None:
        """How often to send WATCHDOG=1: half the watchdog period, as systemd advises."""
        return self.watchdog_seconds / 2 if self.watchdog_seconds else None

    def notify(self, message: str) -> None:
        if not self.address:
            return
        if self._sock is None:
            self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
        try:
            self._sock.sendto(message.encode(), self.address)
        except OSError:
            pass  # systemd gone (shutdown): nothing useful to do

    def ready(self) -> None:
        self.notify("READY=1")

    def heartbeat(self) -> None:
        self.notify("WATCHDOG=1")

    def status(self, text: str) -> None:
        self.notify(f"STATUS={text}")
