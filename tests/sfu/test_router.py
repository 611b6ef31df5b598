"""Router, Producer and Consumer: peer A produces, peer B consumes, both real DTLS-SRTP peers driven sans-IO
through one UdpServer (``handle_datagram``/``tick``) with the router's outbox flushed after each datagram."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from altegon_rt.rtc import ortc
from altegon_rt.rtc.dtls import generate_certificate
from altegon_rt.rtc.rtcp import Fir, Nack, Pli, ReceiverReport, parse_compound
from altegon_rt.rtc.rtp import RtpPacket, rtx_wrap
from altegon_rt.sfu.errors import InvalidStateError, UnsupportedError
from altegon_rt.sfu.router import Router, Transport
from altegon_rt.sfu.transport import Address, Outgoing
from altegon_rt.sfu.udp import UdpServer
from altegon_rt.testing.webrtc_peer import WebRtcPeer

CERT = generate_certificate()
ADDR_A: Address = ("198.51.100.7", 50000)
ADDR_B: Address = ("198.51.100.8", 50002)

MEDIA_CODECS: list[dict[str, Any]] = [
    {"kind": "audio", "mimeType": "audio/opus", "clockRate": 48000, "channels": 2},
    {"kind": "video", "mimeType": "video/VP8", "clockRate": 90000},
]
FEEDBACK = [
    {"type": "nack", "parameter": ""},
    {"type": "nack", "parameter": "pli"},
    {"type": "ccm", "parameter": "fir"},
    {"type": "transport-cc", "parameter": ""},
]
VP8_SSRC, VP8_RTX_SSRC = 3297011520, 1839574105
# What mediasoup-client's Chrome handler passes to transport.produce() for a VP8 camera without simulcast.
CHROME_VP8: dict[str, Any] = {
    "mid": "0",
    "codecs": [
        {"mimeType": "video/VP8", "payloadType": 96, "clockRate": 90000, "parameters": {}, "rtcpFeedback": FEEDBACK},
        {"mimeType": "video/rtx", "payloadType": 97, "clockRate": 90000, "parameters": {"apt": 96}, "rtcpFeedback": []},
    ],
    "headerExtensions": [
        {"uri": ortc.URI_MID, "id": 4, "encrypt": False, "parameters": {}},
        {"uri": ortc.URI_ABS_SEND_TIME, "id": 2, "encrypt": False, "parameters": {}},
        {"uri": ortc.URI_TRANSPORT_CC, "id": 3, "encrypt": False, "parameters": {}},
        {"uri": ortc.URI_VIDEO_ORIENTATION, "id": 13, "encrypt": False, "parameters": {}},
    ],
    "encodings": [{"ssrc": VP8_SSRC, "rtx": {"ssrc": VP8_RTX_SSRC}, "dtx": False, "maxBitrate": 900000}],
    "rtcp": {"cname": "Xd2ydCXv1iVuHSJ5", "reducedSize": True},
}
ROUTER_VP8_PT, ROUTER_RTX_PT = 97, 98  # opus takes 96


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def media(seq: int, *, ssrc: int = VP8_SSRC, pt: int = 96) -> bytes:
    return bytes(RtpPacket(pt, seq, 1000 + seq * 3000, ssrc, payload=seq.to_bytes(2, "big") + b"vp8" * 30))


class Room:
    """A router, a UdpServer wired to it, and peers at fixed addresses; datagrams moved by hand."""

    def __init__(self) -> None:
        self.clock = Clock()
        self.router = Router(MEDIA_CODECS, clock=self.clock)
        self.server = UdpServer(
            "127.0.0.1", after_datagram=self.router.take_outgoing, on_closed=self.router.handle_transport_closed
        )
        self.peers: dict[Address, WebRtcPeer] = {}
        self.lose: dict[Address, int] = {}  # how many of the next datagrams to each peer are lost on the way

    def transport(self) -> Transport:
        transport = self.router.create_webrtc_transport(certificate=CERT, announced_ip="192.0.2.1", port=40000)
        self.server.register(transport.webrtc)
        return transport

    def connect(self, address: Address, transport: Transport | None = None) -> tuple[Transport, WebRtcPeer]:
        transport = transport or self.transport()
        peer = WebRtcPeer(transport.webrtc.ice_parameters.as_dict(), transport.webrtc.dtls_parameters.as_dict())
        transport.webrtc.connect(peer.dtls_parameters)
        self.peers[address] = peer
        self.send(address, [peer.binding_request()])
        self.send(address, peer.start_dtls())
        assert peer.connected and transport.webrtc.connected
        return transport, peer

    def send(self, source: Address, datagrams: list[bytes]) -> None:
        """Deliver ``datagrams`` from ``source`` and everything that follows until all sides are quiet."""
        pending = [(d, source) for d in datagrams]
        for _ in range(50):
            out: Outgoing = []
            for data, address in pending:
                out += self.server.handle_datagram(data, address, self.clock.now)
            out += self.server.tick(self.clock.now)
            if not pending and not out:
                return
            pending = []
            for data, dst in out:
                if self.lose.get(dst):
                    self.lose[dst] -= 1
                    continue
                pending += [(reply, dst) for reply in self.peers[dst].receive(data)]
        raise AssertionError("the exchange did not settle")

    def rtp(self, source: Address, packets: list[bytes]) -> None:
        self.send(source, [self.peers[source].protect_rtp(p) for p in packets])

    def rtcp(self, source: Address, packet: bytes) -> None:
        self.send(source, [self.peers[source].protect_rtcp(packet)])


def received(peer: WebRtcPeer) -> list[RtpPacket]:
    return [RtpPacket.parse(p) for p in peer.received_rtp]


def plis(peer: WebRtcPeer) -> list[int]:
    return [p.media_ssrc for data in peer.received_rtcp for p in parse_compound(data) if isinstance(p, Pli)]


@pytest.fixture
def room() -> Room:
    return Room()


def produce_and_consume(room: Room, caps: dict[str, Any] | None = None) -> tuple[Any, Any, WebRtcPeer, WebRtcPeer]:
    a, peer_a = room.connect(ADDR_A)
    b, peer_b = room.connect(ADDR_B)
    producer = a.produce("video", CHROME_VP8, {"source": "camera"})
    consumer = room.router.consume(b, producer.id, caps or room.router.rtp_capabilities)
    return producer, consumer, peer_a, peer_b


def test_consumer_starts_paused_and_after_resume_gets_the_stream_rewritten(room: Room) -> None:
    producer, consumer, peer_a, peer_b = produce_and_consume(room)
    assert consumer.paused and consumer.kind == "video" and producer.app_data == {"source": "camera"}
    room.rtp(ADDR_A, [media(s) for s in (100, 101, 102)])
    assert peer_b.received_rtp == [] and plis(peer_a) == []

    consumer.resume()
    room.send(ADDR_B, [])  # the tick flushes what resume() queued
    assert plis(peer_a) == [VP8_SSRC]
    room.rtp(ADDR_A, [media(s) for s in range(103, 110)])
    got = received(peer_b)
    assert [p.ssrc for p in got] == [consumer.ssrc] * 7
    assert [p.payload_type for p in got] == [ROUTER_VP8_PT] * 7
    assert [(p.sequence_number - got[0].sequence_number) & 0xFFFF for p in got] == list(range(7))
    assert [p.timestamp for p in got] == [1000 + s * 3000 for s in range(103, 110)]
    assert [p.payload for p in got] == [RtpPacket.parse(media(s)).payload for s in range(103, 110)]
    assert consumer.rtp_parameters["codecs"][0]["payloadType"] == ROUTER_VP8_PT


def test_nack_is_answered_with_rtx_when_negotiated(room: Room) -> None:
    _, consumer, _, peer_b = produce_and_consume(room)
    consumer.resume()
    room.rtp(ADDR_A, [media(s) for s in range(10, 12)])
    room.lose[ADDR_B] = 1
    room.rtp(ADDR_A, [media(s) for s in range(12, 15)])
    sent = received(peer_b)
    assert len(sent) == 4
    lost = (sent[1].sequence_number + 1) & 0xFFFF
    room.rtcp(ADDR_B, bytes(Nack.for_lost(0xB0B, consumer.ssrc, [lost])))
    (rtx,) = received(peer_b)[4:]
    assert rtx.ssrc == consumer.rtx_ssrc and rtx.payload_type == ROUTER_RTX_PT
    assert rtx.payload == lost.to_bytes(2, "big") + RtpPacket.parse(media(12)).payload
    assert rtx.timestamp == RtpPacket.parse(media(12)).timestamp
    # A NACK for something never sent (before the stream started here) is not answered.
    room.rtcp(ADDR_B, bytes(Nack.for_lost(0xB0B, consumer.ssrc, [(sent[0].sequence_number - 3) & 0xFFFF])))
    assert len(peer_b.received_rtp) == 5 and consumer.stats["nack_not_sent"] == 1


def test_nack_is_answered_with_the_packet_itself_without_rtx(room: Room) -> None:
    caps = copy.deepcopy(room.router.rtp_capabilities)
    caps["codecs"] = [c for c in caps["codecs"] if not ortc.is_rtx(c)]
    _, consumer, _, peer_b = produce_and_consume(room, caps)
    assert consumer.rtx_ssrc is None
    consumer.resume()
    room.rtp(ADDR_A, [media(10)])
    room.lose[ADDR_B] = 1
    room.rtp(ADDR_A, [media(s) for s in range(11, 15)])
    first = received(peer_b)[0]
    lost = (first.sequence_number + 1) & 0xFFFF
    room.rtcp(ADDR_B, bytes(Nack.for_lost(0xB0B, consumer.ssrc, [lost])))
    resent = received(peer_b)[4]
    expected = RtpPacket.parse(media(11))
    assert (resent.ssrc, resent.sequence_number, resent.payload_type) == (consumer.ssrc, lost, ROUTER_VP8_PT)
    assert (resent.timestamp, resent.payload) == (expected.timestamp, expected.payload)


def test_pause_and_resume_keep_the_sequence_continuous(room: Room) -> None:
    producer, consumer, _, peer_b = produce_and_consume(room)
    consumer.resume()
    room.rtp(ADDR_A, [media(s) for s in range(1, 6)])
    consumer.pause()
    room.rtp(ADDR_A, [media(s) for s in (6, 7, 9, 10)])  # 8 is late and arrives after the resume
    assert len(peer_b.received_rtp) == 5
    consumer.resume()
    room.rtp(ADDR_A, [media(s) for s in range(11, 14)])
    room.rtp(ADDR_A, [media(8)])  # late, from while we were paused: would step back
    producer.pause()
    room.rtp(ADDR_A, [media(s) for s in range(14, 20)])
    producer.resume()
    room.rtp(ADDR_A, [media(s) for s in range(20, 23)])
    got = received(peer_b)
    assert [(p.sequence_number - got[0].sequence_number) & 0xFFFF for p in got] == list(range(11))
    timestamps = [p.timestamp for p in got]
    assert timestamps == sorted(timestamps)
    assert consumer.stats["dropped_before_sync"] == 1
    events = [e.name for e in consumer.observer.drain()]
    assert events == ["resume", "pause", "resume", "producerpause", "producerresume"]


def test_key_frame_requests_are_forwarded_and_rate_limited(room: Room) -> None:
    _, consumer, peer_a, _ = produce_and_consume(room)
    consumer.resume()  # first PLI
    room.rtcp(ADDR_B, bytes(Pli(0xB0B, consumer.ssrc)))  # within 500 ms: dropped
    assert plis(peer_a) == [VP8_SSRC]
    room.clock.now = 0.6
    room.rtcp(ADDR_B, bytes(Fir(0xB0B, 0, ((consumer.ssrc, 1),))))
    assert plis(peer_a) == [VP8_SSRC, VP8_SSRC]
    room.clock.now = 1.2
    room.rtcp(ADDR_B, bytes(Pli(0xB0B, 0xDEAD)))  # not our consumer's SSRC
    room.rtcp(ADDR_A, bytes(Pli(0xA0A, consumer.ssrc)))  # the right SSRC on the wrong transport
    assert len(plis(peer_a)) == 2


def test_rtx_from_the_producer_repairs_the_stream_once(room: Room) -> None:
    _, consumer, _, peer_b = produce_and_consume(room)
    consumer.resume()
    room.rtp(ADDR_A, [media(s) for s in (1, 2, 4)])
    repair = rtx_wrap(RtpPacket.parse(media(3)), ssrc=VP8_RTX_SSRC, sequence_number=7, payload_type=97)
    room.rtp(ADDR_A, [bytes(repair), bytes(rtx_wrap(RtpPacket.parse(media(3)), ssrc=VP8_RTX_SSRC,
                                                    sequence_number=8, payload_type=97))])  # fmt: skip
    got = received(peer_b)
    assert [(p.sequence_number - got[0].sequence_number) & 0xFFFF for p in got] == [0, 1, 3, 2]
    assert got[3].payload == RtpPacket.parse(media(3)).payload and got[3].ssrc == consumer.ssrc


def test_closing_the_producer_transport_closes_producer_and_consumers(room: Room) -> None:
    producer, consumer, _, _ = produce_and_consume(room)
    a = room.router.transports[next(iter(room.router.transports))]
    a.close()
    assert producer.closed and consumer.closed and a.closed
    assert [e.name for e in producer.observer.drain()] == ["transportclose"]
    assert [e.name for e in consumer.observer.drain()] == ["producerclose"]
    assert room.router.producers == {} and room.router.consumers == {}
    (b,) = room.router.transports.values()
    assert not b.closed and b.consumers == {}
    a.close()  # idempotent
    with pytest.raises(InvalidStateError):
        a.produce("video", CHROME_VP8)


def test_consent_expiry_closes_the_transport_and_what_it_produced(room: Room) -> None:
    producer, consumer, _, peer_b = produce_and_consume(room)
    room.clock.now = 31.0
    room.send(ADDR_B, [peer_b.binding_request()])  # B keeps its consent fresh, A does not
    assert producer.closed and consumer.closed and len(room.router.transports) == 1


def test_router_close_cascades(room: Room) -> None:
    producer, consumer, _, _ = produce_and_consume(room)
    transports = list(room.router.transports.values())
    room.router.close()
    room.router.close()
    assert producer.closed and consumer.closed and all(t.closed for t in transports)
    assert room.router.transports == {} and room.router.producers == {}
    assert all(t.webrtc.closed for t in transports)
    with pytest.raises(InvalidStateError):
        room.router.create_webrtc_transport(certificate=CERT, announced_ip="192.0.2.1", port=40000)


def test_negotiation_errors_are_clear(room: Room) -> None:
    a, _ = room.connect(ADDR_A)
    producer = a.produce("video", CHROME_VP8)
    audio_only = {"codecs": [c for c in room.router.rtp_capabilities["codecs"] if c["kind"] == "audio"]}
    with pytest.raises(UnsupportedError, match="cannot consume producer"):
        room.router.consume(a, producer.id, audio_only)
    with pytest.raises(UnsupportedError, match="not found"):
        room.router.consume(a, "nope", room.router.rtp_capabilities)
    simulcast = {**CHROME_VP8, "encodings": [{"ssrc": 1}, {"ssrc": 2}]}
    with pytest.raises(UnsupportedError, match="no simulcast"):
        a.produce("video", simulcast)
    with pytest.raises(UnsupportedError, match="already in use"):
        a.produce("video", CHROME_VP8)
    h264 = copy.deepcopy(CHROME_VP8)
    h264["codecs"][0].update(mimeType="video/H264", parameters={"packetization-mode": 1})
    with pytest.raises(UnsupportedError, match="unsupported codec"):
        a.produce("video", {**h264, "encodings": [{"ssrc": 5}]})
    with pytest.raises(ortc.InvalidRtpParameters, match="codecs"):
        a.produce("video", {"encodings": [{"ssrc": 5}]})


def test_random_rtp_and_rtcp_never_raise_and_reach_consumers_only_by_ssrc() -> None:
    room = Room()
    producer, consumer, _, _ = produce_and_consume(room)
    consumer.resume()
    a = next(t for t in room.router.transports.values() if t.producers)
    room.router.take_outgoing()
    ssrcs = st.sampled_from([VP8_SSRC, VP8_RTX_SSRC, consumer.ssrc, 0]) | st.integers(0, 2**32 - 1)

    @settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(ssrc=ssrcs, head=st.binary(min_size=8, max_size=8), tail=st.binary(max_size=64), rtcp=st.binary())
    def feed(ssrc: int, head: bytes, tail: bytes, rtcp: bytes) -> None:
        before = consumer.packets_sent
        packet = bytes([0x80 | head[0] & 0x3F]) + head[1:] + ssrc.to_bytes(4, "big") + tail
        a.receive_rtp(a.webrtc, packet)
        a.receive_rtcp(a.webrtc, rtcp)
        a.receive_rtcp(a.webrtc, bytes(ReceiverReport(ssrc)) + rtcp)
        out = room.router.take_outgoing()
        if ssrc not in producer.ssrcs:
            assert consumer.packets_sent == before and out == []
        assert all(address == ADDR_B for _, address in out)  # forwarded media only; nothing back to A

    feed()
    assert not producer.closed and not consumer.closed


def test_sequence_numbers_wrap_without_a_step(room: Room) -> None:
    _, consumer, _, peer_b = produce_and_consume(room)
    consumer.resume()
    room.rtp(ADDR_A, [media(s) for s in (65533, 65534, 65535, 0, 1)])
    consumer.pause()
    consumer.resume()
    room.rtp(ADDR_A, [media(s) for s in (2, 3)])
    got = received(peer_b)
    assert [(p.sequence_number - got[0].sequence_number) & 0xFFFF for p in got] == list(range(7))


def test_header_extensions_are_renumbered_to_the_routers_ids(room: Room) -> None:
    _, consumer, _, peer_b = produce_and_consume(room)
    consumer.resume()
    chrome = {4: b"0", 2: b"\x01\x02\x03", 3: b"\x00\x07", 13: b"\x01"}  # mid, abs-send-time, twcc, orientation
    room.rtp(ADDR_A, [bytes(RtpPacket.parse(media(1)).with_extensions(chrome))])
    (got,) = received(peer_b)
    ids = {e["uri"]: e["id"] for e in consumer.rtp_parameters["headerExtensions"]}
    # The producer's mid and transport-wide sequence number are its own transport's, not the consumer's.
    assert got.extensions() == {ids[ortc.URI_ABS_SEND_TIME]: b"\x01\x02\x03", ids[ortc.URI_VIDEO_ORIENTATION]: b"\x01"}
    assert got.payload == RtpPacket.parse(media(1)).payload


def test_consumers_of_one_transport_get_distinct_mids_as_mediasoup_client_needs(room: Room) -> None:
    # mediasoup-client sets up consumers requested together in one SDP offer, with each one's MID from us.
    a, _ = room.connect(ADDR_A)
    b, _ = room.connect(ADDR_B)
    video = a.produce("video", CHROME_VP8, {"source": "camera"})
    caps = room.router.rtp_capabilities
    mids = [room.router.consume(b, video.id, caps).rtp_parameters["mid"] for _ in range(3)]
    assert mids == ["0", "1", "2"]
    assert room.router.consume(a, video.id, caps).rtp_parameters["mid"] == "0"  # numbered per transport


def test_a_consumer_resumed_before_its_transport_connects_asks_for_a_key_frame_on_connect(room: Room) -> None:
    # mediasoup-client resumes a consumer while its receive transport is still connecting: the key frame asked
    # for then cannot be sent, so connecting asks again, even within the producer's 500 ms rate limit.
    a, peer_a = room.connect(ADDR_A)
    producer = a.produce("video", CHROME_VP8, {"source": "camera"})
    b = room.transport()
    consumer = room.router.consume(b, producer.id, room.router.rtp_capabilities)
    consumer.resume()
    room.send(ADDR_A, [])
    assert plis(peer_a) == [VP8_SSRC]
    room.rtp(ADDR_A, [media(1)])  # the key frame: dropped, b is not connected
    room.clock.now += 0.1
    _, peer_b = room.connect(ADDR_B, b)
    assert plis(peer_a) == [VP8_SSRC, VP8_SSRC] and producer.stats["pli_out"] == 2
    room.rtp(ADDR_A, [media(2)])
    assert [p.ssrc for p in received(peer_b)] == [consumer.ssrc]


def test_a_paused_consumer_asks_nothing_when_its_transport_connects(room: Room) -> None:
    a, peer_a = room.connect(ADDR_A)
    producer = a.produce("video", CHROME_VP8, {"source": "camera"})
    b = room.transport()
    room.router.consume(b, producer.id, room.router.rtp_capabilities)
    room.connect(ADDR_B, b)
    assert plis(peer_a) == [] and producer.stats["pli_out"] == 0
