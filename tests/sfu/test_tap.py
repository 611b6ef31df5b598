"""Taps on a real Router: a DTLS-SRTP peer produces VP8 that PyAV encoded, the tap hands whole frames to a
WebM muxer, and PyAV decodes them; the real consumer's stream is unchanged; PLI at start and on loss."""

from __future__ import annotations

import io

import av

from altegon_rt.media.frame_mux import FrameMuxer
from altegon_rt.rtc.depacketize import Codec, Frame
from altegon_rt.rtc.rtp import RtpPacket
from altegon_rt.sfu.tap import Tap
from tests.media.coded import encode_video, payloads, rtp_packets
from tests.sfu.test_router import ADDR_A, ADDR_B, CHROME_VP8, VP8_SSRC, Room, plis, received


def vp8_packets(count: int, seq: int = 100) -> list[bytes]:
    return rtp_packets(payloads("vp8", encode_video("vp8", count)), pt=96, ssrc=VP8_SSRC, seq=seq)


def test_a_tap_turns_a_producer_into_decodable_webm_without_touching_consumers() -> None:
    room = Room()
    a, peer_a = room.connect(ADDR_A)
    b, peer_b = room.connect(ADDR_B)
    producer = a.produce("video", CHROME_VP8, {"source": "camera"})
    consumer = room.router.consume(b, producer.id, room.router.rtp_capabilities)
    consumer.resume()
    frames: list[tuple[Frame, str, float]] = []
    closed: list[Tap] = []
    tap = Tap.attach(producer, lambda f, k, t: frames.append((f, k, t)), closed.append)
    assert tap.codec is Codec.VP8 and producer.taps == [tap]
    packets = vp8_packets(30)
    room.rtp(ADDR_A, packets)
    assert plis(peer_a) == [VP8_SSRC]  # the tap asked for a key frame to start from (once: rate-limited)
    assert [f.timestamp for f, _, _ in frames] == [i * 3000 for i in range(30)]
    assert {k for _, k, _ in frames} == {"video"}
    got = received(peer_b)  # the real consumer got every packet, payloads untouched
    assert [p.payload for p in got] == [RtpPacket.parse(p).payload for p in packets]

    muxer = FrameMuxer(video=Codec.VP8, audio=False)
    data = b"".join(muxer.add("video", f.timestamp // 90, f) for f, _, _ in frames) + muxer.finish()
    with av.open(io.BytesIO(data)) as container:
        decoded = [f for f in container.decode(video=0)]
    assert len(decoded) == 30 and (decoded[0].width, decoded[0].height) == (160, 120)

    producer.close()
    assert closed == [tap] and tap.closed and producer.taps == []


def test_loss_asks_for_a_key_frame_and_close_detaches() -> None:
    room = Room()
    a, peer_a = room.connect(ADDR_A)
    producer = a.produce("video", CHROME_VP8)
    frames: list[Frame] = []
    tap = Tap.attach(producer, lambda f, k, t: frames.append(f))
    packets = vp8_packets(130)  # more packets after the gap than the video reorder window holds
    room.rtp(ADDR_A, packets[:3])
    room.clock.now += 1.0  # past the producer's PLI rate limit
    room.rtp(ADDR_A, packets[4:])  # packet 3 lost: the reorder window gives up on it, a PLI goes out
    assert plis(peer_a) == [VP8_SSRC, VP8_SSRC] and tap.stats["losses"] == 1
    tap.close()
    tap.close()
    assert producer.taps == [] and tap.closed
    before = len(frames)
    room.rtp(ADDR_A, vp8_packets(2, seq=1000))
    assert len(frames) == before
