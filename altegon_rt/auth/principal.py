"""Who is calling: a user or admin, proven by a Bearer JWT or an ``x-api-key``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from altegon_rt.auth import api_keys
from altegon_rt.auth.tokens import InvalidToken, TokenIssuer
from altegon_rt.errors import Unauthorized


@dataclass(frozen=True, slots=True)
class Principal:
    user_id: str
    role: str
    via: str  # "jwt" or "api-key"

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def may_act_for(self, user_id: str) -> bool:
        """Users act on their own objects; admins on anyone's."""
        return self.is_admin or self.user_id == user_id


class Authenticator:
    """Turns request headers into a :class:`Principal` or raises :class:`Unauthorized`."""

    def __init__(
        self,
        tokens: TokenIssuer,
        find_key: Callable[[str], Awaitable[dict[str, Any] | None]],
        find_user: Callable[[str], Awaitable[dict[str, Any] | None]],
    ) -> None:
        self._tokens = tokens
        self._find_key = find_key
        self._find_user = find_user

    async def authenticate(self, authorization: str | None, api_key: str | None) -> Principal:
        if authorization:
            scheme, _, token = authorization.strip().partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise Unauthorized("Authorization header must be 'Bearer <token>'", code="invalid_token")
            try:
                claims = self._tokens.verify(token.strip())
            except InvalidToken as exc:
                code = "token_expired" if "expired" in str(exc) else "invalid_token"
                raise Unauthorized(str(exc), code=code) from None
            return Principal(claims.user_id, claims.role, "jwt")
        if api_key:
            return await self._from_api_key(api_key.strip())
        raise Unauthorized(
            "authentication required: send 'Authorization: Bearer <token>' or 'x-api-key'",
            code="missing_credentials",
        )

    async def _from_api_key(self, plain: str) -> Principal:
        prefix = api_keys.parse_prefix(plain)
        record = await self._find_key(prefix) if prefix else None
        if record is None or record.get("revokedAt") or not api_keys.matches(plain, record["digest"]):
            raise Unauthorized("API key is invalid or revoked", code="invalid_api_key")
        user = await self._find_user(record["userId"])
        if user is None:
            raise Unauthorized("API key belongs to an account that no longer exists", code="invalid_api_key")
        return Principal(record["userId"], user["role"], "api-key")
