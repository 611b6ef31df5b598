"""Password hashing with scrypt (RFC 7914) from hashlib, a random salt per account.

Stored as ``scrypt$<n>$<r>$<p>$<salt b64>$<hash b64>`` so the cost can be raised later without breaking
existing accounts: verification reads the parameters from the stored string.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

R = 8
P = 1
DKLEN = 32
SALT_BYTES = 16
MAX_PASSWORD_BYTES = 1024  # bounds the work one request can ask of scrypt's input hashing


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4))


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    # maxmem above the default 32 MiB so that n=2**15 and beyond work (128 * r * n bytes are needed).
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=DKLEN, maxmem=256 * r * n + 2**20)


def hash_password(password: str, n: int) -> str:
    """A new salted scrypt hash of ``password`` (CPU heavy: call it from a worker thread)."""
    salt = secrets.token_bytes(SALT_BYTES)
    digest = _scrypt(password, salt, n, R, P)
    return f"scrypt${n}${R}${P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    """True when ``password`` matches ``stored``; compared in constant time."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = _unb64(digest)
        actual = _scrypt(password, _unb64(salt), int(n), int(r), int(p))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


# A hash of a random password, verified when the account does not exist so that login takes the same time
# whether or not the e-mail is registered (no account enumeration by timing).
def dummy_hash(n: int) -> str:
    return hash_password(secrets.token_urlsafe(16), n)
