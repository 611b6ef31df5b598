"""A live Matroska/WebM writer for coded frames (no decoding, no PyAV): bytes out as frames come in (sans-IO).

It writes what MediaRecorder writes, so every reader of MediaRecorder's files reads ours (the HLS worker, the
recording composer): an EBML header, a Segment and Clusters of unknown size (RFC 9559 §6.2: a live stream
cannot know them), ``Info`` with a 1 ms ``TimestampScale``, ``Tracks``, then SimpleBlocks. Video tracks are
``V_VP8``, ``V_VP9`` or ``V_MPEG4/ISO/AVC`` (the frames' Annex B turned into 4-byte lengths, ``avcC`` as its
CodecPrivate, ISO 14496-15 §5.3.3; frames from RTMP come length-prefixed already, ``length_prefixed``);
audio is ``A_OPUS`` with an ``OpusHead`` (RFC 7845 §5.1) CodecPrivate, or ``A_AAC`` with the
``AudioSpecificConfig`` (ISO 14496-3 §1.6.2.1) as CodecPrivate and raw AAC frames (what RTMP encoders send).
The DocType is ``webm`` unless H.264 makes it ``matroska``. A cluster starts at each video key frame (at most
every :data:`MIN_CLUSTER_MS`) and whenever a block's time would not fit the 16-bit relative timestamp.
"""

from __future__ import annotations

import enum
import struct
from dataclasses import dataclass

from altegon_rt.rtc.depacketize import Codec, length_prefixed

MIN_CLUSTER_MS = 1000
MAX_CLUSTER_MS = 30_000  # SimpleBlock timestamps are int16 relative to the cluster's
AUDIO_CLUSTER_MS = 5000  # audio-only streams
UNKNOWN_SIZE = b"\x01\xff\xff\xff\xff\xff\xff\xff"


class TrackCodec(enum.StrEnum):
    """What a track holds: the RTP codecs (:class:`~altegon_rt.rtc.depacketize.Codec`, same values) and AAC."""

    VP8 = "vp8"
    VP9 = "vp9"
    H264 = "h264"
    OPUS = "opus"
    AAC = "aac"

    @property
    def is_video(self) -> bool:
        return self in (TrackCodec.VP8, TrackCodec.VP9, TrackCodec.H264)


CODEC_IDS = {TrackCodec.VP8: "V_VP8", TrackCodec.VP9: "V_VP9", TrackCodec.H264: "V_MPEG4/ISO/AVC",
             TrackCodec.OPUS: "A_OPUS", TrackCodec.AAC: "A_AAC"}  # fmt: skip
OPUS_PRE_SKIP = 312

_EBML, _SEGMENT, _INFO, _TRACKS, _CLUSTER = 0x1A45DFA3, 0x18538067, 0x1549A966, 0x1654AE6B, 0x1F43B675
_TRACK_ENTRY, _VIDEO, _AUDIO, _SIMPLE_BLOCK, _TIMECODE = 0xAE, 0xE0, 0xE1, 0xA3, 0xE7


def _id(element_id: int) -> bytes:
    return element_id.to_bytes((element_id.bit_length() + 7) // 8, "big")


def vint(size: int) -> bytes:
    """An EBML variable-length size (RFC 8794 §4), in the fewest bytes."""
    for length in range(1, 9):
        if size < (1 << (7 * length)) - 1:
            return (size | (1 << (7 * length))).to_bytes(length, "big")
    raise ValueError("EBML size too large")


def element(element_id: int, payload: bytes) -> bytes:
    return _id(element_id) + vint(len(payload)) + payload


def uint(element_id: int, value: int) -> bytes:
    return element(element_id, value.to_bytes(max(1, (value.bit_length() + 7) // 8), "big"))


def text(element_id: int, value: str) -> bytes:
    return element(element_id, value.encode())


def float64(element_id: int, value: float) -> bytes:
    return element(element_id, struct.pack("!d", value))


def opus_head(channels: int = 2, rate: int = 48_000) -> bytes:
    """RFC 7845 §5.1, mapping family 0."""
    return b"OpusHead" + struct.pack("<BBHIhB", 1, channels, OPUS_PRE_SKIP, rate, 0, 0)


def avcc(sps: bytes, pps: bytes) -> bytes:
    """The AVCDecoderConfigurationRecord of one SPS and one PPS, 4-byte NAL lengths."""
    if len(sps) < 4:
        raise ValueError("SPS too short")
    return (bytes([1, sps[1], sps[2], sps[3], 0xFF, 0xE1]) + struct.pack("!H", len(sps)) + sps
            + b"\x01" + struct.pack("!H", len(pps)) + pps)  # fmt: skip


@dataclass(frozen=True, slots=True)
class TrackSpec:
    """One track. ``sample_rate`` and ``channels`` are AAC's (Opus is always 48 kHz stereo here);
    ``length_prefixed``: H.264 frames come with 4-byte NAL unit lengths already, not in Annex B."""

    number: int  # 1..126 (one byte in a SimpleBlock)
    codec: Codec | TrackCodec
    width: int = 0
    height: int = 0
    codec_private: bytes = b""
    sample_rate: int = 48_000
    channels: int = 2
    length_prefixed: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "codec", TrackCodec(self.codec))

    def entry(self) -> bytes:
        body = uint(0xD7, self.number) + uint(0x73C5, self.number) + uint(0x9C, 0)
        body += uint(0x83, 1 if self.codec.is_video else 2) + text(0x86, CODEC_IDS[TrackCodec(self.codec)])
        if self.codec is TrackCodec.OPUS:
            body += element(0x63A2, self.codec_private or opus_head())
            body += uint(0x56AA, OPUS_PRE_SKIP * 1_000_000_000 // 48_000) + uint(0x56BB, 80_000_000)
            body += element(_AUDIO, float64(0xB5, 48_000.0) + uint(0x9F, 2))
        elif self.codec is TrackCodec.AAC:
            if not self.codec_private:
                raise ValueError("an AAC track needs its AudioSpecificConfig")
            body += element(0x63A2, self.codec_private)
            body += element(_AUDIO, float64(0xB5, float(self.sample_rate)) + uint(0x9F, max(1, self.channels)))
        else:
            if self.codec_private:
                body += element(0x63A2, self.codec_private)
            body += element(_VIDEO, uint(0xB0, max(1, self.width)) + uint(0xBA, max(1, self.height)))
        return element(_TRACK_ENTRY, body)


class MatroskaWriter:
    """Header once, then blocks in time order (the caller interleaves); each call answers the bytes to append."""

    def __init__(self, tracks: list[TrackSpec], *, app: str = "altegon-rt") -> None:
        if not tracks or any(not 1 <= t.number <= 126 for t in tracks):
            raise ValueError("one to 126 tracks, numbered 1-126")
        self.tracks = {t.number: t for t in tracks}
        self.app = app
        self._cluster_ms: int | None = None
        self._has_video = any(t.codec.is_video for t in tracks)
        self.last_ms = 0

    def header(self) -> bytes:
        plain_webm = all(t.codec in (TrackCodec.VP8, TrackCodec.VP9, TrackCodec.OPUS) for t in self.tracks.values())
        doc_type = "webm" if plain_webm else "matroska"
        ebml = (uint(0x4286, 1) + uint(0x42F7, 1) + uint(0x42F2, 4) + uint(0x42F3, 8) + text(0x4282, doc_type)
                + uint(0x4287, 4) + uint(0x4285, 2))  # fmt: skip
        info = element(_INFO, uint(0x2AD7B1, 1_000_000) + text(0x4D80, self.app) + text(0x5741, self.app))
        tracks = element(_TRACKS, b"".join(t.entry() for t in self.tracks.values()))
        return element(_EBML, ebml) + _id(_SEGMENT) + UNKNOWN_SIZE + info + tracks

    def block(self, track: int, time_ms: int, data: bytes, keyframe: bool) -> bytes:
        """A SimpleBlock (and a new Cluster before it when one is due)."""
        spec = self.tracks[track]
        time_ms = max(time_ms, 0)
        out = b""
        if self._new_cluster(spec, time_ms, keyframe):
            self._cluster_ms = time_ms
            out += _id(_CLUSTER) + UNKNOWN_SIZE + uint(_TIMECODE, time_ms)
        assert self._cluster_ms is not None
        if spec.codec is TrackCodec.H264 and not spec.length_prefixed:
            data = length_prefixed(data)
        relative = time_ms - self._cluster_ms
        header = vint(track) + struct.pack("!hB", relative, 0x80 if keyframe else 0)
        self.last_ms = max(self.last_ms, time_ms)
        return out + element(_SIMPLE_BLOCK, header + data)

    def _new_cluster(self, spec: TrackSpec, time_ms: int, keyframe: bool) -> bool:
        if self._cluster_ms is None:
            return True
        age = time_ms - self._cluster_ms
        if not -0x8000 <= age < MAX_CLUSTER_MS:
            return True
        if spec.codec.is_video and keyframe:
            return age >= MIN_CLUSTER_MS
        return not self._has_video and age >= AUDIO_CLUSTER_MS


class _Bits:
    """An RBSP bit reader (emulation prevention bytes removed) for the few SPS fields we need."""

    def __init__(self, data: bytes) -> None:
        self.data = data.replace(b"\x00\x00\x03", b"\x00\x00")
        self.pos = 0

    def bit(self) -> int:
        byte = self.pos >> 3
        if byte >= len(self.data):
            raise ValueError("SPS ends early")
        self.pos += 1
        return (self.data[byte] >> (7 - ((self.pos - 1) & 7))) & 1

    def bits(self, n: int) -> int:
        value = 0
        for _ in range(n):
            value = (value << 1) | self.bit()
        return value

    def ue(self) -> int:
        zeros = 0
        while self.bit() == 0:
            zeros += 1
            if zeros > 31:
                raise ValueError("bad Exp-Golomb code")
        return (1 << zeros) - 1 + self.bits(zeros)

    def se(self) -> int:
        value = self.ue()
        return (value + 1) // 2 if value & 1 else -(value // 2)


def h264_size(sps: bytes) -> tuple[int, int]:
    """Picture width and height from an SPS NAL unit (ITU-T H.264 §7.3.2.1.1); ``(0, 0)`` if unreadable."""
    try:
        r = _Bits(sps[1:])
        profile = r.bits(8)
        r.bits(16)
        r.ue()
        chroma = 1
        if profile in (100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135):
            chroma = r.ue()
            if chroma == 3:
                r.bit()
            r.ue(), r.ue(), r.bit()
            if r.bit():
                return (0, 0)  # scaling matrices: not worth parsing for a size hint
        r.ue()
        poc_type = r.ue()
        if poc_type == 0:
            r.ue()
        elif poc_type == 1:
            r.bit(), r.se(), r.se()
            for _ in range(min(r.ue(), 255)):
                r.se()
        r.ue(), r.bit()
        width_mbs, height_units = r.ue() + 1, r.ue() + 1
        frame_mbs_only = r.bit()
        if not frame_mbs_only:
            r.bit()
        r.bit()
        width, height = width_mbs * 16, height_units * 16 * (2 - frame_mbs_only)
        if r.bit():  # frame cropping
            left, right, top, bottom = r.ue(), r.ue(), r.ue(), r.ue()
            crop_x = 2 if chroma in (1, 2) else 1
            crop_y = (2 if chroma == 1 else 1) * (2 - frame_mbs_only)
            width -= crop_x * (left + right)
            height -= crop_y * (top + bottom)
        return (width, height) if width > 0 and height > 0 else (0, 0)
    except ValueError:
        return (0, 0)
