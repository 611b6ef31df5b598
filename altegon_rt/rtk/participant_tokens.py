"""Participant tokens: the JWT a RealtimeKit participant joins its meeting with, and what CONNECT makes of it.

The token (HS256, signed with the server's auth secret) names the account, app, meeting, participant and
preset, and expires after ``rtk.participant_token_lifetime_s``. Its audience ``rtk-participant`` keeps it apart
from our user JWTs: neither verifier accepts the other's tokens.

On the SFU socket (``/sfu/socket.io/``) a client sends the token in its CONNECT auth payload ``{token}`` (as
with our user JWTs). :class:`ParticipantGate` checks it and the current state behind it: the participant still
exists, the meeting is ``ACTIVE`` (an INACTIVE meeting refuses joins), and its preset exists. The socket's
principal is then a :class:`ParticipantPrincipal` that carries the meeting, the SFU room it maps to
(:func:`sfu_room_id`), and the preset's permissions. Refreshing a token issues a new one; older ones stay valid
until they expire, unless the participant is deleted.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import jwt

from altegon_rt.auth.principal import Principal
from altegon_rt.auth.tokens import ALGORITHM, ISSUER, InvalidToken
from altegon_rt.errors import Unauthorized

AUDIENCE = "rtk-participant"
SFU_ROOM_PREFIX = "rtk-"

Verify = Callable[[str | None, str | None], Awaitable[Principal]]


def sfu_room_id(meeting_id: str) -> str:
    """The SFU room a RealtimeKit meeting runs in (see docs/decisions.md)."""
    return SFU_ROOM_PREFIX + meeting_id


@dataclass(frozen=True, slots=True)
class ParticipantClaims:
    account_id: str
    app_id: str
    meeting_id: str
    participant_id: str
    preset_name: str
    expires_at: int


@dataclass(frozen=True, slots=True)
class ParticipantPrincipal(Principal):
    """A socket connected with a participant token: who, in which meeting, with which preset's permissions."""

    account_id: str = ""
    app_id: str = ""
    meeting_id: str = ""
    participant_id: str = ""
    custom_participant_id: str = ""
    name: str | None = None
    preset_id: str = ""
    preset_name: str = ""
    permissions: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def sfu_room_id(self) -> str:
        return sfu_room_id(self.meeting_id)

    def may_produce(self, kind: str) -> str:
        """``ALLOWED``, ``NOT_ALLOWED`` or ``CAN_REQUEST`` for ``audio``, ``video`` or ``screenshare``."""
        media = self.permissions.get("media", {})
        return str(media.get(kind, {}).get("can_produce", "NOT_ALLOWED"))


class ParticipantTokens:
    """Issues and verifies participant tokens with one secret and lifetime."""

    def __init__(self, secret: str, lifetime_s: int) -> None:
        self._secret = secret
        self.lifetime_s = lifetime_s

    def issue(
        self,
        *,
        account_id: str,
        app_id: str,
        meeting_id: str,
        participant_id: str,
        preset_name: str,
        now: float | None = None,
    ) -> str:
        issued = int(time.time() if now is None else now)
        payload = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": participant_id,
            "acc": account_id,
            "app": app_id,
            "mtg": meeting_id,
            "pst": preset_name,
            "iat": issued,
            "exp": issued + self.lifetime_s,
            "jti": secrets.token_hex(8),
        }
        return jwt.encode(payload, self._secret, algorithm=ALGORITHM)

    def verify(self, token: str) -> ParticipantClaims:
        try:
            p = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                issuer=ISSUER,
                audience=AUDIENCE,
                options={"require": ["sub", "acc", "app", "mtg", "pst", "iat", "exp", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError:
            raise InvalidToken("participant token has expired") from None
        except jwt.InvalidTokenError:
            raise InvalidToken("participant token is invalid") from None
        fields = (p["acc"], p["app"], p["mtg"], p["sub"], p["pst"])
        if not all(isinstance(v, str) for v in fields):
            raise InvalidToken("participant token is invalid")
        return ParticipantClaims(*fields, int(p["exp"]))


def looks_like_participant_token(token: str) -> bool:
    """Whether an (unverified) JWT is meant for participants: its audience says so."""
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.InvalidTokenError:
        return False
    return claims.get("aud") == AUDIENCE


class ParticipantGate:
    """Turns a participant token into a :class:`ParticipantPrincipal`, checking the stored state behind it."""

    def __init__(self, tokens: ParticipantTokens, store: Any) -> None:
        self._tokens = tokens
        self._store = store

    async def principal(self, token: str) -> ParticipantPrincipal:
        try:
            claims = self._tokens.verify(token)
        except InvalidToken as exc:
            code = "token_expired" if "expired" in str(exc) else "invalid_token"
            raise Unauthorized(str(exc), code=code) from None
        store = self._store
        participant = await store.rtk_participants.get(
            claims.app_id, claims.participant_id, meeting_id=claims.meeting_id
        )
        if participant is None:
            raise Unauthorized("this participant no longer exists", code="invalid_token")
        meeting = await store.rtk_meetings.get(claims.app_id, claims.meeting_id)
        if meeting is None:
            raise Unauthorized("this meeting no longer exists", code="invalid_token")
        if meeting.get("status") != "ACTIVE":
            raise Unauthorized("the meeting is INACTIVE: nobody can join it", code="meeting_inactive")
        preset = await store.rtk_presets.get(claims.app_id, participant["preset_id"])
        if preset is None:
            raise Unauthorized(f"preset {participant['preset_name']!r} no longer exists", code="preset_not_found")
        return ParticipantPrincipal(
            f"rtk:{participant['_id']}",
            "participant",
            "rtk-participant",
            account_id=claims.account_id,
            app_id=claims.app_id,
            meeting_id=claims.meeting_id,
            participant_id=participant["_id"],
            custom_participant_id=participant["custom_participant_id"],
            name=participant.get("name"),
            preset_id=preset["_id"],
            preset_name=preset["name"],
            permissions=preset.get("permissions", {}),
        )

    def sfu_verify(self, fallback: Verify) -> Verify:
        """The SFU socket's CONNECT check: participant tokens here, every other credential to ``fallback``."""

        async def verify(authorization: str | None, api_key: str | None) -> Principal:
            scheme, _, token = (authorization or "").strip().partition(" ")
            token = token.strip()
            if scheme.lower() == "bearer" and token and looks_like_participant_token(token):
                return await self.principal(token)
            return await fallback(authorization, api_key)

        return verify
