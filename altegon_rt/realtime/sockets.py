"""The five Socket.IO servers of the spec README's table, built from config, and CONNECT authentication.

A client authenticates in its CONNECT auth payload ``{token}`` or with a ``token`` query parameter: one of
our JWTs or an ``x-api-key`` value. A bad or expired token is refused (CONNECT_ERROR with the reason);
no token at all connects as an anonymous viewer where the surface allows it (every path but the recording
server's), and each handler decides what a viewer may do.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from altegon_rt.auth.principal import Principal
from altegon_rt.config import RealtimeSection
from altegon_rt.eio.session import SessionLimits
from altegon_rt.errors import Unauthorized
from altegon_rt.sio.server import ConnectRefused, ConnectRequest, SioLimits, SocketServer

Verify = Callable[[str | None, str | None], Awaitable[Principal]]
Authenticate = Callable[[ConnectRequest], Awaitable[Principal | None]]


@dataclass(frozen=True, slots=True)
class SocketPath:
    name: str
    path: str
    media: bool  # carries MediaRecorder chunks: the larger payload limit
    anonymous: bool


SOCKET_PATHS = (
    SocketPath("meet", "/socket.io/", media=False, anonymous=True),
    SocketPath("art", "/erizocontroller/socket.io/", media=False, anonymous=True),
    SocketPath("sfu", "/sfu/socket.io/", media=False, anonymous=True),
    SocketPath("stream", "/stream/socket.io/", media=True, anonymous=True),
    SocketPath("recording", "/recording/socket.io/", media=True, anonymous=False),
)


def connect_authenticator(
    verify: Verify, *, anonymous: bool
) -> Callable[[ConnectRequest], Awaitable[Principal | None]]:
    """CONNECT → :class:`Principal` (or ``None`` for an allowed anonymous viewer), else :class:`ConnectRefused`."""

    async def authenticate(request: ConnectRequest) -> Principal | None:
        token = request.auth.get("token") if isinstance(request.auth.get("token"), str) else None
        token = token or request.query.get("token") or None
        api_key = request.auth.get("apiKey") if isinstance(request.auth.get("apiKey"), str) else None
        if not token and not api_key:
            if anonymous:
                return None
            raise ConnectRefused("authentication required: send {token} in the auth payload",
                                 {"code": "missing_credentials"})  # fmt: skip
        bearer = f"Bearer {token}" if token else None
        try:
            return await verify(bearer, api_key)
        except Unauthorized as exc:
            raise ConnectRefused(str(exc), {"code": exc.code}) from None

    return authenticate


def origin_check(allowed: str) -> Callable[[str], bool]:
    origins = {o.strip().rstrip("/") for o in allowed.split(",") if o.strip()}
    if "*" in origins:
        return lambda _origin: True
    return lambda origin: origin.rstrip("/") in origins


def build_socket_servers(
    config: RealtimeSection, verify: Verify, *, sfu_verify: Verify | None = None
) -> dict[str, SocketServer]:
    """One :class:`SocketServer` per path of :data:`SOCKET_PATHS`, keyed by path.

    ``sfu_verify`` checks the SFU path's credentials instead of ``verify`` (it admits RealtimeKit participant
    tokens as well, see ``altegon_rt/rtk/participant_tokens.py``).
    """
    limits = SioLimits(config.events_per_second, float(config.event_burst), connect_timeout_s=config.connect_timeout_s)
    servers = {}
    for spec in SOCKET_PATHS:
        session = SessionLimits(
            ping_interval_s=config.ping_interval_s,
            ping_timeout_s=config.ping_timeout_s,
            max_payload=config.media_max_payload_bytes if spec.media else config.max_payload_bytes,
            max_buffered_bytes=config.max_buffered_bytes,
        )
        servers[spec.path] = SocketServer(
            spec.name, session, limits,
            authenticate=connect_authenticator(
                sfu_verify if spec.name == "sfu" and sfu_verify is not None else verify, anonymous=spec.anonymous
            ),
            allow_origin=origin_check(config.allowed_origins),
        )  # fmt: skip
    return servers
