"""Kiosk identities and their bearer tokens.

A token is ``secrets.token_urlsafe(32)``: 256 random bits. Only its SHA-256 is
stored. A slow password hash (bcrypt, scrypt, argon2) exists to make guessing a
*low-entropy* secret expensive after the hash leaks; nobody can enumerate 2**256
random tokens, so a slow hash would add nothing but latency to every request.
A plain fast hash also lets the API find the kiosk with one indexed lookup.

A kiosk is also a place: the unit and window it serves are the collector's to say (set at
``add-kiosk``, changed by a manager), never the events': a stolen token cannot speak for
another unit (docs/collector.md "Who a kiosk is").
"""

from __future__ import annotations

import hashlib
import re
import secrets
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime


class KioskExists(Exception):
    pass


class NoSuchKiosk(Exception):
    pass


# New kiosk names: what fits in a URL, a file name and a shell without quoting. Older names
# outside it keep working (they are encoded wherever they travel).
NAME_PATTERN = re.compile(r"[A-Za-z0-9._-]{1,64}")
NAME_RULE = "名稱只能用英數字與 . _ -，1 至 64 字 / a kiosk name is 1-64 of A-Z a-z 0-9 . _ -"
# Longest unit or window label a manager may give a kiosk.
MAX_LABEL = 64


@dataclass(frozen=True)
class Kiosk:
    id: int
    name: str
    levels: int
    unit: str = ""  # '' until set (or adopted from its first batch, see ingest)
    window: str = ""


def check_name(name: str) -> str:
    """``name`` if it is a valid new kiosk name, else ValueError saying the rule."""
    if not NAME_PATTERN.fullmatch(name):
        raise ValueError(f"{NAME_RULE}: {name!r}")
    return name


def clean_label(text: str, what: str) -> str:
    """A unit or window label as stored: stripped, printable, at most MAX_LABEL characters."""
    text = " ".join(str(text).split())
    if len(text) > MAX_LABEL or not text.isprintable():
        raise ValueError(f"{what} 最多 {MAX_LABEL} 個可見字元 / {what} is at most {MAX_LABEL} printable characters")
    return text


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(32)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def add_kiosk(conn: sqlite3.Connection, name: str, *, levels: int = 5, unit: str = "", window: str = "") -> str:
    """Create a kiosk identity serving ``unit`` and ``window``; return its token (shown once, never stored)."""
    name = check_name(name.strip())
    unit, window = clean_label(unit, "unit"), clean_label(window, "window")
    if not 3 <= levels <= 5:
        raise ValueError("levels must be 3 to 5")
    token = new_token()
    conn.execute("BEGIN IMMEDIATE")
    try:
        row = conn.execute("SELECT revoked_at FROM kiosks WHERE name = ?", [name]).fetchone()
        if row is not None:
            raise KioskExists(name)
        conn.execute(
            "INSERT INTO kiosks (name, token_hash, levels, created_at, unit, window) VALUES (?,?,?,?,?,?)",
            [name, hash_token(token), levels, _now(), unit, window],
        )
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return token


def rotate_token(conn: sqlite3.Connection, name: str) -> str:
    """Give an existing (possibly revoked) kiosk a new token and un-revoke it; return the token."""
    token = new_token()
    cur = conn.execute("UPDATE kiosks SET token_hash = ?, revoked_at = NULL WHERE name = ?", [hash_token(token), name])
    if cur.rowcount == 0:
        raise NoSuchKiosk(name)
    return token


def revoke_kiosk(conn: sqlite3.Connection, name: str) -> None:
    cur = conn.execute("UPDATE kiosks SET revoked_at = coalesce(revoked_at, ?) WHERE name = ?", [_now(), name])
    if cur.rowcount == 0:
        raise NoSuchKiosk(name)


def kiosk_for_token(conn: sqlite3.Connection, token: str) -> Kiosk | None:
    """The active kiosk this token belongs to, or None (unknown or revoked)."""
    if not token or len(token) > 512:
        return None
    row = conn.execute(
        "SELECT id, name, levels, unit, window, revoked_at FROM kiosks WHERE token_hash = ?", [hash_token(token)]
    ).fetchone()
    if row is None or row[5] is not None:
        return None
    # Looking up by hash leaks nothing useful through timing: a near miss on the
    # hash says nothing about the token that produced it.
    return Kiosk(*row[:5])


def kiosk_by_name(conn: sqlite3.Connection, name: str) -> Kiosk | None:
    row = conn.execute("SELECT id, name, levels, unit, window FROM kiosks WHERE name = ?", [name]).fetchone()
    return Kiosk(*row) if row else None


def set_place(
    conn: sqlite3.Connection, name: str, *, unit: str | None = None, window: str | None = None
) -> tuple[tuple[str, str], tuple[str, str]]:
    """Change the unit and/or window kiosk ``name`` serves; return (old, new) as (unit, window).

    Its later events count for the new place; those already stored keep theirs. The caller audits."""
    row = conn.execute("SELECT unit, window FROM kiosks WHERE name = ?", [name]).fetchone()
    if row is None:
        raise NoSuchKiosk(name)
    old = (row[0], row[1])
    new = (
        old[0] if unit is None else clean_label(unit, "unit"),
        old[1] if window is None else clean_label(window, "window"),
    )
    conn.execute("UPDATE kiosks SET unit = ?, window = ? WHERE name = ?", [*new, name])
    return old, new


def units_served(conn: sqlite3.Connection, kiosk_id: int) -> list[str]:
    """The units kiosk ``kiosk_id`` serves: its own unit, or none while it has none."""
    row = conn.execute("SELECT unit FROM kiosks WHERE id = ?", [kiosk_id]).fetchone()
    return [row[0]] if row and row[0] else []
