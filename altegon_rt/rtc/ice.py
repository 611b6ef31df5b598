"""ICE-lite responder (RFC 8445 §2.5, lite; consent freshness after RFC 7675): pure, no sockets, no clock.

A lite agent never sends checks: it answers the full agent's Binding requests and follows its nomination.
It is always the controlled agent, so a peer that also claims ICE-CONTROLLED is a role conflict (487): a lite
agent cannot switch to controlling.

:meth:`IceLiteAgent.receive` takes one datagram, the address it came from and the time, and returns what to
send back (or nothing) and which address is now selected. Garbage, non-requests and datagrams without a
valid FINGERPRINT are dropped silently (a FINGERPRINT is what tells STUN apart from other traffic on the
port, RFC 8445 §7.2.2); requests that are STUN but fail checks get an error response, as RFC 8489 §6.3 says.
"""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass
from typing import NamedTuple

from altegon_rt.rtc.errors import LocalProtocolError, RemoteProtocolError
from altegon_rt.rtc.stun import (
    BINDING,
    HEADER_SIZE,
    Address,
    AttrType,
    ErrorCode,
    StunClass,
    StunMessage,
    is_stun,
    serialize,
    verify_fingerprint,
    verify_integrity,
)

ICE_CHARS = string.ascii_letters + string.digits + "+/"  # RFC 8839 §5.4 ice-char
UFRAG_LENGTH = 16
PASSWORD_LENGTH = 32
CONSENT_TIMEOUT_S = 30.0  # RFC 7675 §5.1
# Pairs are only created by authenticated checks, but a peer holding the credentials could still spray
# addresses; past this many, the least recently confirmed one is forgotten.
MAX_PAIRS = 16

_REASONS = {
    400: "Bad Request",
    401: "Unauthorized",
    420: "Unknown Attribute",
    487: "Role Conflict",
}


class IceCredentials(NamedTuple):
    ufrag: str
    password: str


def random_credentials() -> IceCredentials:
    """A fresh local ufrag (16 ice-chars, 96 bits) and password (32 ice-chars, 192 bits)."""
    ufrag = "".join(secrets.choice(ICE_CHARS) for _ in range(UFRAG_LENGTH))
    password = "".join(secrets.choice(ICE_CHARS) for _ in range(PASSWORD_LENGTH))
    return IceCredentials(ufrag, password)


@dataclass(slots=True)
class CandidatePair:
    """What we know of one remote address that sent us a valid check."""

    address: Address
    priority: int
    last_consent: float
    nominated: bool = False


@dataclass(frozen=True, slots=True)
class IceResult:
    """What became of one datagram.

    Attributes:
        response: bytes to send back to the address the datagram came from, or None.
        error_code: the ERROR-CODE of ``response`` when it is an error response.
        dropped: why nothing is sent back, for counters (None when there is a response).
        selected: the selected pair's address after this datagram (None while nothing is nominated).
        selected_changed: whether this datagram changed ``selected``.
    """

    response: bytes | None = None
    error_code: int | None = None
    dropped: str | None = None
    selected: Address | None = None
    selected_changed: bool = False


class IceLiteAgent:
    """The controlled, lite side of one ICE session (one transport's ufrag/password)."""

    def __init__(
        self,
        local_ufrag: str,
        local_password: str,
        remote_ufrag: str | None = None,
        remote_password: str | None = None,
    ) -> None:
        if not 4 <= len(local_ufrag) <= 256 or not 22 <= len(local_password) <= 256:
            raise LocalProtocolError("ufrag must be 4..256 and password 22..256 characters (RFC 8839 §5.4)")
        if not set(local_ufrag + local_password) <= set(ICE_CHARS):
            raise LocalProtocolError("ufrag and password must be made of ice-chars")
        self.local_ufrag = local_ufrag
        self.remote_ufrag = remote_ufrag
        # A lite agent never sends checks, so the remote password is only kept for the transport's use.
        self.remote_password = remote_password
        self._key = local_password.encode("ascii")
        self.pairs: dict[Address, CandidatePair] = {}
        self.selected: Address | None = None

    def receive(self, data: bytes, address: Address, now: float) -> IceResult:
        """Handle one datagram from ``address`` at time ``now``; never raises for anything the peer sends."""
        address = (address[0], address[1])  # drop IPv6 flowinfo/scope from socket addresses
        if not is_stun(data) or len(data) < HEADER_SIZE:
            return self._drop("not STUN")
        if not verify_fingerprint(data):
            return self._drop("missing or bad FINGERPRINT")
        # A correct FINGERPRINT means the header and attribute framing are sound; values may still be bad.
        try:
            request = StunMessage.parse(data)
        except RemoteProtocolError:
            return self._malformed(data)
        if request.message_class is not StunClass.REQUEST:
            return self._drop("not a request")
        if request.method != BINDING:
            return self._error(request, 400, signed=False)
        username = request.get(AttrType.USERNAME)
        if username is None or not request.has(AttrType.MESSAGE_INTEGRITY):
            return self._error(request, 400, signed=False)  # RFC 8489 §9.1.3
        if not self._username_ok(username) or not verify_integrity(data, self._key):
            return self._error(request, 401, signed=False)
        return self._authenticated(request, address, now)

    def _authenticated(self, request: StunMessage, address: Address, now: float) -> IceResult:
        """The checks after authentication (RFC 8489 §6.3.1, RFC 8445 §7.3): answers are signed from here on."""
        unknown = request.unknown_required()
        if unknown:
            return self._error(request, 420, signed=True, unknown=unknown)
        priority = request.get(AttrType.PRIORITY)
        if priority is None:
            return self._error(request, 400, signed=True)  # RFC 8445 §7.1.1: PRIORITY is mandatory
        if request.has(AttrType.ICE_CONTROLLED):
            return self._error(request, 487, signed=True)
        changed = self._record_check(address, priority, now, request.has(AttrType.USE_CANDIDATE))
        response = StunMessage(BINDING, StunClass.SUCCESS, request.transaction_id)
        response = response.with_attribute(AttrType.XOR_MAPPED_ADDRESS, address)
        payload = serialize(response, integrity_key=self._key, fingerprint=True)
        return IceResult(response=payload, selected=self.selected, selected_changed=changed)

    def expired(self, now: float, timeout_s: float = CONSENT_TIMEOUT_S) -> bool:
        """Whether the selected pair has had no valid check for ``timeout_s`` (False while none is selected).

        Waiting for a first nomination is the transport's connect timeout, not consent.
        """
        if self.selected is None:
            return False
        return now - self.pairs[self.selected].last_consent >= timeout_s

    def _username_ok(self, username: str) -> bool:
        local, colon, remote = username.partition(":")
        if not colon or local != self.local_ufrag:
            return False
        # Before the answer is applied the remote ufrag is unknown, and early checks must still pass.
        return self.remote_ufrag is None or remote == self.remote_ufrag

    def _record_check(self, address: Address, priority: int, now: float, use_candidate: bool) -> bool:
        """Refresh consent for ``address``, nominate it on USE-CANDIDATE; whether the selection changed."""
        pair = self.pairs.get(address)
        if pair is None:
            self._make_room()
            pair = self.pairs[address] = CandidatePair(address, priority, now)
        pair.priority, pair.last_consent = priority, now
        if not use_candidate:
            return False
        pair.nominated = True
        changed = self.selected != address
        self.selected = address  # the latest nomination wins (the controlling agent may renominate)
        return changed

    def _make_room(self) -> None:
        if len(self.pairs) < MAX_PAIRS:
            return
        candidates = [p for p in self.pairs.values() if p.address != self.selected]
        oldest = min(candidates, key=lambda p: p.last_consent)
        del self.pairs[oldest.address]

    def _malformed(self, data: bytes) -> IceResult:
        # The framing is sound (FINGERPRINT verified), so the header can be read to answer a request with 400.
        message_type = int.from_bytes(data[:2], "big")
        is_request = message_type & 0x0110 == 0
        if not is_request:
            return self._drop("malformed")
        header_only = StunMessage.parse(data[:2] + b"\x00\x00" + data[4:HEADER_SIZE])
        return self._error(header_only, 400, signed=False)

    def _error(self, request: StunMessage, code: int, *, signed: bool, unknown: tuple[int, ...] = ()) -> IceResult:
        # Unauthenticated requests get unsigned errors: the peer may not share our key (RFC 8489 §9.1.3).
        response = StunMessage(request.method, StunClass.ERROR, request.transaction_id)
        response = response.with_attribute(AttrType.ERROR_CODE, ErrorCode(code, _REASONS[code]))
        if unknown:
            response = response.with_attribute(AttrType.UNKNOWN_ATTRIBUTES, unknown)
        payload = serialize(response, integrity_key=self._key if signed else None, fingerprint=True)
        return IceResult(response=payload, error_code=code, selected=self.selected)

    def _drop(self, reason: str) -> IceResult:
        return IceResult(dropped=reason, selected=self.selected)
