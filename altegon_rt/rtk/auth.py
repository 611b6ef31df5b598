"""RealtimeKit API tokens: ``Authorization: Bearer rtk_<prefix>_<secret>`` for one account's routes.

An administrator creates a token for an ``account_id`` (``POST /admin/api-tokens``); it is shown once. Only its
SHA-256 digest is stored (the secret part has 256 bits of entropy, so a slow hash adds nothing), found by the
public prefix and compared in constant time. A token works only under its own ``/accounts/{account_id}/``:
no, malformed, unknown or revoked token → 401; another account's path → 403.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from altegon_rt.auth.api_keys import NewKey, make_key, matches, parse_prefix
from altegon_rt.auth.principal import Principal
from altegon_rt.errors import Forbidden, Unauthorized

KIND = "rtk"  # tokens read rtk_<prefix>_<secret>


@dataclass(frozen=True, slots=True)
class RtkPrincipal(Principal):
    """A caller of the RealtimeKit routes: one API token of one account."""

    account_id: str = ""
    token_id: str = ""


def make_token() -> NewKey:
    return make_key(KIND)


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
        prefix = parse_prefix(plain, KIND)
        record = await self._find_token(prefix) if prefix else None
        if record is None or record.get("revoked_at") or not matches(plain, record["digest"]):
            raise Unauthorized("API token is invalid or revoked", code="invalid_token")
        if record["account_id"] != account_id:
            raise Forbidden("this API token belongs to another account", code="wrong_account")
        return RtkPrincipal(f"rtk-token:{record['_id']}", "rtk", "rtk-token", record["account_id"], record["_id"])
