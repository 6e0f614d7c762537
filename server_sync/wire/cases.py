"""What both ends agree on about a case: how its number and code compare, and the verifier's format.

A kiosk receives, for each case, a verifier ``scrypt:N:r:p:SALT:HASH`` (SALT and
HASH in base64) and checks a visitor's code against it; the costs travel inside
the record, so the collector may raise them without a kiosk update.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import unicodedata

# scrypt N=2**13, r=8, p=1 (8 MiB): 20 ms on the development machine's Xeon core,
# so about 80-120 ms on a Pi 4 core (4-6x slower). See docs/cases.md.
KDF = ("scrypt", 1 << 13, 8, 1)
DIGEST_BYTES = 32
_MAXMEM = 256 * 1024 * 1024


def normalize_case_no(text: str) -> str:
    """Case numbers compare full-width folded (NFKC), without any space, upper-cased."""
    return "".join(unicodedata.normalize("NFKC", text or "").split()).upper()


def normalize_code(text: str) -> str:
    """A verification code as typed: full-width folded, without any space."""
    return "".join(unicodedata.normalize("NFKC", text or "").split())


def kdf_name(kdf: tuple = KDF) -> str:
    """``scrypt:N:r:p``: the algorithm and its costs, as stored beside a hash."""
    return ":".join(str(p) for p in kdf)


def hash_code(code: str, salt: bytes, kdf: tuple = KDF, dklen: int = DIGEST_BYTES) -> bytes:
    alg, n, r, p = kdf
    if alg != "scrypt":
        raise ValueError(f"unknown kdf {alg}")
    return hashlib.scrypt(code.encode("utf-8"), salt=salt, n=int(n), r=int(r), p=int(p), maxmem=_MAXMEM, dklen=dklen)


def verifier(kdf: str, salt: bytes, digest: bytes) -> str:
    """What a kiosk stores: ``scrypt:N:r:p:SALT:HASH`` (base64), the costs inside the record."""
    b64 = base64.b64encode
    return f"{kdf}:{b64(salt).decode()}:{b64(digest).decode()}"


def check(code: str, record: str) -> bool:
    """True if ``code`` matches the verifier ``record``; a malformed record matches nothing."""
    try:
        alg, n, r, p, salt, digest = record.split(":")
        if alg != "scrypt":
            return False
        salt_b, want = base64.b64decode(salt), base64.b64decode(digest)
        got = hash_code(code, salt_b, (alg, n, r, p), dklen=len(want))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, want)
