"""JSON Web Tokens (HS256) for signed-in users: ``sub`` (user id), ``role``, ``iat``, ``exp``."""

from __future__ import annotations

import time
from dataclasses import dataclass

import jwt

ALGORITHM = "HS256"
ISSUER = "altegon-rt"


class InvalidToken(Exception):
    """The token is malformed, forged, or expired; the message says which, for the 401 body."""


@dataclass(frozen=True, slots=True)
class Claims:
    user_id: str
    role: str
    issued_at: int
    expires_at: int


class TokenIssuer:
    """Signs and checks tokens with one secret and lifetime."""

    def __init__(self, secret: str, lifetime_s: int, cache_size: int = 4096) -> None:
        self._secret = secret
        self._lifetime_s = lifetime_s
        # Tokens already verified, keyed by their exact text (signature included), so a forged or altered
        # token never matches an entry; an entry is used only while its token has not expired. This saves
        # the HMAC and JSON work that dominated small authenticated requests.
        self._verified: dict[str, Claims] = {}
        self._cache_size = cache_size

    def issue(self, user_id: str, role: str, now: float | None = None) -> str:
        issued = int(time.time() if now is None else now)
        payload = {"sub": user_id, "role": role, "iat": issued, "exp": issued + self._lifetime_s, "iss": ISSUER}
        return jwt.encode(payload, self._secret, algorithm=ALGORITHM)

    def verify(self, token: str) -> Claims:
        claims = self._verified.get(token)
        if claims is not None and time.time() < claims.expires_at:
            return claims
        claims = self._decode(token)
        if len(self._verified) >= self._cache_size:
            del self._verified[next(iter(self._verified))]  # the oldest entry
        self._verified[token] = claims
        return claims

    def _decode(self, token: str) -> Claims:
        try:
            payload = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                issuer=ISSUER,
                options={"require": ["sub", "role", "iat", "exp", "iss"]},
            )
        except jwt.ExpiredSignatureError:
            raise InvalidToken("token has expired") from None
        except jwt.InvalidTokenError:
            raise InvalidToken("token is invalid") from None
        sub, role = payload["sub"], payload["role"]
        if not isinstance(sub, str) or role not in ("user", "admin"):
            raise InvalidToken("token is invalid")
        return Claims(sub, role, int(payload["iat"]), int(payload["exp"]))
