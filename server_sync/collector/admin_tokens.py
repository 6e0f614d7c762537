"""Administrators' API tokens, for the collector's /api/v1/admin/ endpoints.

Separate from kiosk tokens on purpose: a kiosk's token sits on an SD card in a
public hall, so it must never be able to change what every kiosk shows. Tokens
are 256 random bits and only their SHA-256 is stored (the reasoning in auth.py
applies unchanged). Made with `kiosk-collector add-api-token NAME`.

Use from an endpoint: ``deps.AdminToken`` (the Admin behind the request's bearer token, or 401),
or ``admin_for_token(conn, token)``.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from server_sync.collector.auth import _now, hash_token, new_token

UNAUTHORIZED = "管理權杖無效或已撤銷 / unknown or revoked admin API token"


class TokenExists(Exception):
    pass


class NoSuchToken(Exception):
    pass


@dataclass(frozen=True)
class Admin:
    id: int
    name: str


def add_api_token(conn: sqlite3.Connection, name: str) -> str:
    """Create a named admin token; return it (shown once, never stored)."""
    name = name.strip()
    if not name:
        raise ValueError("token name must not be empty")
    token = new_token()
    conn.execute("BEGIN IMMEDIATE")
    try:
        if conn.execute("SELECT 1 FROM admin_tokens WHERE name = ?", [name]).fetchone():
            raise TokenExists(name)
        conn.execute(
            "INSERT INTO admin_tokens (name, token_hash, created_at) VALUES (?,?,?)", [name, hash_token(token), _now()]
        )
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return token


def revoke_api_token(conn: sqlite3.Connection, name: str) -> None:
    cur = conn.execute("UPDATE admin_tokens SET revoked_at = coalesce(revoked_at, ?) WHERE name = ?", [_now(), name])
    if cur.rowcount == 0:
        raise NoSuchToken(name)


def admin_for_token(conn: sqlite3.Connection, token: str) -> Admin | None:
    """The active admin this token belongs to, or None (unknown or revoked)."""
    if not token or len(token) > 512:
        return None
    row = conn.execute(
        "SELECT id, name, revoked_at FROM admin_tokens WHERE token_hash = ?", [hash_token(token)]
    ).fetchone()
    if row is None or row[2] is not None:
        return None
    return Admin(row[0], row[1])
