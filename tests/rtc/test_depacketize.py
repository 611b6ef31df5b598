"""The RTP depacketizer: real encoder output (PyAV) packetized by aiortc (VP8, H.264) or by the VP9 draft's
rules, back to the exact frames; reordering, duplicates, loss and key-frame waits; garbage never crashes it."""

from __future__ import annotations

import contextlib
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from altegon_rt.rtc.depacketize import (
    ANNEX_B_START,
    Codec,
    DepacketizeError,
    Depacketizer,
    Frame,
    H264Assembler,
    Loss,
    rtp_payload,
    split_annex_b,
    vp8_chunk,
    vp9_chunk,
)
from altegon_rt.rtc.rtp import RtpPacket
from tests.media.coded import encode_opus, encode_video, payloads, rtp_packets


def run(codec: Codec, packets: list[bytes], window: int = 64) -> tuple[list[Frame], list[Loss], Depacketizer]:
    depacketizer = Depacketizer(codec, reorder_window=window)
    events = [e for p in packets for e in depacketizer.receive_packet(p)] + depacketizer.flush()
    return [e for e in events if isinstance(e, Frame)], [e for e in events if isinstance(e, Loss)], depacketizer


@pytest.fixture(scope="module", params=["vp8", "vp9", "h264"])
def video(request: pytest.FixtureRequest) -> tuple[str, list, list[bytes]]:
    coded = encode_video(request.param, 30)
    return request.param, coded, rtp_packets(payloads(request.param, coded))


def nal_units(data: bytes) -> list[bytes]:
    return split_annex_b(data)


def test_video_frames_come_back_exactly(video: tuple[str, list, list[bytes]]) -> None:
    codec, coded, packets = video
    frames, losses, depacketizer = run(Codec(codec), packets)
    assert losses == [] and len(frames) == len(coded)
    assert [f.keyframe for f in frames] == [c.keyframe for c in coded]
    assert [f.timestamp for f in frames] == [c.pts for c in coded]
    if codec == "h264":
        assert [nal_units(f.data) for f in frames] == [nal_units(c.data) for c in coded]
    else:
        assert [f.data for f in frames] == [c.data for c in coded]
        assert (frames[0].width, frames[0].height) == (160, 120)
    assert depacketizer.stats["frames"] == len(coded)


def test_reordered_and_duplicated_packets_change_nothing(video: tuple[str, list, list[bytes]]) -> None:
    codec, coded, packets = video
    shuffled = list(packets)
    rng = random.Random(7)
    for i in range(8, len(shuffled) - 8, 8):  # after the first (which fixes the start), blocks of 8 shuffled
        block = shuffled[i : i + 8]
        rng.shuffle(block)
        shuffled[i : i + 8] = block
    shuffled.insert(20, shuffled[10])  # a late duplicate
    frames, losses, depacketizer = run(Codec(codec), shuffled)
    assert losses == [] and len(frames) == len(coded)
    assert depacketizer.stats["late"] + depacketizer.stats["duplicate"] == 1


def test_a_lost_packet_drops_its_frame_and_waits_for_the_next_key_frame() -> None:
    coded = encode_video("vp8", 30, width=320, height=240)
    framed = payloads("vp8", coded)
    packets = rtp_packets(framed)
    first_of = [sum(len(p) for _, p in framed[:i]) for i in range(len(framed))]
    victim = first_of[3]  # frame 3's first packet: frames 3..9 are lost until the key frame at 10
    frames, losses, depacketizer = run(Codec.VP8, packets[:victim] + packets[victim + 1 :], window=4)
    assert [loss.count for loss in losses] == [1]
    assert [f.timestamp for f in frames] == [c.pts for i, c in enumerate(coded) if i < 3 or i >= 10]
    assert frames[3].keyframe and depacketizer.stats["frames_before_key"] == 6


def test_the_stream_starts_at_a_key_frame_and_opus_needs_none() -> None:
    coded = encode_video("vp8", 15)
    frames, _, _depacketizer = run(Codec.VP8, rtp_packets(payloads("vp8", coded[1:])))
    assert frames[0].keyframe and frames[0].timestamp == coded[10].pts
    opus = encode_opus(20)
    audio, losses, _ = run(Codec.OPUS, rtp_packets(payloads("opus", opus[1:]), pt=111))
    assert [f.data for f in audio] == [c.data for c in opus[1:]] and losses == []


def test_h264_idr_gets_the_remembered_sps_and_pps() -> None:
    assembler = H264Assembler()
    sps, pps, idr = b"\x67\x42\xc0\x1f\xaa", b"\x68\xce\x3c\x80", b"\x65\x88\x84"
    stap = b"\x18" + len(sps).to_bytes(2, "big") + sps + len(pps).to_bytes(2, "big") + pps
    assert assembler.nal_units(stap) == [sps, pps]
    assembler.chunk(stap)
    fu = [b"\x7c\x85" + idr[1:2], b"\x7c\x45" + idr[2:]]  # FU-A start and end of an IDR slice
    assert assembler.nal_units(fu[0]) == [] and assembler.nal_units(fu[1]) == [idr]
    assert assembler.access_unit(ANNEX_B_START + idr, True) == ANNEX_B_START.join([b"", sps, pps, idr])


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"", "VP8: payload too short (0 bytes)"),
        (b"\x90\x80", "VP8 PictureID: payload too short (2 bytes)"),
    ],
)
def test_vp8_errors_say_what_is_wrong(payload: bytes, message: str) -> None:
    with pytest.raises(DepacketizeError, match=message.replace("(", r"\(").replace(")", r"\)")):
        vp8_chunk(payload)


def test_h264_errors() -> None:
    with pytest.raises(DepacketizeError, match=r"H\.264 packet type 29 is not supported"):
        H264Assembler().nal_units(b"\x1d\x00")
    with pytest.raises(DepacketizeError, match="continuation without its start"):
        H264Assembler().nal_units(b"\x7c\x05\x00")
    with pytest.raises(DepacketizeError, match="overruns the packet"):
        H264Assembler().nal_units(b"\x18\x00\x09\x67")


def test_rtp_payload_skips_csrcs_extension_and_padding() -> None:
    packet = RtpPacket(96, 7, 1234, 5, payload=b"abc", marker=True, csrcs=(9,), extension_profile=0xBEDE,
                       extension_data=b"\x10\xff\x00\x00", padding_size=4)  # fmt: skip
    assert rtp_payload(bytes(packet)) == (7, 1234, True, b"abc")
    with pytest.raises(DepacketizeError, match="not an RTP packet"):
        rtp_payload(b"\x00" * 12)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=64))
def test_garbage_payloads_raise_only_our_error(payload: bytes) -> None:
    for parse in (vp8_chunk, vp9_chunk, H264Assembler().nal_units):
        with contextlib.suppress(DepacketizeError):
            parse(payload)


@settings(max_examples=100, deadline=None)
@given(
    st.sampled_from(list(Codec)),
    st.lists(st.tuples(st.integers(0, 40), st.integers(0, 3), st.booleans(), st.binary(max_size=40)), max_size=60),
)
def test_garbage_streams_never_crash(codec: Codec, packets: list[tuple[int, int, bool, bytes]]) -> None:
    depacketizer = Depacketizer(codec, reorder_window=8)
    for seq, ts, marker, payload in packets:
        for event in depacketizer.receive(seq, ts, marker, payload):
            assert isinstance(event, Frame | Loss)
    depacketizer.flush()
