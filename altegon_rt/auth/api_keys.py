"""API key material: ``<kind>_<prefix>_<secret>`` (``ak`` for platform API keys, ``rtk`` for RealtimeKit API
tokens); the prefix finds the record, only a digest is stored."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

PREFIX_BYTES = 6
SECRET_BYTES = 32


@dataclass(frozen=True, slots=True)
class NewKey:
    plain: str  # shown to the admin once, never stored
    prefix: str
    digest: str


def _digest(plain: str) -> str:
    # The secret part has 256 bits of entropy, so a plain SHA-256 is enough (no slow hash is needed).
    return hashlib.sha256(plain.encode()).hexdigest()


MAX_KEY_LENGTH = 200


def make_key(kind: str = "ak") -> NewKey:
    prefix = secrets.token_hex(PREFIX_BYTES)
    plain = f"{kind}_{prefix}_{secrets.token_urlsafe(SECRET_BYTES)}"
    return NewKey(plain, prefix, _digest(plain))


def parse_prefix(plain: str, kind: str = "ak") -> str | None:
    """The lookup prefix of a presented key of ``kind``, or None if it is not shaped like one of ours."""
    parts = plain.split("_", 2)
    if len(plain) > MAX_KEY_LENGTH or len(parts) != 3 or parts[0] != kind or len(parts[1]) != PREFIX_BYTES * 2:
        return None
    return parts[1]


def matches(plain: str, digest: str) -> bool:
    return hmac.compare_digest(_digest(plain), digest)
