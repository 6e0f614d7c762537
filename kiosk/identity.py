"""This kiosk's identity, made on its first start and tied to its hardware.

An office sets up one SD card and clones it for every window. An identity
written by the installer would then be shared by every clone, so none is:
the kiosk makes its own on first start, stores it in the data dir beside the
board's serial number, and makes a new one if it finds itself on another board
(a card moved to a new Pi, or an image made after first start).
"""

from __future__ import annotations

import json
import secrets
import socket
from pathlib import Path

from server_sync.durable import make_dirs, write_file

IDENTITY_FILE = "identity.json"
_SERIAL_FILES = ("/sys/firmware/devicetree/base/serial-number", "/proc/device-tree/serial-number")


def board_serial() -> str:
    """The Pi's serial number, or the machine id elsewhere."""
    for name in _SERIAL_FILES:
        try:
            return Path(name).read_bytes().strip(b"\0\n ").decode()
        except OSError:
            continue
    try:
        return Path("/etc/machine-id").read_text().strip()
    except OSError:
        return ""


def resolve_kiosk_id(configured: str, data_dir: Path, *, serial: str | None = None) -> str:
    """The configured id if there is one; else this board's identity from the data dir, made if needed."""
    if configured:
        return configured
    serial = board_serial() if serial is None else serial
    path = Path(data_dir) / IDENTITY_FILE
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
        if stored.get("serial") == serial and stored.get("kiosk_id"):
            return stored["kiosk_id"]
    except (OSError, ValueError):
        pass
    kiosk_id = f"{socket.gethostname()}-{secrets.token_hex(3)}"
    try:
        # Durably: an id that came back changed after a power cut would split this
        # kiosk's events between two names at the collector.
        make_dirs(path.parent)
        write_file(path, json.dumps({"kiosk_id": kiosk_id, "serial": serial}).encode())
    except OSError:
        pass  # a read-only disk: the store will say so; this id then lasts until restart
    return kiosk_id
