"""Administrators: accounts (argon2id), login sessions, CSRF tokens, the audit log.

A session is a random 256-bit cookie value; only its SHA-256 is stored, as for
kiosk tokens. Each session has its own CSRF token, which every state-changing
form carries in a hidden field (or a script in ``X-CSRF-Token``); the login
form, made before any session exists, uses a double-submit cookie instead.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import sqlite3
import time
from dataclasses import dataclass
from datetime import datetime, timezone

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

ROLES = ("viewer", "manager")
SESSION_HOURS = 8.0
MAX_FAILED = 10          # wrong passwords in a row before the account is locked for a while
LOCK_SECONDS = 15 * 60
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


@dataclass(frozen=True)
class Session:
    user: User
    csrf: str


def _now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


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
        cur = conn.execute("INSERT INTO admin_users (username, password_hash, role, created_at) VALUES (?,?,?,?)",
                           [username, _hasher.hash(password), role, _now_iso()])
    except sqlite3.IntegrityError:
        raise AccountError(f"已有此帳號 user {username!r} already exists") from None
    audit(conn, "cli", "add_user", username, {"role": role})
    return User(cur.lastrowid, username, role)


def set_password(conn: sqlite3.Connection, username: str, password: str, role: str | None = None) -> None:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"密碼至少 {MIN_PASSWORD} 個字元 password must be at least {MIN_PASSWORD} characters")
    if role is not None and role not in ROLES:
        raise AccountError(f"角色須為 role must be one of {', '.join(ROLES)}")
    cur = conn.execute("UPDATE admin_users SET password_hash = ?, role = coalesce(?, role), failed_logins = 0,"
                       " locked_until = NULL, disabled_at = NULL WHERE username = ?",
                       [_hasher.hash(password), role, username])
    if cur.rowcount == 0:
        raise AccountError(f"沒有此帳號 no user {username!r}")
    conn.execute("DELETE FROM admin_sessions WHERE user_id = (SELECT id FROM admin_users WHERE username = ?)",
                 [username])
    audit(conn, "cli", "set_password", username, {"role": role} if role else None)


def authenticate(conn: sqlite3.Connection, username: str, password: str, now: float | None = None) -> User | None:
    """The user if the password is right and the account usable; None otherwise (same cost either way)."""
    now = time.time() if now is None else now
    row = conn.execute("SELECT id, username, role, password_hash, disabled_at, locked_until FROM admin_users"
                       " WHERE username = ?", [username]).fetchone()
    if row is None:
        try:
            _hasher.verify(_DUMMY, password)
        except VerificationError:
            pass
        return None
    uid, name, role, pw_hash, disabled, locked_until = row
    try:
        ok = _hasher.verify(pw_hash, password)
    except (VerificationError, InvalidHashError):
        ok = False
    if not ok or disabled or (locked_until and locked_until > now):
        if not ok:
            conn.execute("UPDATE admin_users SET failed_logins = failed_logins + 1,"
                         " locked_until = CASE WHEN failed_logins + 1 >= ? THEN ? ELSE locked_until END"
                         " WHERE id = ?", [MAX_FAILED, now + LOCK_SECONDS, uid])
        return None
    if _hasher.check_needs_rehash(pw_hash):
        conn.execute("UPDATE admin_users SET password_hash = ? WHERE id = ?", [_hasher.hash(password), uid])
    conn.execute("UPDATE admin_users SET failed_logins = 0, locked_until = NULL WHERE id = ?", [uid])
    return User(uid, name, role)


def new_session(conn: sqlite3.Connection, user: User, hours: float = SESSION_HOURS) -> tuple[str, str]:
    """Start a session; return (cookie value, csrf token)."""
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    now = time.time()
    conn.execute("DELETE FROM admin_sessions WHERE expires_at < ?", [now])
    conn.execute("INSERT INTO admin_sessions (token_hash, user_id, csrf, created_at, expires_at) VALUES (?,?,?,?,?)",
                 [_sha(token), user.id, csrf, now, now + hours * 3600])
    return token, csrf


def session_for(conn: sqlite3.Connection, token: str | None) -> Session | None:
    if not token or len(token) > 200:
        return None
    row = conn.execute(
        "SELECT u.id, u.username, u.role, s.csrf, s.expires_at, u.disabled_at FROM admin_sessions s"
        " JOIN admin_users u ON u.id = s.user_id WHERE s.token_hash = ?", [_sha(token)]).fetchone()
    if row is None or row[4] < time.time() or row[5]:
        return None
    return Session(User(row[0], row[1], row[2]), row[3])


def end_session(conn: sqlite3.Connection, token: str | None) -> None:
    if token:
        conn.execute("DELETE FROM admin_sessions WHERE token_hash = ?", [_sha(token)])


def csrf_ok(expected: str | None, given: str | None) -> bool:
    return bool(expected) and bool(given) and hmac.compare_digest(expected.encode(), given.encode())


def audit(conn: sqlite3.Connection, username: str, action: str, target: str = "", detail=None) -> None:
    conn.execute("INSERT INTO admin_audit (at, username, action, target, detail) VALUES (?,?,?,?,?)",
                 [_now_iso(), username, action, target,
                  None if detail is None else json.dumps(detail, ensure_ascii=False)])


def audit_rows(conn: sqlite3.Connection, limit: int = 500) -> list[dict]:
    return [{"at": r[0], "user": r[1], "action": r[2], "target": r[3], "detail": r[4] or ""}
            for r in conn.execute("SELECT at, username, action, target, detail FROM admin_audit"
                                  " ORDER BY id DESC LIMIT ?", [limit])]


def users(conn: sqlite3.Connection) -> list[dict]:
    return [{"username": r[0], "role": r[1], "created_at": r[2], "disabled": bool(r[3])}
            for r in conn.execute("SELECT username, role, created_at, disabled_at FROM admin_users ORDER BY username")]
