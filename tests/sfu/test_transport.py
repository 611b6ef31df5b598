"""WebRtcTransport at the sans-IO level against a browser stand-in built from our rtc cores: ICE-lite, DTLS in
both roles, SRTP both ways, who may speak, consent expiry, and random datagrams that must never raise."""

from __future__ import annotations

import time
import uuid

import pytest
from cryptography import x509
from hypothesis import given, settings
from hypothesis import strategies as st

from altegon_rt.rtc.dtls import DtlsRole, DtlsState, fingerprint_of, generate_certificate
from altegon_rt.rtc.rtcp import ReceiverReport
from altegon_rt.rtc.rtp import RtpPacket
from altegon_rt.sfu.errors import InvalidStateError, UnsupportedError
from altegon_rt.sfu.transport import HOST_PRIORITY, Address, WebRtcTransport
from altegon_rt.testing.webrtc_peer import WebRtcPeer

CERT = generate_certificate()
PEER: Address = ("198.51.100.7", 50000)
STRANGER: Address = ("203.0.113.9", 40000)


def rtp(seq: int, ssrc: int = 0x11223344) -> bytes:
    return bytes(RtpPacket(96, seq, seq * 960, ssrc, payload=bytes(range(100))))


def rtcp(ssrc: int = 0x11223344) -> bytes:
    return bytes(ReceiverReport(ssrc))


class Received:
    def __init__(self) -> None:
        self.rtp: list[bytes] = []
        self.rtcp: list[bytes] = []


def make(role: DtlsRole = DtlsRole.CLIENT) -> tuple[WebRtcTransport, WebRtcPeer, Received]:
    got = Received()
    transport = WebRtcTransport(
        certificate=CERT,
        announced_ip="192.0.2.1",
        port=40000,
        on_rtp=lambda t, p: got.rtp.append(p),
        on_rtcp=lambda t, p: got.rtcp.append(p),
    )
    peer = WebRtcPeer(transport.ice_parameters.as_dict(), transport.dtls_parameters.as_dict(), role)
    return transport, peer, got


def pump(transport: WebRtcTransport, peer: WebRtcPeer, to_server: list[bytes], now: float = 0.0) -> None:
    """Deliver datagrams back and forth (peer at PEER) until both sides are quiet."""
    for _ in range(50):
        to_peer = []
        for datagram in to_server:
            for data, address in transport.receive_datagram(datagram, PEER, now):
                assert address == PEER
                to_peer.append(data)
        to_peer += [data for data, _ in transport.poll(now)]
        if not to_server and not to_peer:
            return
        to_server = [reply for datagram in to_peer for reply in peer.receive(datagram)]
    raise AssertionError("the exchange did not settle")


def establish(transport: WebRtcTransport, peer: WebRtcPeer, now: float = 0.0) -> None:
    transport.connect(peer.dtls_parameters)
    pump(transport, peer, [peer.binding_request()], now)
    pump(transport, peer, peer.start_dtls(), now)
    assert peer.connected and transport.connected


def test_signalling_parameters_have_mediasoup_shapes() -> None:
    transport, _, _ = make()
    assert str(uuid.UUID(transport.id)) == transport.id
    ice = transport.ice_parameters.as_dict()
    assert set(ice) == {"usernameFragment", "password", "iceLite"} and ice["iceLite"] is True
    assert len(ice["usernameFragment"]) == 16 and len(ice["password"]) == 32
    (candidate,) = [c.as_dict() for c in transport.ice_candidates]
    assert candidate == {
        "foundation": "udpcandidate",
        "priority": HOST_PRIORITY,
        "ip": "192.0.2.1",
        "address": "192.0.2.1",
        "protocol": "udp",
        "port": 40000,
        "type": "host",
    }
    assert transport.dtls_parameters.as_dict() == {
        "role": "auto",
        "fingerprints": [{"algorithm": "sha-256", "value": CERT.fingerprint}],
    }


@pytest.mark.parametrize(
    ("remote_role", "local_role"),
    [("client", "server"), ("server", "client"), ("auto", "client"), (None, "client")],
)
def test_dtls_role_follows_mediasoup(remote_role: str | None, local_role: str) -> None:
    transport, peer, _ = make()
    params = peer.dtls_parameters
    if remote_role is None:
        del params["role"]
    else:
        params["role"] = remote_role
    transport.connect(params)
    assert transport.dtls_parameters.role == local_role


def test_connect_rejects_misuse_and_unsupported_parameters() -> None:
    transport, peer, _ = make()
    with pytest.raises(UnsupportedError, match="role"):
        transport.connect({**peer.dtls_parameters, "role": "actpass"})
    with pytest.raises(UnsupportedError, match=r"^no fingerprint in dtlsParameters uses one of sha-1, .*, sha-512$"):
        transport.connect({"role": "client", "fingerprints": [{"algorithm": "md5", "value": "AB"}]})
    with pytest.raises(UnsupportedError, match="non-empty"):
        transport.connect({"role": "client", "fingerprints": []})
    transport.connect(peer.dtls_parameters)
    with pytest.raises(InvalidStateError, match="already"):
        transport.connect(peer.dtls_parameters)
    closed, _, _ = make()
    closed.close()
    with pytest.raises(InvalidStateError, match="closed"):
        closed.connect(peer.dtls_parameters)


@pytest.mark.parametrize("peer_role", [DtlsRole.CLIENT, DtlsRole.SERVER])
def test_media_flows_both_ways(peer_role: DtlsRole) -> None:
    transport, peer, got = make(peer_role)
    assert transport.send_rtp(rtp(1)) is None  # nothing selected, no keys yet
    establish(transport, peer)
    assert transport.selected_address == PEER and peer.stun_successes == 1

    for seq in (1, 2, 3):
        assert transport.receive_datagram(peer.protect_rtp(rtp(seq)), PEER, 1.0) == []
    transport.receive_datagram(peer.protect_rtcp(rtcp()), PEER, 1.0)
    assert got.rtp == [rtp(1), rtp(2), rtp(3)] and got.rtcp == [rtcp()]

    sent = transport.send_rtp(rtp(7, ssrc=0xAABBCCDD))
    assert sent is not None and sent[1] == PEER and sent[0] != rtp(7, ssrc=0xAABBCCDD)
    peer.receive(sent[0])
    report = transport.send_rtcp(rtcp(0xAABBCCDD))
    assert report is not None
    peer.receive(report[0])
    assert peer.received_rtp == [rtp(7, ssrc=0xAABBCCDD)] and peer.received_rtcp == [rtcp(0xAABBCCDD)]
    assert transport.rtp_in == 3 and transport.rtp_out == 1


def test_dtls_and_srtp_only_from_checked_addresses() -> None:
    transport, peer, got = make()
    transport.connect(peer.dtls_parameters)
    hello = peer.start_dtls()
    assert transport.receive_datagram(hello[0], PEER, 0.0) == []  # no check yet
    assert transport.stats["dropped_unverified"] == 1 and transport.dtls_state is DtlsState.NEW

    pump(transport, peer, [peer.binding_request()])
    pump(transport, peer, hello)
    assert transport.connected
    packet = peer.protect_rtp(rtp(1))
    assert transport.receive_datagram(packet, STRANGER, 1.0) == []
    assert transport.stats["dropped_unverified"] == 2 and got.rtp == []
    transport.receive_datagram(packet, PEER, 1.0)
    transport.receive_datagram(packet, PEER, 1.0)  # a replay
    tampered = bytearray(peer.protect_rtp(rtp(2)))
    tampered[-1] ^= 1
    transport.receive_datagram(bytes(tampered), PEER, 1.0)
    assert got.rtp == [rtp(1)] and transport.stats["dropped_srtp"] == 2


def test_dtls_before_connect_is_dropped_and_the_retransmission_succeeds() -> None:
    transport, peer, _ = make()
    pump(transport, peer, [peer.binding_request()])
    hello = peer.start_dtls()
    pump(transport, peer, hello)
    assert transport.stats["dropped_dtls_before_connect"] == 1
    transport.connect(peer.dtls_parameters)
    pump(transport, peer, hello)  # the browser's retransmitted ClientHello
    assert transport.connected and peer.connected


def test_badly_signed_check_selects_nothing() -> None:
    transport, peer, _ = make()
    transport.connect(peer.dtls_parameters)
    (response,) = transport.receive_datagram(peer.binding_request(password=b"x" * 32), PEER, 0.0)
    assert response[1] == PEER and transport.stats["stun_error_response"] == 1
    assert transport.selected_address is None and transport.remote_addresses == ()
    assert transport.receive_datagram(peer.start_dtls()[0], PEER, 0.0) == []


def signalled_fingerprint(name: str, cert: x509.Certificate) -> dict[str, str]:
    """``sha-384``: the right one (spelt as some clients do); ``sha-512-wrong``: another's; ``md5``: unusable."""
    if name == "md5" or name.endswith("-wrong"):
        return {"algorithm": name.removesuffix("-wrong"), "value": "AB:CD"}
    return {"algorithm": name.upper(), "value": fingerprint_of(cert, name).lower()}


@pytest.mark.parametrize("signalled", [["sha-512"], ["sha-512-wrong", "sha-256"], ["md5", "sha-384"]])
def test_a_fingerprint_by_another_hash_is_checked_sha256_first(signalled: list[str]) -> None:
    """pymediasoup signals only aiortc's last a=fingerprint line (sha-512); with several, sha-256 is checked."""
    transport, peer, _ = make()
    fingerprints = [signalled_fingerprint(name, peer.certificate.certificate) for name in signalled]
    transport.connect({"role": "client", "fingerprints": fingerprints})
    pump(transport, peer, [peer.binding_request()])
    pump(transport, peer, peer.start_dtls())
    assert transport.connected and peer.connected


def test_fingerprint_mismatch_closes_the_transport() -> None:
    transport, peer, _ = make()
    other = WebRtcPeer(transport.ice_parameters.as_dict(), transport.dtls_parameters.as_dict())
    transport.connect(other.dtls_parameters)  # expects another certificate than the peer's
    pump(transport, peer, [peer.binding_request()])
    pump(transport, peer, peer.start_dtls())
    assert transport.closed and not transport.connected
    assert transport.close_reason is not None and "fingerprint" in transport.close_reason


def test_client_role_retransmits_a_lost_client_hello() -> None:
    transport, peer, _ = make(DtlsRole.SERVER)
    transport.connect(peer.dtls_parameters)
    out = transport.receive_datagram(peer.binding_request(), PEER, 0.0)
    assert len(out) == 2  # the STUN answer, then our ClientHello (now that ICE selected PEER)
    for data, _ in out:
        if data[0] <= 3:
            peer.receive(data)  # the ClientHello is lost
    assert transport.poll(0.5) == []
    time.sleep(1.1)  # OpenSSL's first retransmission timer is 1 s of its own clock
    retransmitted = transport.poll(1.1)
    assert retransmitted and transport.stats["dtls_retransmit"] == 1
    pump(transport, peer, [reply for data, _ in retransmitted for reply in peer.receive(data)], 1.1)
    assert transport.connected and peer.connected


def test_consent_expiry_closes_with_close_notify() -> None:
    transport, peer, got = make()
    establish(transport, peer, now=0.0)
    assert transport.poll(29.0) == []
    pump(transport, peer, [peer.binding_request()], now=29.0)  # consent refreshed
    assert transport.poll(58.0) == [] and not transport.closed
    out = transport.poll(59.0)
    assert transport.closed and transport.close_reason == "ICE consent expired"
    assert out and all(address == PEER for _, address in out)
    peer.receive(out[0][0])
    assert peer.dtls.state is DtlsState.CLOSED
    assert transport.close() == [] and transport.poll(60.0) == []
    assert transport.receive_datagram(peer.protect_rtp(rtp(1)), PEER, 60.0) == []
    assert transport.send_rtp(rtp(2)) is None and got.rtp == []


def test_a_peer_that_never_connects_after_connect_is_closed_at_the_timeout() -> None:
    transport, peer, _ = make()
    transport.connect(peer.dtls_parameters, connect_timeout_s=20.0)
    assert transport.poll(100.0) == []  # the clock starts at the first poll after connect()
    pump(transport, peer, [peer.binding_request()], now=110.0)  # ICE alone is not connected
    transport.poll(119.9)
    assert not transport.closed
    transport.poll(120.0)
    assert transport.closed and transport.close_reason == "not connected within the connect timeout"
    connected, late_peer, _ = make()
    connected.connect(late_peer.dtls_parameters, connect_timeout_s=20.0)
    connected.poll(0.0)
    pump(connected, late_peer, [late_peer.binding_request()], now=1.0)
    pump(connected, late_peer, late_peer.start_dtls(), now=1.0)
    pump(connected, late_peer, [late_peer.binding_request()], now=25.0)
    assert connected.poll(25.0) == [] and connected.connected


def test_close_is_idempotent() -> None:
    transport, peer, _ = make()
    establish(transport, peer)
    assert len(transport.close("bye")) == 1
    assert transport.close() == [] and transport.close_reason == "bye"


def test_unknown_and_empty_datagrams_are_counted() -> None:
    transport, _, _ = make()
    for data in (b"", b"\x04hello", b"\xffxx", b"\x40" * 20):
        assert transport.receive_datagram(data, PEER, 0.0) == []
    assert transport.stats["dropped_unknown_type"] == 4


ADDRESSES = st.sampled_from([PEER, STRANGER, ("2001:db8::1", 5000)])


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.binary(max_size=300), ADDRESSES), max_size=8), st.sampled_from([0, 20, 128, 144, 200]))
def test_random_datagrams_never_raise_nor_reach_on_rtp(datagrams: list[tuple[bytes, Address]], first: int) -> None:
    transport, peer, got = make()
    establish(transport, peer)
    for data, address in datagrams:
        # Half of them forced into a demultiplexed range, so DTLS and SRTP see garbage too.
        data = bytes([first]) + data[1:] if first and data else data
        out = transport.receive_datagram(data, address, 1.0)
        assert all(isinstance(d, bytes) for d, _ in out)
    transport.poll(2.0)
    assert got.rtp == [] and got.rtcp == []
