"""The staff PIN's hash: what ``queue.staff_pin_hash`` holds, and the check against it.

``scrypt:N:r:p:SALT:HASH`` (base64), the costs inside it and a fresh random salt
each time `kiosk set-staff-pin` sets a PIN, so two kiosks with one PIN hold
different hashes. A PIN is 6 to 12 digits. Standard library only: the config
checks a hash's form at start-up.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

MIN_DIGITS, MAX_DIGITS = 6, 12
# scrypt N=2**15, r=8, p=1 (32 MiB): about 0.15 s per check on the development
# machine, more on a Pi; docs/queue.md gives the offline guessing cost.
KDF = ("scrypt", 1 << 15, 8, 1)
_SALT_BYTES, _DIGEST_BYTES = 16, 32
_MAXMEM = 128 * 1024 * 1024
SET_COMMAND = "kiosk set-staff-pin"


def pin_problem(pin: str) -> str | None:
    """Why ``pin`` cannot be a staff PIN, or None if it can."""
    if not (pin.isascii() and pin.isdigit() and MIN_DIGITS <= len(pin) <= MAX_DIGITS):
        return f"expected {MIN_DIGITS} to {MAX_DIGITS} digits 需為 {MIN_DIGITS} 至 {MAX_DIGITS} 位數字"
    return None


def _digest(pin: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(pin.encode("ascii"), salt=salt, n=n, r=r, p=p, maxmem=_MAXMEM, dklen=_DIGEST_BYTES)


def hash_pin(pin: str, *, kdf: tuple = KDF) -> str:
    """The ``queue.staff_pin_hash`` value for ``pin`` (checked first: ValueError if not acceptable)."""
    problem = pin_problem(pin)
    if problem:
        raise ValueError(problem)
    alg, n, r, p = kdf
    salt = secrets.token_bytes(_SALT_BYTES)
    b64 = base64.b64encode
    return f"{alg}:{n}:{r}:{p}:{b64(salt).decode()}:{b64(_digest(pin, salt, n, r, p)).decode()}"


def _parse(record: str) -> tuple[bytes, int, int, int, bytes]:
    alg, n_s, r_s, p_s, salt, digest = record.split(":")
    if alg != "scrypt":
        raise ValueError(alg)
    n, r, p = int(n_s), int(r_s), int(p_s)
    if not (n >= 1 << 14 and n & (n - 1) == 0 and 1 <= r <= 32 and 1 <= p <= 16 and 128 * n * r <= _MAXMEM):
        raise ValueError("costs")
    salt_b, digest_b = base64.b64decode(salt, validate=True), base64.b64decode(digest, validate=True)
    if len(salt_b) < 16 or len(digest_b) < 16:
        raise ValueError("lengths")
    return salt_b, n, r, p, digest_b


def hash_problem(record: str) -> str | None:
    """Why ``record`` is not a hash `kiosk set-staff-pin` writes, or None if it is one."""
    try:
        _parse(record)
    except ValueError:
        return f"expected a hash written by `{SET_COMMAND}` (scrypt:N:r:p:SALT:HASH), or empty to hide the staff screen"
    return None


def check_pin(pin: str, record: str) -> bool:
    """True if ``pin`` is the PIN hashed in ``record``; never raises for a bad PIN or record."""
    try:
        salt, n, r, p, digest = _parse(record)
    except ValueError:
        return False
    if pin_problem(pin):
        return False
    return hmac.compare_digest(_digest(pin, salt, n, r, p), digest)
