"""Administrators: accounts (argon2id), login sessions, CSRF tokens, the audit log.

A session is a random 256-bit cookie value; only its SHA-256 is stored, as for
kiosk tokens. Each session has its own CSRF token, which every state-changing
form carries in a hidden field (or a script in ``X-CSRF-Token``); the login
form, made before any session exists, uses a double-submit cookie bound to a server
secret (``login_csrf``). How many wrong passwords an account, a browser or an address
may try is login_limits.py's.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import sqlite3
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# A tester records telephone-courtesy tests and sees only them (docs/admin.md "Telephone courtesy").
ROLES = ("viewer", "manager", "tester")
SESSION_HOURS = 8.0
MIN_PASSWORD = 10

_hasher = PasswordHasher()  # argon2id, the library's (RFC 9106 low-memory) defaults
# Verified when the user does not exist, so a wrong name costs as long as a wrong password.
_DUMMY = _hasher.hash(secrets.token_hex(16))


class AccountError(ValueError):
    """Bad input for an account; the message is zh-TW and English."""


@dataclass(frozen=True)
class User:
    id: int
    username: str
    role: str

    @property
    def is_manager(self) -> bool:
        return self.role == "manager"

    @property
    def is_tester(self) -> bool:
        return self.role == "tester"


@dataclass(frozen=True)
class Session:
    user: User
    csrf: str


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def add_user(conn: sqlite3.Connection, username: str, password: str, role: str = "viewer") -> User:
    username = username.strip()
    if not username or len(username) > 64 or any(c.isspace() for c in username):
        raise AccountError("帳號須為 1–64 個非空白字元 username must be 1-64 characters without spaces")
    if role not in ROLES:
        raise AccountError(f"角色須為 role must be one of {', '.join(ROLES)}")
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"密碼至少 {MIN_PASSWORD} 個字元 password must be at least {MIN_PASSWORD} characters")
    try:
        cur = conn.execute(
            "INSERT INTO admin_users (username, password_hash, role, created_at) VALUES (?,?,?,?)",
            [username, _hasher.hash(password), role, _now_iso()],
        )
    except sqlite3.IntegrityError:
        raise AccountError(f"已有此帳號 user {username!r} already exists") from None
    audit(conn, "cli", "add_user", username, {"role": role})
    assert cur.lastrowid is not None  # set by every successful INSERT
    return User(cur.lastrowid, username, role)


def set_password(conn: sqlite3.Connection, username: str, password: str, role: str | None = None) -> None:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"密碼至少 {MIN_PASSWORD} 個字元 password must be at least {MIN_PASSWORD} characters")
    if role is not None and role not in ROLES:
        raise AccountError(f"角色須為 role must be one of {', '.join(ROLES)}")
    cur = conn.execute(
        "UPDATE admin_users SET password_hash = ?, role = coalesce(?, role), failed_logins = 0,"
        " locked_until = NULL, disabled_at = NULL WHERE username = ?",
        [_hasher.hash(password), role, username],
    )
    if cur.rowcount == 0:
        raise AccountError(f"沒有此帳號 no user {username!r}")
    conn.execute(
        "DELETE FROM admin_sessions WHERE user_id = (SELECT id FROM admin_users WHERE username = ?)", [username]
    )
    audit(conn, "cli", "set_password", username, {"role": role} if role else None)


@dataclass(frozen=True)
class Candidate:
    """An account as a login attempt finds it, read before any hashing (and outside any lock)."""

    id: int
    username: str
    role: str
    password_hash: str
    disabled: bool
    failed_logins: int
    locked_until: float | None

    @property
    def user(self) -> User:
        return User(self.id, self.username, self.role)

    def locked(self, now: float) -> bool:
        return self.locked_until is not None and self.locked_until > now


def candidate(conn: sqlite3.Connection, username: str) -> Candidate | None:
    row = conn.execute(
        "SELECT id, username, role, password_hash, disabled_at, failed_logins, locked_until"
        " FROM admin_users WHERE username = ?",
        [username],
    ).fetchone()
    if row is None:
        return None
    return Candidate(row[0], row[1], row[2], row[3], bool(row[4]), row[5], row[6])


def password_matches(password_hash: str | None, password: str) -> bool:
    """argon2id: ~50 ms of CPU, so run it in a worker thread and never under a write lock.

    ``None`` (no such account, or one not checked) still costs one verification, so a wrong
    name takes as long as a wrong password."""
    try:
        return _hasher.verify(password_hash or _DUMMY, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def rehash_if_needed(conn: sqlite3.Connection, cand: Candidate, password: str) -> None:
    if _hasher.check_needs_rehash(cand.password_hash):
        conn.execute("UPDATE admin_users SET password_hash = ? WHERE id = ?", [_hasher.hash(password), cand.id])


def unlock(conn: sqlite3.Connection, username: str, by: str, now: float | None = None) -> None:
    """Clear an account's wrong-password count and lock, and those of its browsers (login_limits)."""
    cur = conn.execute("UPDATE admin_users SET failed_logins = 0, locked_until = NULL WHERE username = ?", [username])
    if cur.rowcount == 0:
        raise AccountError(f"沒有此帳號 no user {username!r}")
    conn.execute(
        "UPDATE admin_devices SET failed_logins = 0, locked_until = NULL"
        " WHERE user_id = (SELECT id FROM admin_users WHERE username = ?)",
        [username],
    )
    audit(conn, by, "unlock_user", username, now=now)


def new_session(conn: sqlite3.Connection, user: User, hours: float = SESSION_HOURS) -> tuple[str, str]:
    """Start a session; return (cookie value, csrf token)."""
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    now = time.time()
    conn.execute("DELETE FROM admin_sessions WHERE expires_at < ?", [now])
    conn.execute(
        "INSERT INTO admin_sessions (token_hash, user_id, csrf, created_at, expires_at) VALUES (?,?,?,?,?)",
        [_sha(token), user.id, csrf, now, now + hours * 3600],
    )
    return token, csrf


def session_for(conn: sqlite3.Connection, token: str | None) -> Session | None:
    if not token or len(token) > 200:
        return None
    row = conn.execute(
        "SELECT u.id, u.username, u.role, s.csrf, s.expires_at, u.disabled_at FROM admin_sessions s"
        " JOIN admin_users u ON u.id = s.user_id WHERE s.token_hash = ?",
        [_sha(token)],
    ).fetchone()
    if row is None or row[4] < time.time() or row[5]:
        return None
    return Session(User(row[0], row[1], row[2]), row[3])


def end_session(conn: sqlite3.Connection, token: str | None) -> None:
    if token:
        conn.execute("DELETE FROM admin_sessions WHERE token_hash = ?", [_sha(token)])


def csrf_ok(expected: str | None, given: str | None) -> bool:
    if not expected or not given:
        return False
    return hmac.compare_digest(expected.encode(), given.encode())


# -- the login form's CSRF pair -----------------------------------------------------------------
# The cookie holds a random nonce; the form field holds an HMAC of it under a secret kept in the
# database (admin_meta 'login_secret'), so a pair made up by someone else (cookie "abc", field
# "abc") is refused: only the server can make a field that matches a cookie.


def login_secret(conn: sqlite3.Connection) -> bytes:
    row = conn.execute("SELECT value FROM admin_meta WHERE key = 'login_secret'").fetchone()
    return bytes.fromhex(row[0])


def _login_mac(secret: bytes, nonce: str) -> str:
    return hmac.new(secret, b"login-csrf:" + nonce.encode(), hashlib.sha256).hexdigest()


def login_csrf(secret: bytes) -> tuple[str, str]:
    """A fresh (cookie value, form field) pair for the login form."""
    nonce = secrets.token_urlsafe(24)
    return nonce, _login_mac(secret, nonce)


def login_csrf_ok(secret: bytes, cookie: str | None, field: str | None) -> bool:
    if not cookie or not field or len(cookie) > 100:
        return False
    return hmac.compare_digest(_login_mac(secret, cookie).encode(), field.encode())


def audit(
    conn: sqlite3.Connection, username: str, action: str, target: str = "", detail=None, *, now: float | None = None
) -> None:
    """One audit row; ``now`` (unix seconds) is the collector's clock where the caller has it."""
    at = _now_iso() if now is None else datetime.fromtimestamp(now, UTC).isoformat(timespec="seconds")
    conn.execute(
        "INSERT INTO admin_audit (at, username, action, target, detail) VALUES (?,?,?,?,?)",
        [at, username, action, target, None if detail is None else json.dumps(detail, ensure_ascii=False)],
    )


def audit_rows(conn: sqlite3.Connection, limit: int = 500) -> list[dict]:
    return [
        {"at": r[0], "user": r[1], "action": r[2], "target": r[3], "detail": r[4] or ""}
        for r in conn.execute(
            "SELECT at, username, action, target, detail FROM admin_audit ORDER BY id DESC LIMIT ?", [limit]
        )
    ]


def users(conn: sqlite3.Connection, now: float | None = None) -> list[dict]:
    """Every account; ``locked``: locked now for browsers it never logged in from (login_limits)."""
    now = time.time() if now is None else now
    return [
        {
            "username": r[0],
            "role": r[1],
            "created_at": r[2],
            "disabled": bool(r[3]),
            "failed_logins": r[4],
            "locked": r[5] is not None and r[5] > now,
        }
        for r in conn.execute(
            "SELECT username, role, created_at, disabled_at, failed_logins, locked_until"
            " FROM admin_users ORDER BY username"
        )
    ]
