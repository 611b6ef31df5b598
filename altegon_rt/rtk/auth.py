"""RealtimeKit API tokens: ``Authorization: Bearer rtk_<prefix>_<secret>`` for one account's routes.

An administrator creates a token for an ``account_id`` (``POST /admin/api-tokens``); it is shown once. Only its
SHA-256 digest is stored (the secret part has 256 bits of entropy, so a slow hash adds nothing), found by the
public prefix and compared in constant time. A token works only under its own ``/accounts/{account_id}/``:
no, malformed, unknown or revoked token → 401; another account's path → 403.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from altegon_rt.auth.principal import Principal
from altegon_rt.errors import Forbidden, Unauthorized

PREFIX_BYTES = 6
SECRET_BYTES = 32
MAX_TOKEN_LENGTH = 200


@dataclass(frozen=True, slots=True)
class NewToken:
    plain: str  # shown to the administrator once, never stored
    prefix: str
    digest: str


@dataclass(frozen=True, slots=True)
class RtkPrincipal(Principal):
    """A caller of the RealtimeKit routes: one API token of one account."""

    account_id: str = ""
    token_id: str = ""


def digest(plain: str) -> str:
    return hashlib.sha256(plain.encode()).hexdigest()


def make_token() -> NewToken:
    prefix = secrets.token_hex(PREFIX_BYTES)
    plain = f"rtk_{prefix}_{secrets.token_urlsafe(SECRET_BYTES)}"
    return NewToken(plain, prefix, digest(plain))


def parse_prefix(plain: str) -> str | None:
    """The lookup prefix of a presented token, or None when it is not shaped like one of ours."""
    parts = plain.split("_", 2)
    if len(plain) > MAX_TOKEN_LENGTH or len(parts) != 3 or parts[0] != "rtk" or len(parts[1]) != PREFIX_BYTES * 2:
        return None
    return parts[1]


class RtkAuthenticator:
    """``Authorization`` header + the path's account → :class:`RtkPrincipal`, or 401/403."""

    def __init__(self, find_token: Callable[[str], Awaitable[dict[str, Any] | None]]) -> None:
        self._find_token = find_token

    async def authenticate(self, authorization: str | None, account_id: str) -> RtkPrincipal:
        if not authorization or not authorization.strip():
            raise Unauthorized(
                "authentication required: send 'Authorization: Bearer <API token>'", code="missing_credentials"
            )
        scheme, _, plain = authorization.strip().partition(" ")
        plain = plain.strip()
        if scheme.lower() != "bearer" or not plain:
            raise Unauthorized("Authorization header must be 'Bearer <API token>'", code="invalid_token")
        prefix = parse_prefix(plain)
        record = await self._find_token(prefix) if prefix else None
        if record is None or record.get("revoked_at") or not hmac.compare_digest(digest(plain), record["digest"]):
            raise Unauthorized("API token is invalid or revoked", code="invalid_token")
        if record["account_id"] != account_id:
            raise Forbidden("this API token belongs to another account", code="wrong_account")
        return RtkPrincipal(f"rtk-token:{record['_id']}", "rtk", "rtk-token", record["account_id"], record["_id"])
