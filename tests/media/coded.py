"""Real coded media for the depacketizer, muxer and tap tests: PyAV encodes, aiortc packetizes (VP8, H.264).

VP9 has no packetizer in aiortc: :func:`vp9_payloads` follows draft-ietf-payload-vp9 §4.2 in non-flexible
mode with a PictureID and the scalability structure on key frames, which is what Chrome sends.
"""

from __future__ import annotations

import fractions
import struct
from dataclasses import dataclass

import av
import numpy as np
from aiortc.codecs.h264 import H264Encoder
from aiortc.codecs.vpx import Vp8Encoder

from altegon_rt.rtc.rtp import RtpPacket

ENCODERS = {"vp8": "libvpx", "vp9": "libvpx-vp9", "h264": "libx264"}
PACKET_MAX = 1200


@dataclass(frozen=True, slots=True)
class Coded:
    data: bytes
    keyframe: bool
    pts: int  # in 1/90000 (video) or 1/48000 (audio)


def pattern(index: int, width: int, height: int) -> av.VideoFrame:
    y = np.indices((height, width)).sum(axis=0)
    image = np.stack([(y + index * 8) % 256, (y * 2) % 256, (np.full_like(y, index * 16)) % 256], axis=-1)
    return av.VideoFrame.from_ndarray(image.astype(np.uint8), format="rgb24")


def encode_video(codec: str, count: int, *, width: int = 160, height: int = 120, gop: int = 10) -> list[Coded]:
    ctx = av.CodecContext.create(ENCODERS[codec], "w")
    ctx.width, ctx.height, ctx.pix_fmt = width, height, "yuv420p"
    ctx.time_base = fractions.Fraction(1, 90000)
    ctx.framerate = fractions.Fraction(30, 1)
    ctx.gop_size = gop
    ctx.options = {"profile": "baseline", "tune": "zerolatency"} if codec == "h264" else {"deadline": "realtime"}
    ctx.max_b_frames = 0
    ctx.bit_rate = 300_000
    out = []
    for index in range(count + 8):
        frame = pattern(index, width, height).reformat(format="yuv420p") if index < count else None
        if frame is not None:
            frame.pts, frame.time_base = index * 3000, fractions.Fraction(1, 90000)
        for packet in ctx.encode(frame):
            out.append(Coded(bytes(packet), bool(packet.is_keyframe), int(packet.pts)))
        if frame is None:
            break
    return out


def encode_opus(count: int) -> list[Coded]:
    ctx = av.CodecContext.create("libopus", "w")
    ctx.sample_rate, ctx.layout, ctx.format = 48000, "stereo", "s16"
    ctx.bit_rate = 64000
    out, t = [], 0
    for index in range(count + 4):
        frame = None
        if index < count:
            samples = (np.sin(np.arange(960) * 2 * np.pi * 440 / 48000 + index) * 8000).astype(np.int16)
            frame = av.AudioFrame.from_ndarray(np.repeat(samples, 2).reshape(1, -1), format="s16", layout="stereo")
            frame.sample_rate, frame.pts, frame.time_base = 48000, t, fractions.Fraction(1, 48000)
            t += 960
        for packet in ctx.encode(frame):
            out.append(Coded(bytes(packet), True, int(packet.pts)))
        if frame is None:
            break
    return out[:count]


def vp9_payloads(data: bytes, keyframe: bool, picture_id: int, width: int, height: int) -> list[bytes]:
    payloads, pos = [], 0
    while pos < len(data) or not payloads:
        first = 0x80 | (0 if keyframe else 0x40)  # I, P
        descriptor = bytearray([0, 0x80 | (picture_id >> 8) & 0x7F, picture_id & 0xFF])
        if pos == 0:
            first |= 0x08  # B
            if keyframe:
                first |= 0x02  # V: SS with one spatial layer's resolution, no picture groups
                descriptor += bytes([0x10]) + struct.pack("!HH", width, height)
        size = min(len(data) - pos, PACKET_MAX - len(descriptor))
        if pos + size >= len(data):
            first |= 0x04  # E
        descriptor[0] = first
        payloads.append(bytes(descriptor) + data[pos : pos + size])
        pos += size
    return payloads


def payloads(codec: str, coded: list[Coded], *, width: int = 160, height: int = 120) -> list[tuple[int, list[bytes]]]:
    """(RTP timestamp, payloads) per frame."""
    out = []
    vp8, h264 = Vp8Encoder(), H264Encoder()
    for index, item in enumerate(coded):
        if codec == "vp8":
            parts = vp8._packetize(item.data, index)
        elif codec == "h264":
            parts = h264._packetize(h264._split_bitstream(item.data))
        elif codec == "vp9":
            parts = vp9_payloads(item.data, item.keyframe, index, width, height)
        else:
            parts = [item.data]
        out.append((item.pts & 0xFFFFFFFF, parts))
    return out


def rtp_packets(
    framed: list[tuple[int, list[bytes]]], *, pt: int = 96, ssrc: int = 1234, seq: int = 65000
) -> list[bytes]:
    """Whole RTP packets, the marker on each frame's last one; sequence numbers wrap past 65535."""
    out = []
    for timestamp, parts in framed:
        for i, part in enumerate(parts):
            out.append(bytes(RtpPacket(pt, seq & 0xFFFF, timestamp, ssrc, marker=i == len(parts) - 1, payload=part)))
            seq += 1
    return out
