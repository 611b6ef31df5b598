"""RTMP protocol errors (h11's split: who broke the protocol, us or the peer)."""

from __future__ import annotations


class RtmpError(Exception):
    """Base of every RTMP protocol error."""


class RemoteProtocolError(RtmpError):
    """The peer sent something the protocol does not allow, or more than our bounds: the connection is closed."""


class LocalProtocolError(RtmpError):
    """We tried to send something the protocol does not allow (a bug on our side)."""


class UnsupportedMedia(RtmpError):
    """Media we do not take (a codec other than H.264 and AAC); the message says which and what to send."""
