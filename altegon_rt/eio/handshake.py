"""Which Engine.IO requests are acceptable: the reference server's ``verify`` as one pure function.

The order of checks is the reference server's, so clients get the same error for the same mistake:
transport, then (with a sid) the session and its transport, else (a new session) the method, a bare
websocket handshake, and the protocol version.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from altegon_rt.eio.errors import HandshakeError
from altegon_rt.eio.session import Transport

TRANSPORTS = {"polling": Transport.POLLING, "websocket": Transport.WEBSOCKET}


@dataclass(frozen=True, slots=True)
class RequestInfo:
    """What matters of one HTTP request or websocket handshake."""

    method: str
    query: Mapping[str, str]
    headers: Mapping[str, str]
    client: str

    @property
    def sid(self) -> str | None:
        return self.query.get("sid") or None

    @property
    def transport(self) -> Transport | None:
        return TRANSPORTS.get(self.query.get("transport", ""))


def verify_request(request: RequestInfo, *, websocket: bool,
                   session_transport: Callable[[str], Transport | None]) -> HandshakeError | None:  # fmt: skip
    """``None`` when the request may proceed, else the error to answer with."""
    transport = request.transport
    if transport is None or (transport is Transport.WEBSOCKET) != websocket:
        return HandshakeError.UNKNOWN_TRANSPORT if transport is None else HandshakeError.BAD_REQUEST
    origin = request.headers.get("origin", "")
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in origin):
        return HandshakeError.BAD_REQUEST
    sid = request.sid
    if sid is not None:
        current = session_transport(sid)
        if current is None:
            return HandshakeError.UNKNOWN_SID
        if not websocket and current is not transport:
            return HandshakeError.BAD_REQUEST  # a poll for a session that has moved to websocket
        return None
    if request.method != "GET":
        return HandshakeError.BAD_HANDSHAKE_METHOD
    if request.query.get("EIO") != "4":
        return HandshakeError.UNSUPPORTED_PROTOCOL_VERSION
    return None
