"""Engine.IO protocol errors and the HTTP error answers of the reference server.

The reference server (socketio/engine.io) answers a bad request with a JSON body ``{"code", "message"}``
and a status: 403 for a refused handshake, 400 for everything else. Clients (engine.io-client, python-engineio)
show that message, so we use the same codes and words.
"""

from __future__ import annotations

import enum


class ProtocolError(Exception):
    """Base of every Engine.IO/Socket.IO protocol error."""


class RemoteProtocolError(ProtocolError):
    """The peer sent something the protocol does not allow."""


class LocalProtocolError(ProtocolError):
    """We tried to do something the protocol does not allow (a bug on our side)."""


class HandshakeError(enum.IntEnum):
    """The ``code`` field of the reference server's error answers."""

    UNKNOWN_TRANSPORT = 0
    UNKNOWN_SID = 1
    BAD_HANDSHAKE_METHOD = 2
    BAD_REQUEST = 3
    FORBIDDEN = 4
    UNSUPPORTED_PROTOCOL_VERSION = 5

    @property
    def message(self) -> str:
        return _MESSAGES[self]

    @property
    def status(self) -> int:
        return 403 if self is HandshakeError.FORBIDDEN else 400


_MESSAGES = {
    HandshakeError.UNKNOWN_TRANSPORT: "Transport unknown",
    HandshakeError.UNKNOWN_SID: "Session ID unknown",
    HandshakeError.BAD_HANDSHAKE_METHOD: "Bad handshake method",
    HandshakeError.BAD_REQUEST: "Bad request",
    HandshakeError.FORBIDDEN: "Forbidden",
    HandshakeError.UNSUPPORTED_PROTOCOL_VERSION: "Unsupported protocol version",
}
