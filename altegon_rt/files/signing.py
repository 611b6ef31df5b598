"""Signed, expiring download URLs for recording blobs (the embedded stand-in for Azure SAS URLs).

A token is ``<payload>.<signature>``, both base64url: the payload is JSON ``{"p": path, "e": expiry (epoch s),
"sp": permissions}`` where path is ``userId/roomId/recordingId/fileName``; the signature is HMAC-SHA256 of the
payload text under a key of the server's (config ``storage_quota.sas_secret`` or ``<data dir>/sas-secret``).
Nothing is stored: the URL is the capability, and it stops working at its expiry or when the key changes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from dataclasses import dataclass

SAS_SECRET_FILE = "sas-secret"  # noqa: S105 - a file name, not a secret
READ = "r"


class BadSignature(Exception):
    """The token is malformed, forged, expired, or lacks the permission."""


@dataclass(frozen=True, slots=True)
class Grant:
    path: str
    expires: int
    permissions: str


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class UrlSigner:
    def __init__(self, secret: str) -> None:
        self._key = hashlib.sha256(b"altegon-rt blob sas\0" + secret.encode()).digest()

    def _mac(self, payload: str) -> str:
        return _b64(hmac.new(self._key, payload.encode(), hashlib.sha256).digest())

    def sign(self, path: str, expires: int, permissions: str = READ) -> str:
        payload = _b64(json.dumps({"p": path, "e": expires, "sp": permissions}, separators=(",", ":")).encode())
        return f"{payload}.{self._mac(payload)}"

    def verify(self, token: str, permission: str = READ, now: float | None = None) -> Grant:
        payload, _, mac = token.partition(".")
        if not payload or not mac or not hmac.compare_digest(mac.encode(), self._mac(payload).encode()):
            raise BadSignature("bad signature")
        try:
            data = json.loads(_unb64(payload))
            grant = Grant(str(data["p"]), int(data["e"]), str(data["sp"]))
        except (ValueError, KeyError, TypeError, binascii.Error):
            raise BadSignature("malformed token") from None
        if grant.expires <= (time.time() if now is None else now):
            raise BadSignature("expired")
        if permission not in grant.permissions:
            raise BadSignature("permission not granted")
        return grant
