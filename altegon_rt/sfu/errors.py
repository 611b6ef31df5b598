"""The SFU's domain errors (mediasoup's names): misuse of an object's state, and failed negotiation."""

from __future__ import annotations

from altegon_rt.errors import AltegonError


class InvalidStateError(AltegonError):
    """The object is in a state that does not allow this call (closed, already connected)."""


class UnsupportedError(AltegonError):
    """The peer's parameters ask for something we do not support (no fingerprint we can check, unknown role)."""
