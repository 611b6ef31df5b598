"""Errors of the sans-IO WebRTC protocol cores (h11's split: the peer's fault or ours)."""

from __future__ import annotations


class ProtocolError(Exception):
    """Base of every WebRTC protocol error."""


class RemoteProtocolError(ProtocolError):
    """The peer sent something the protocol does not allow."""


class LocalProtocolError(ProtocolError):
    """We tried to do something the protocol does not allow (a bug on our side)."""
