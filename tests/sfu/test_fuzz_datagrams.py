"""Hypothesis over whole datagrams at the UdpServer, with a producer forwarding to a consumer: random bytes in every
demultiplexing range, SRTP and SRTCP tampered with (a flipped bit, cut short, lengthened) or replayed, sent from
the producer's own ICE-checked address (as a spoofer would), from the consumer's, and from strangers. None of it
raises out of ``handle_datagram``/``tick``, none of it reaches the consumer, and afterwards media still flows.
Also DTLS garbage from the checked address in each phase of the handshake, in both roles."""

from __future__ import annotations

import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from altegon_rt.rtc.dtls import DtlsRole, DtlsState
from altegon_rt.rtc.rtcp import Nack, Pli, ReceiverReport
from altegon_rt.sfu.transport import Address, Outgoing, WebRtcTransport
from altegon_rt.testing.webrtc_peer import WebRtcPeer
from tests.sfu.test_router import ADDR_A, ADDR_B, Room, media, produce_and_consume, received
from tests.sfu.test_transport import PEER, STRANGER, establish, make

SOURCES = st.sampled_from([ADDR_A, ADDR_B, STRANGER])
RANGES = st.sampled_from([None, 0, 1, 20, 22, 23, 63, 128, 0x80 | 0x10, 191])  # None: as drawn


def _flip(data: bytes, index: int, mask: int) -> bytes:
    index %= len(data)
    return data[:index] + bytes([data[index] ^ mask]) + data[index + 1 :]


def _in_range(data: bytes, first: int | None) -> bytes:
    return bytes([first]) + data[1:] if first is not None and data else data


def _datagrams(valid_rtp: bytes, valid_rtcp: bytes) -> st.SearchStrategy[tuple[bytes, Address]]:
    """One bad datagram and where it comes from."""
    random = st.builds(_in_range, st.binary(max_size=300), RANGES)
    valid = st.sampled_from([valid_rtp, valid_rtcp])
    flipped = st.builds(_flip, valid, st.integers(0, 2**16), st.integers(1, 255))
    cut = st.builds(lambda data, n: data[:-n], valid, st.integers(1, 40))
    longer = st.builds(bytes.__add__, valid, st.binary(min_size=1, max_size=40))
    replayed = valid  # delivered once already: libsrtp's replay window refuses it
    return st.tuples(st.one_of(random, flipped, cut, longer, replayed), SOURCES)


def _media_to(out: Outgoing, address: Address) -> list[bytes]:
    return [data for data, dst in out if dst == address and 128 <= data[0] <= 191]


def test_bad_datagrams_never_reach_a_consumer_and_media_keeps_flowing() -> None:
    room = Room()
    producer, consumer, peer_a, peer_b = produce_and_consume(room)
    consumer.resume()
    room.rtp(ADDR_A, [media(1)])
    seqs = itertools.count(2)
    # Captured once delivered, so replaying them is replaying: the SRTCP one a real report, as peers send.
    valid_rtp = peer_a.protect_rtp(media(next(seqs)))
    valid_rtcp = peer_a.protect_rtcp(bytes(ReceiverReport(0xA11CE)) + bytes(Pli(0xA11CE, 0x5EED)))
    room.send(ADDR_A, [valid_rtp, valid_rtcp])
    assert len(received(peer_b)) == 2

    @settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.lists(_datagrams(valid_rtp, valid_rtcp), min_size=1, max_size=8))
    def feed(datagrams: list[tuple[bytes, Address]]) -> None:
        forwarded = consumer.stats["rtp_out"]
        for data, source in datagrams:
            out = room.server.handle_datagram(data, source, room.clock.now)
            assert _media_to(out, ADDR_B) == [] and _media_to(out, ADDR_A) == []
        assert _media_to(room.server.tick(room.clock.now), ADDR_B) == []
        assert consumer.stats["rtp_out"] == forwarded
        # The path still works: the next real packet from the producer arrives, and a real NACK is answered.
        before = len(peer_b.received_rtp)
        room.rtp(ADDR_A, [media(next(seqs))])
        assert len(peer_b.received_rtp) == before + 1
        last = received(peer_b)[-1]
        room.rtcp(ADDR_B, bytes(Nack.for_lost(0xB0B, consumer.ssrc, [last.sequence_number])))
        assert len(peer_b.received_rtp) == before + 2

    feed()
    assert not producer.closed and not consumer.closed


PHASES = ["ice_only", "handshaking", "established"]


def _to_phase(transport: WebRtcTransport, peer: WebRtcPeer, phase: str) -> None:
    """ICE done from PEER; then connect() and the peer's first flight (``handshaking``) or all of it."""
    if phase == "established":
        establish(transport, peer)
        return
    if phase == "handshaking":
        transport.connect(peer.dtls_parameters)
    out = transport.receive_datagram(peer.binding_request(), PEER, 0.0)  # as DTLS client we start here
    for data, _ in out:
        peer.receive(data)
    if phase == "handshaking":
        for data in peer.start_dtls():  # as DTLS server we answer the ClientHello
            transport.receive_datagram(data, PEER, 0.0)
        assert transport.dtls_state is DtlsState.CONNECTING


@settings(max_examples=150, deadline=None)
@given(
    st.sampled_from(PHASES),
    st.sampled_from([DtlsRole.CLIENT, DtlsRole.SERVER]),
    st.lists(st.builds(_in_range, st.binary(min_size=1, max_size=300), st.integers(20, 63)), max_size=6),
)
def test_dtls_garbage_from_the_checked_address_in_any_phase(phase: str, role: DtlsRole, garbage: list[bytes]) -> None:
    """Nothing raises and nothing reaches on_rtp; an established session is not ended by garbage."""
    transport, peer, got = make(role)
    _to_phase(transport, peer, phase)
    for data in garbage:
        for reply, address in transport.receive_datagram(data, PEER, 1.0):
            assert isinstance(reply, bytes) and address == PEER
    transport.poll(2.0)
    assert got.rtp == [] and got.rtcp == []
    if phase == "established":
        assert not transport.closed and transport.dtls_state is DtlsState.CONNECTED, transport.close_reason
        transport.receive_datagram(peer.protect_rtp(media(7)), PEER, 3.0)
        assert got.rtp == [media(7)]
