"""The devices allowed to work the office's queue: window kiosks and the entrance kiosk.

Each has a bearer token made by ``kiosk host-add-device`` (256 random bits, shown once);
the host keeps only its SHA-256, in a table beside its event log, as the collector does
for kiosks (a slow hash adds nothing for a random 256-bit secret). A device is tied to
one window: a stolen token can call numbers at that window and nowhere else. The entrance
kiosk is a device with no window: it may only issue tickets.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from server_sync.durable import replace_file

NAME = re.compile(r"[A-Za-z0-9._-]{1,64}")
# The host device's own screens talk to the host on loopback with this device's token, which the
# host writes here (mode 0600, in its data folder) so that device needs no [queue] host_token.
LOCAL_DEVICE = "this-device"
LOCAL_TOKEN_FILE = "local-device.token"


class DeviceError(Exception):
    """A device cannot be added or found; the message is zh/en."""


@dataclass(frozen=True)
class Device:
    name: str
    window: str  # "" for the entrance kiosk (tickets only)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def ensure_table(conn: sqlite3.Connection) -> None:
    conn.execute(
        "CREATE TABLE IF NOT EXISTS host_devices (name TEXT PRIMARY KEY, window TEXT NOT NULL,"
        " token_hash TEXT NOT NULL UNIQUE, created_at TEXT NOT NULL, revoked_at TEXT)"
    )


def add(conn: sqlite3.Connection, name: str, window: str) -> str:
    """Register ``name`` for ``window`` ("" = entrance) and return its token, shown once."""
    if not NAME.fullmatch(name):
        raise DeviceError(
            f"裝置名稱只能用英數字與 . _ -（1 至 64 字）/ a device name is 1-64 of A-Z a-z 0-9 . _ -: {name!r}"
        )
    if window and not re.fullmatch(r"[0-9A-Za-z]{1,8}", window):
        raise DeviceError(f"窗口編號只能是 1 至 8 個英數字 / a window is 1-8 letters or digits: {window!r}")
    ensure_table(conn)
    token = secrets.token_urlsafe(32)
    try:
        conn.execute(
            "INSERT INTO host_devices (name, window, token_hash, created_at) VALUES (?,?,?,?)",
            [name, window, _hash(token), datetime.now(UTC).isoformat(timespec="seconds")],
        )
    except sqlite3.IntegrityError:
        raise DeviceError(f"已有名為 {name} 的裝置 / a device named {name} exists already") from None
    return token


def revoke(conn: sqlite3.Connection, name: str) -> None:
    ensure_table(conn)
    cur = conn.execute(
        "UPDATE host_devices SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL",
        [datetime.now(UTC).isoformat(timespec="seconds"), name],
    )
    if cur.rowcount == 0:
        raise DeviceError(f"沒有名為 {name} 的裝置 / no device named {name}")


def find(conn: sqlite3.Connection, token: str) -> Device | None:
    """The device holding ``token``, or None (unknown or revoked)."""
    ensure_table(conn)
    row = conn.execute(
        "SELECT name, window FROM host_devices WHERE token_hash = ? AND revoked_at IS NULL", [_hash(token)]
    ).fetchone()
    return Device(row[0], row[1]) if row else None


def listing(conn: sqlite3.Connection) -> list[tuple[str, str, str, str | None]]:
    ensure_table(conn)
    return conn.execute("SELECT name, window, created_at, revoked_at FROM host_devices ORDER BY name").fetchall()


def ensure_local(conn: sqlite3.Connection, folder: Path, window: str) -> Path:
    """Make sure the host device's own screens have a device and its token in ``folder``; return the file."""
    ensure_table(conn)
    path = folder / LOCAL_TOKEN_FILE
    token = path.read_text(encoding="ascii").strip() if path.is_file() else ""
    known = find(conn, token) if token else None
    if known is not None and known.name == LOCAL_DEVICE and known.window == window:
        return path
    conn.execute("DELETE FROM host_devices WHERE name = ?", [LOCAL_DEVICE])
    token = add(conn, LOCAL_DEVICE, window)
    fd = os.open(path.with_suffix(".part"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(token + "\n")
        f.flush()
        os.fsync(f.fileno())
    replace_file(path.with_suffix(".part"), path)
    return path
