"""Protocol errors of the WebRTC cores (h11's split: who broke the protocol, us or the peer).

Each error carries a hint for the answer it should turn into: for STUN, the ERROR-CODE a request that
failed this way is answered with (RFC 8489 §14.8).
"""

from __future__ import annotations


class ProtocolError(Exception):
    """Base of every WebRTC protocol error.

    Attributes:
        error_code: the STUN error code a request failing this way should be answered with.
    """

    def __init__(self, message: str, *, error_code: int = 400) -> None:
        super().__init__(message)
        self.error_code = error_code


class RemoteProtocolError(ProtocolError):
    """The peer sent something the protocol does not allow."""


class LocalProtocolError(ProtocolError):
    """We tried to build or send something the protocol does not allow (a bug on our side)."""

    def __init__(self, message: str, *, error_code: int = 500) -> None:
        super().__init__(message, error_code=error_code)
