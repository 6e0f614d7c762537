"""Kiosk identities and their bearer tokens.

A token is ``secrets.token_urlsafe(32)``: 256 random bits. Only its SHA-256 is
stored. A slow password hash (bcrypt, scrypt, argon2) exists to make guessing a
*low-entropy* secret expensive after the hash leaks; nobody can enumerate 2**256
random tokens, so a slow hash would add nothing but latency to every request.
A plain fast hash also lets the API find the kiosk with one indexed lookup.
"""

from __future__ import annotations

import hashlib
import secrets
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timezone


class KioskExists(Exception):
    pass


class NoSuchKiosk(Exception):
    pass


@dataclass(frozen=True)
class Kiosk:
    id: int
    name: str
    levels: int


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(32)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def add_kiosk(conn: sqlite3.Connection, name: str, *, levels: int = 5) -> str:
    """Create a kiosk identity; return its token (shown once, never stored)."""
    name = name.strip()
    if not name:
        raise ValueError("kiosk name must not be empty")
    if not 3 <= levels <= 5:
        raise ValueError("levels must be 3 to 5")
    token = new_token()
    conn.execute("BEGIN IMMEDIATE")
    try:
        row = conn.execute("SELECT revoked_at FROM kiosks WHERE name = ?", [name]).fetchone()
        if row is not None:
            raise KioskExists(name)
        conn.execute("INSERT INTO kiosks (name, token_hash, levels, created_at) VALUES (?,?,?,?)",
                     [name, hash_token(token), levels, _now()])
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return token


def rotate_token(conn: sqlite3.Connection, name: str) -> str:
    """Give an existing (possibly revoked) kiosk a new token and un-revoke it; return the token."""
    token = new_token()
    cur = conn.execute("UPDATE kiosks SET token_hash = ?, revoked_at = NULL WHERE name = ?",
                       [hash_token(token), name])
    if cur.rowcount == 0:
        raise NoSuchKiosk(name)
    return token


def revoke_kiosk(conn: sqlite3.Connection, name: str) -> None:
    cur = conn.execute("UPDATE kiosks SET revoked_at = coalesce(revoked_at, ?) WHERE name = ?",
                       [_now(), name])
    if cur.rowcount == 0:
        raise NoSuchKiosk(name)


def kiosk_for_token(conn: sqlite3.Connection, token: str) -> Kiosk | None:
    """The active kiosk this token belongs to, or None (unknown or revoked)."""
    if not token or len(token) > 512:
        return None
    row = conn.execute("SELECT id, name, levels, revoked_at FROM kiosks WHERE token_hash = ?",
                       [hash_token(token)]).fetchone()
    if row is None or row[3] is not None:
        return None
    # Looking up by hash leaks nothing useful through timing: a near miss on the
    # hash says nothing about the token that produced it.
    return Kiosk(row[0], row[1], row[2])


def kiosk_by_name(conn: sqlite3.Connection, name: str) -> Kiosk | None:
    row = conn.execute("SELECT id, name, levels FROM kiosks WHERE name = ?", [name]).fetchone()
    return Kiosk(*row) if row else None
