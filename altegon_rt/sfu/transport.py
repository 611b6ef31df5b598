"""WebRtcTransport (mediasoup's): one peer's ICE-lite, DTLS-SRTP and SRTP on a shared UDP port, without sockets.

The transport is fed datagrams, the address each came from and the time (:meth:`WebRtcTransport.receive_datagram`,
:meth:`WebRtcTransport.poll`) and returns ``(bytes, address)`` pairs to send; the UDP task
(:mod:`altegon_rt.sfu.udp`) owns the socket. Datagrams are demultiplexed by their first byte (RFC 7983 §7):
0-3 STUN, 20-63 DTLS, 128-191 RTP/RTCP (RFC 5761 §4 tells those two apart). Anything else is dropped.

Who may speak: STUN from anyone (the ICE-lite agent authenticates it); DTLS and SRTP only from an address that
sent us an authenticated check (an ICE pair), so a stranger who learns the port can neither start a handshake
nor make us spend a decryption on its packets. What the peer sends that is wrong is dropped and counted in
:attr:`WebRtcTransport.stats`, never raised; misuse by our own code raises.

DTLS roles follow mediasoup (``WebRtcTransport::Connect``): a remote "client" makes us the server; a remote
"server" or "auto" makes us the client, since an ICE-lite agent is always ICE-controlled (RFC 5763 §5: the
answerer picks, and mediasoup picks "client" for itself when the peer leaves it open). As client we start the
handshake once connect() has been called and ICE has selected an address; as server we wait for a ClientHello.
"""

from __future__ import annotations

import collections
import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, NewType

import pylibsrtp
from pylibsrtp import Policy, Session

from altegon_rt.rtc.dtls import (
    FINGERPRINT_HASHES,
    Certificate,
    DtlsOutcome,
    DtlsRole,
    DtlsSession,
    DtlsState,
    SrtpKeys,
)
from altegon_rt.rtc.errors import LocalProtocolError, ProtocolError
from altegon_rt.rtc.ice import IceLiteAgent, random_credentials
from altegon_rt.rtc.rtp import is_rtcp
from altegon_rt.sfu.errors import InvalidStateError, UnsupportedError

log = logging.getLogger(__name__)

TransportId = NewType("TransportId", str)
Address = tuple[str, int]
Outgoing = list[tuple[bytes, Address]]
PacketHandler = Callable[["WebRtcTransport", bytes], None]

# RFC 8445 §5.1.2.1: type preference 126 for host, the highest local preference, component 1 (RTP, muxed).
HOST_PRIORITY = (126 << 24) | (65535 << 8) | (256 - 1)
CONSENT_CHECK_INTERVAL_S = 1.0

_LOCAL_ROLE = {"client": DtlsRole.SERVER, "server": DtlsRole.CLIENT, "auto": DtlsRole.CLIENT}
_SRTP_PROFILES = {
    "SRTP_AEAD_AES_128_GCM": Policy.SRTP_PROFILE_AEAD_AES_128_GCM,
    "SRTP_AES128_CM_SHA1_80": Policy.SRTP_PROFILE_AES128_CM_SHA1_80,
}


@dataclass(frozen=True, slots=True)
class IceParameters:
    username_fragment: str
    password: str
    ice_lite: bool = True

    def as_dict(self) -> dict[str, Any]:
        """mediasoup's ``iceParameters`` shape, for signalling."""
        return {"usernameFragment": self.username_fragment, "password": self.password, "iceLite": self.ice_lite}


@dataclass(frozen=True, slots=True)
class IceCandidate:
    foundation: str
    priority: int
    address: str
    port: int
    protocol: str = "udp"
    type: str = "host"

    def as_dict(self) -> dict[str, Any]:
        """mediasoup's ``IceCandidate``, with both ``ip`` (older clients) and ``address`` (newer ones)."""
        return {
            "foundation": self.foundation,
            "priority": self.priority,
            "ip": self.address,
            "address": self.address,
            "protocol": self.protocol,
            "port": self.port,
            "type": self.type,
        }


@dataclass(frozen=True, slots=True)
class DtlsFingerprint:
    algorithm: str
    value: str


def _prefer_sha256(fingerprint: DtlsFingerprint) -> bool:
    """Sort key: sha-256 first (what browsers check too), then the others in the order signalled."""
    return fingerprint.algorithm != "sha-256"


@dataclass(frozen=True, slots=True)
class DtlsParameters:
    """``role`` is "auto", "client" or "server"; fingerprints as in SDP ``a=fingerprint``."""

    role: str
    fingerprints: tuple[DtlsFingerprint, ...]

    def as_dict(self) -> dict[str, Any]:
        fingerprints = [{"algorithm": f.algorithm, "value": f.value} for f in self.fingerprints]
        return {"role": self.role, "fingerprints": fingerprints}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DtlsParameters:
        """Read a peer's ``dtlsParameters``; a missing role means "auto" (mediasoup)."""
        role = data.get("role", "auto")
        if role not in _LOCAL_ROLE:
            raise UnsupportedError(f"invalid dtlsParameters.role {role!r}")
        raw = data.get("fingerprints")
        if not isinstance(raw, list | tuple) or not raw:
            raise UnsupportedError("dtlsParameters.fingerprints must be a non-empty list")
        fingerprints = []
        for item in raw:
            if not isinstance(item, Mapping):
                raise UnsupportedError("each fingerprint must be an object")
            algorithm, value = item.get("algorithm"), item.get("value")
            if not isinstance(algorithm, str) or not isinstance(value, str):
                raise UnsupportedError("a fingerprint needs string algorithm and value")
            fingerprints.append(DtlsFingerprint(algorithm.lower(), value))
        return cls(role, tuple(fingerprints))


class WebRtcTransport:
    """One peer's transport: ICE-lite responder, DTLS session, SRTP in and out.

    Args:
        certificate: our DTLS identity (shared by all transports of a server, as mediasoup's worker does).
        announced_ip: the address the peer should send to; ``port`` is the UDP server's port.
        on_rtp: called with every decrypted RTP packet; ``on_rtcp`` with every decrypted RTCP compound.
        on_connected: called once, when DTLS is done and SRTP keys are in place (media can flow).
    """

    def __init__(
        self,
        *,
        certificate: Certificate,
        announced_ip: str,
        port: int,
        on_rtp: PacketHandler,
        on_rtcp: PacketHandler | None = None,
        on_connected: Callable[[WebRtcTransport], None] | None = None,
    ) -> None:
        self.id = TransportId(str(uuid.uuid4()))
        credentials = random_credentials()
        self.ice_parameters = IceParameters(credentials.ufrag, credentials.password)
        self.ice_candidates = (IceCandidate("udpcandidate", HOST_PRIORITY, announced_ip, port),)
        self.ice = IceLiteAgent(credentials.ufrag, credentials.password)
        self.stats: collections.Counter[str] = collections.Counter()
        self.closed = False
        self.close_reason: str | None = None
        self._certificate = certificate
        self._on_rtp = on_rtp
        self._on_rtcp = on_rtcp
        self._on_connected = on_connected
        self._dtls: DtlsSession | None = None
        self._dtls_address: Address | None = None  # where the handshake talks (and retransmits) to
        self._srtp_in: Session | None = None
        self._srtp_out: Session | None = None
        self.now = 0.0  # the time of the datagram or tick being handled: what on_rtp's handlers may read
        self._connect_timeout_s: float | None = None
        self._connect_deadline: float | None = None
        self._next_consent_check = 0.0
        self.rtp_in = self.rtp_out = 0  # hot counters as plain ints; the rarer ones are in ``stats``

    # --- signalling ---------------------------------------------------------------------------------------

    @property
    def dtls_parameters(self) -> DtlsParameters:
        """Our parameters: role "auto" until connect() fixes it, then the role we took."""
        role = "auto" if self._dtls is None else self._dtls.role.value
        return DtlsParameters(role, (DtlsFingerprint("sha-256", self._certificate.fingerprint),))

    @property
    def dtls_state(self) -> DtlsState:
        return DtlsState.NEW if self._dtls is None else self._dtls.state

    @property
    def connected(self) -> bool:
        """Whether SRTP keys are in place: media can flow both ways."""
        return self._srtp_out is not None and not self.closed

    def connect(
        self, dtls_parameters: DtlsParameters | Mapping[str, Any], *, connect_timeout_s: float | None = None
    ) -> None:
        """Take the peer's DTLS role and fingerprint (mediasoup's ``transport.connect({dtlsParameters})``).

        Nothing is sent here: as DTLS client the handshake starts on the next :meth:`poll` or datagram once
        ICE has selected an address, because only the UDP task may send. With ``connect_timeout_s``, a
        transport that is not connected (ICE and DTLS) that long after the first :meth:`poll` is closed: the
        peer has said it is coming, so one that never does (blocked UDP, a vanished tab) is not kept forever.
        """
        if self.closed:
            raise InvalidStateError("transport closed")
        if self._dtls is not None:
            raise InvalidStateError("connect() already called")
        params = (
            dtls_parameters
            if isinstance(dtls_parameters, DtlsParameters)
            else DtlsParameters.from_dict(dtls_parameters)
        )
        usable = sorted((f for f in params.fingerprints if f.algorithm in FINGERPRINT_HASHES), key=_prefer_sha256)
        if not usable:
            raise UnsupportedError(f"no fingerprint in dtlsParameters uses one of {', '.join(FINGERPRINT_HASHES)}")
        remote = usable[0]
        self._dtls = DtlsSession(
            self._certificate, _LOCAL_ROLE[params.role], remote.value, remote_algorithm=remote.algorithm
        )
        self._connect_timeout_s = connect_timeout_s

    # --- the data plane -----------------------------------------------------------------------------------

    @property
    def selected_address(self) -> Address | None:
        return self.ice.selected

    @property
    def remote_addresses(self) -> tuple[Address, ...]:
        """Every address that passed an ICE check: the ones allowed to speak DTLS and SRTP."""
        return tuple(self.ice.pairs)

    def receive_datagram(self, data: bytes, address: Address, now: float) -> Outgoing:
        """Handle one datagram from ``address`` at ``now``; what to send back. Never raises for peer input."""
        if self.closed:
            return self._drop("closed")
        self.now = now
        address = (address[0], address[1])  # drop IPv6 flowinfo/scope from socket addresses
        first = data[0] if data else -1
        if 0 <= first <= 3:
            return self._receive_stun(data, address, now)
        if 20 <= first <= 63:
            return self._receive_dtls(data, address)
        if 128 <= first <= 191:
            self._receive_srtp(data, address)
            return []
        return self._drop("unknown_type")

    def poll(self, now: float) -> Outgoing:
        """Timers: consent expiry (closes the transport), the DTLS client's first flight, DTLS retransmission."""
        if self.closed:
            return []
        self.now = now
        if self._srtp_out is not None:
            # Connected: the handshake is over, so consent is the only timer, and a second's lateness on a 30 s
            # timeout is noise; skipping the rest keeps a tick over hundreds of transports cheap.
            if now < self._next_consent_check:
                return []
            self._next_consent_check = now + CONSENT_CHECK_INTERVAL_S
        if self.ice.expired(now):
            return self.close("ICE consent expired")
        if self._connect_timeout_s is not None and self._srtp_out is None:
            if self._connect_deadline is None:
                self._connect_deadline = now + self._connect_timeout_s
            elif now >= self._connect_deadline:
                return self.close("not connected within the connect timeout")
        out = self._maybe_start_dtls()
        dtls = self._dtls
        if dtls is not None and dtls.state is DtlsState.CONNECTING and self._dtls_address is not None:
            due = dtls.timeout()
            if due is not None and due <= 0:
                self.stats["dtls_retransmit"] += 1
                out += self._dtls_outcome(dtls.handle_timeout(), self._dtls_address)
        return out

    def send_rtp(self, packet: bytes) -> tuple[bytes, Address] | None:
        """``packet`` protected with our key, for the selected address; None while media cannot flow."""
        # The forwarding hot path (once per packet per consumer): _protect's work without its branching.
        srtp, selected = self._srtp_out, self.ice.selected
        if srtp is None or selected is None or self.closed:
            self.stats["rtp_out_dropped"] += 1
            return None
        try:
            data = srtp.protect(packet)
        except pylibsrtp.Error as exc:
            raise LocalProtocolError(f"cannot protect RTP: {exc}") from None
        self.rtp_out += 1
        return data, selected

    def send_rtcp(self, packet: bytes) -> tuple[bytes, Address] | None:
        return self._protect_rtcp(packet)

    def close(self, reason: str = "closed") -> Outgoing:
        """Stop for good; returns DTLS close_notify for the peer, if a session was up. Idempotent."""
        if self.closed:
            return []
        self.closed, self.close_reason = True, reason
        out: Outgoing = []
        if self._dtls is not None:
            outcome = self._dtls.close()
            if self._dtls_address is not None:
                out = [(d, self._dtls_address) for d in outcome.datagrams]
        self._srtp_in = self._srtp_out = None
        return out

    # --- per protocol -------------------------------------------------------------------------------------

    def _receive_stun(self, data: bytes, address: Address, now: float) -> Outgoing:
        result = self.ice.receive(data, address, now)
        if result.dropped is not None:
            return self._drop("stun")
        if result.error_code is not None:
            self.stats["stun_error_response"] += 1
        else:
            self.stats["stun_in"] += 1
        out: Outgoing = [(result.response, address)] if result.response is not None else []
        return out + self._maybe_start_dtls()

    def _receive_dtls(self, data: bytes, address: Address) -> Outgoing:
        if address not in self.ice.pairs:
            return self._drop("unverified")
        if self._dtls is None:
            # The peer may start before our connect() arrives; it retransmits, as with mediasoup.
            return self._drop("dtls_before_connect")
        self.stats["dtls_in"] += 1
        self._dtls_address = address
        try:
            outcome = self._dtls.receive(data)
        except ProtocolError as exc:
            return self.close(f"DTLS failed: {exc}")
        return self._dtls_outcome(outcome, address)

    def _receive_srtp(self, data: bytes, address: Address) -> None:
        if address not in self.ice.pairs:
            self._drop("unverified")
            return
        if self._srtp_in is None:
            self._drop("srtp_before_dtls")
            return
        rtcp = is_rtcp(data)
        try:
            clear = self._srtp_in.unprotect_rtcp(data) if rtcp else self._srtp_in.unprotect(data)
        except pylibsrtp.Error:
            self._drop("srtcp" if rtcp else "srtp")  # bad tag, replay, or too short
            return
        if rtcp:
            self.stats["rtcp_in"] += 1
            if self._on_rtcp is not None:
                self._on_rtcp(self, clear)
        else:
            self.rtp_in += 1
            self._on_rtp(self, clear)

    def _maybe_start_dtls(self) -> Outgoing:
        dtls, selected = self._dtls, self.ice.selected
        if dtls is None or dtls.role is not DtlsRole.CLIENT or dtls.state is not DtlsState.NEW or selected is None:
            return []
        self._dtls_address = selected
        return self._dtls_outcome(dtls.start(), selected)

    def _dtls_outcome(self, outcome: DtlsOutcome, address: Address) -> Outgoing:
        out: Outgoing = [(d, address) for d in outcome.datagrams]
        if outcome.keys is not None:
            out += self._start_srtp(outcome.keys)
        if outcome.error is not None:
            log.debug("transport %s: %s", self.id, outcome.error)
            out += self.close(outcome.error)
        return out

    def _start_srtp(self, keys: SrtpKeys) -> Outgoing:
        profile = _SRTP_PROFILES.get(keys.profile)
        if profile is None:
            return self.close(f"DTLS negotiated an SRTP profile we cannot use: {keys.profile}")
        inbound = Policy(key=keys.remote, ssrc_type=Policy.SSRC_ANY_INBOUND, srtp_profile=profile)
        outbound = Policy(key=keys.local, ssrc_type=Policy.SSRC_ANY_OUTBOUND, srtp_profile=profile)
        # A retransmission without RTX resends a sequence number already protected; libsrtp refuses that unless
        # told otherwise (mediasoup's SrtpSession sets the same flag).
        outbound.allow_repeat_tx = True
        self._srtp_in, self._srtp_out = Session(policy=inbound), Session(policy=outbound)
        if self._on_connected is not None:
            self._on_connected(self)
        return []

    def _protect_rtcp(self, packet: bytes) -> tuple[bytes, Address] | None:
        selected = self.ice.selected
        if self.closed or self._srtp_out is None or selected is None:
            self.stats["rtcp_out_dropped"] += 1
            return None
        try:
            data = self._srtp_out.protect_rtcp(packet)
        except pylibsrtp.Error as exc:
            raise LocalProtocolError(f"cannot protect RTCP: {exc}") from None
        self.stats["rtcp_out"] += 1
        return data, selected

    def _drop(self, reason: str) -> Outgoing:
        self.stats[f"dropped_{reason}"] += 1
        return []
