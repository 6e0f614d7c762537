"""How many wrong passwords may be tried, and by whom (docs/admin.md "Logging in").

Three counters, so that guessing stays slow and no one on the LAN can lock the office out:

* **per source address**: ``ADDRESS_MAX_FAILED`` wrong logins (any account, known or not)
  within ``WINDOW`` seconds block that address for ``LOCK_SECONDS``: it is refused at once,
  without a password check.
* **per account, from unknown browsers**: ``MAX_FAILED`` wrong passwords lock the account
  for ``LOCK_SECONDS`` — but only for browsers it has never logged in from. When the lock
  ends the count starts again from zero (a wrong try never extends it).
* **per known browser**: a successful login leaves a ``kc_device`` cookie (random; only its
  SHA-256 is stored). A browser holding the account's cookie is not touched by the two
  locks above; its own wrong passwords count against that browser alone.

So an attacker without a manager's browser can lock a manager out of *new* browsers only,
and a manager can unlock any account (``/admin/accounts``, ``kiosk-collector unlock-admin``).
Every wrong login, lock and block is in the audit log with the source address.

The checks are split so that argon2 runs outside every lock: ``plan`` reads (any connection),
``accounts.password_matches`` hashes (a worker thread), ``record`` writes briefly.
"""

from __future__ import annotations

import hashlib
import secrets
import sqlite3
from dataclasses import dataclass

from server_sync.collector.admin import accounts

MAX_FAILED = 10  # wrong passwords from unknown browsers before the account is locked
ADDRESS_MAX_FAILED = 20  # wrong logins from one address within WINDOW before it is blocked
WINDOW = 15 * 60
LOCK_SECONDS = 15 * 60
DEVICE_COOKIE = "kc_device"
DEVICE_DAYS = 365


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class Device:
    token_hash: str
    failed_logins: int
    locked_until: float | None


@dataclass(frozen=True)
class Plan:
    """What one login attempt found before checking the password."""

    username: str
    address: str
    now: float
    candidate: accounts.Candidate | None
    device: Device | None  # the browser's kc_device, if it is this account's
    address_blocked_until: float | None

    @property
    def refused_unchecked(self) -> bool:
        """Refused whatever the password (the address is blocked and the browser unknown)."""
        return self.device is None and self.address_blocked_until is not None

    def usable(self) -> bool:
        """Whether a right password would log in (disabled and locked accounts would not)."""
        c = self.candidate
        if c is None or c.disabled:
            return False
        if self.device is not None:
            return not (self.device.locked_until is not None and self.device.locked_until > self.now)
        return not c.locked(self.now)

    @property
    def hash_to_check(self) -> str | None:
        c = self.candidate
        return c.password_hash if c is not None and self.usable() else None


@dataclass(frozen=True)
class Outcome:
    user: accounts.User | None
    reason: str  # ok | address_blocked | wrong
    new_device: str | None = None  # a kc_device cookie to set (a first login from this browser)
    retry_after: float = 0.0  # seconds, when the address is blocked


def plan(conn: sqlite3.Connection, username: str, address: str, device_token: str | None, now: float) -> Plan:
    cand = accounts.candidate(conn, username)
    device = None
    if cand is not None and device_token and len(device_token) <= 100:
        row = conn.execute(
            "SELECT token_hash, failed_logins, locked_until FROM admin_devices WHERE token_hash = ? AND user_id = ?",
            [_sha(device_token), cand.id],
        ).fetchone()
        device = Device(*row) if row else None
    row = conn.execute("SELECT blocked_until FROM admin_login_sources WHERE address = ?", [address]).fetchone()
    blocked = row[0] if row and row[0] is not None and row[0] > now else None
    return Plan(username, address, now, cand, device, blocked)


def record(conn: sqlite3.Connection, p: Plan, password_ok: bool, password: str) -> Outcome:
    """Write what the attempt changes (the caller holds the write lock, briefly: no hashing here
    unless a stored hash needs upgrading after a right password)."""
    if p.refused_unchecked:
        assert p.address_blocked_until is not None  # refused_unchecked says so
        return Outcome(None, "address_blocked", retry_after=p.address_blocked_until - p.now)
    cand = p.candidate
    if password_ok and cand is not None and p.usable():  # usable() needs a candidate anyway
        accounts.rehash_if_needed(conn, cand, password)
        new_device = None
        if p.device is not None:
            conn.execute(
                "UPDATE admin_devices SET failed_logins = 0, locked_until = NULL, last_login = ? WHERE token_hash = ?",
                [p.now, p.device.token_hash],
            )
        else:
            conn.execute("UPDATE admin_users SET failed_logins = 0, locked_until = NULL WHERE id = ?", [cand.id])
            new_device = secrets.token_urlsafe(32)
            conn.execute("DELETE FROM admin_devices WHERE last_login < ?", [p.now - DEVICE_DAYS * 86400])
            conn.execute(
                "INSERT INTO admin_devices (token_hash, user_id, created_at, last_login) VALUES (?,?,?,?)",
                [_sha(new_device), cand.id, p.now, p.now],
            )
        accounts.audit(
            conn, cand.username, "login", "", {"address": p.address, "known_browser": p.device is not None}, now=p.now
        )
        return Outcome(cand.user, "ok", new_device)
    _count_failure(conn, p)
    return Outcome(None, "wrong")


def _count_failure(conn: sqlite3.Connection, p: Plan) -> None:
    now = p.now
    detail: dict[str, object] = {"address": p.address}
    cand = p.candidate
    if cand is None:
        detail["reason"] = "unknown_user"
    elif cand.disabled:
        detail["reason"] = "disabled"
    elif p.device is not None:
        detail["reason"] = _count_on(conn, "admin_devices", "token_hash", p.device.token_hash, p)
        detail["known_browser"] = True
    else:
        detail["reason"] = _count_on(conn, "admin_users", "id", cand.id, p)
    accounts.audit(conn, "", "login_failed", p.username[:64], detail, now=now)
    _count_address(conn, p.address, now)


def _count_on(conn: sqlite3.Connection, table: str, key: str, value, p: Plan) -> str:
    """One more wrong password on an account or a browser; the lock after MAX_FAILED.

    While locked, tries are refused and counted nowhere (they never extend the lock); once the
    lock has ended, counting starts from zero."""
    now = p.now
    failed, locked_until = conn.execute(
        f"SELECT failed_logins, locked_until FROM {table} WHERE {key} = ?", [value]
    ).fetchone()
    if locked_until is not None and locked_until > now:
        return "locked"
    if locked_until is not None:
        failed = 0
    failed += 1
    until = now + LOCK_SECONDS if failed >= MAX_FAILED else None
    conn.execute(
        f"UPDATE {table} SET failed_logins = ?, locked_until = ? WHERE {key} = ?",
        [0 if until else failed, until, value],
    )
    if until:
        accounts.audit(
            conn,
            "",
            "login_locked",
            p.username,
            {"address": p.address, "what": "browser" if table == "admin_devices" else "account", "until": until},
            now=now,
        )
        return "now_locked"
    return "password"


def _count_address(conn: sqlite3.Connection, address: str, now: float) -> None:
    conn.execute(
        "DELETE FROM admin_login_sources WHERE since < ? AND coalesce(blocked_until, 0) < ?", [now - WINDOW, now]
    )
    row = conn.execute("SELECT failures, since FROM admin_login_sources WHERE address = ?", [address]).fetchone()
    failures = 1 if row is None else row[0] + 1
    since = now if row is None else row[1]
    blocked = now + LOCK_SECONDS if failures >= ADDRESS_MAX_FAILED else None
    conn.execute(
        "INSERT OR REPLACE INTO admin_login_sources (address, failures, since, blocked_until) VALUES (?,?,?,?)",
        [address, 0 if blocked else failures, now if blocked else since, blocked],
    )
    if blocked:
        accounts.audit(conn, "", "login_address_blocked", address, {"address": address, "until": blocked}, now=now)


def unblock_address(conn: sqlite3.Connection, address: str, by: str, now: float | None = None) -> bool:
    cur = conn.execute("DELETE FROM admin_login_sources WHERE address = ?", [address])
    if cur.rowcount:
        accounts.audit(conn, by, "unblock_address", address, now=now)
    return bool(cur.rowcount)
