"""The FLV tag bodies that RTMP's video and audio messages carry (Adobe FLV specification 10.1, E.4.2-E.4.3).

Video: a first byte of frame type (1 key frame, 2 inter frame, 5 info/command) and codec id (7 = AVC), then
for AVC a packet type (0 sequence header: an ``AVCDecoderConfigurationRecord``, ISO/IEC 14496-15 §5.3.3;
1 NAL units, each after a length of ``lengthSizeMinusOne + 1`` bytes; 2 end of sequence) and a signed 24-bit
composition time (PTS - DTS, ms). Enhanced RTMP's extended header (its first bit set, a FourCC instead of
the codec id) is read too, so that H.264 sent that way works and other codecs are refused by name.

Audio: sound format (10 = AAC), rate, size and channels in the first byte, then for AAC a packet type
(0 sequence header: an ``AudioSpecificConfig``, ISO/IEC 14496-3 §1.6.2.1; 1 raw AAC frame).

Everything else is refused with :class:`UnsupportedMedia` naming the codec and what to send instead.
"""

from __future__ import annotations

from dataclasses import dataclass

from altegon_rt.rtmp.errors import RemoteProtocolError, UnsupportedMedia

VIDEO_CODECS = {1: "JPEG", 2: "Sorenson H.263", 3: "Screen video", 4: "On2 VP6", 5: "On2 VP6 with alpha",
                6: "Screen video v2", 7: "H.264"}  # fmt: skip
FOURCC_NAMES = {b"avc1": "H.264", b"hvc1": "HEVC (H.265)", b"av01": "AV1", b"vp09": "VP9", b"vp08": "VP8"}
AUDIO_CODECS = {0: "linear PCM", 1: "ADPCM", 2: "MP3", 3: "linear PCM (little-endian)", 4: "Nellymoser 16 kHz",
                5: "Nellymoser 8 kHz", 6: "Nellymoser", 7: "G.711 A-law", 8: "G.711 mu-law", 9: "an enhanced codec",
                10: "AAC", 11: "Speex", 14: "MP3 8 kHz", 15: "device-specific sound"}  # fmt: skip
AAC_RATES = (96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350)
SEND_VIDEO = "send H.264 video (x264, or your encoder's H.264)"
SEND_AUDIO = "send AAC audio"


@dataclass(frozen=True, slots=True)
class AvcConfig:
    """The ``AVCDecoderConfigurationRecord`` of an AVC sequence header."""

    record: bytes
    length_size: int  # bytes before each NAL unit in the frames
    sps: bytes  # the first SPS NAL unit


@dataclass(frozen=True, slots=True)
class VideoFrame:
    keyframe: bool
    composition_ms: int  # PTS - DTS
    data: bytes  # NAL units, each after a length of the configuration's ``length_size``


@dataclass(frozen=True, slots=True)
class AacConfig:
    """The ``AudioSpecificConfig`` of an AAC sequence header, and what it says."""

    asc: bytes
    object_type: int
    sample_rate: int
    channels: int


@dataclass(frozen=True, slots=True)
class AudioFrame:
    data: bytes  # one raw AAC frame


def _si24(data: bytes) -> int:
    value = int.from_bytes(data[:3], "big")
    return value - (1 << 24) if value & 0x800000 else value


def parse_avc_config(record: bytes) -> AvcConfig:
    """ISO/IEC 14496-15 §5.3.3.1: version 1, then profile, compatibility, level, the NAL length size, SPS list."""
    if len(record) < 8 or record[0] != 1:
        raise RemoteProtocolError("the AVC sequence header is not an AVCDecoderConfigurationRecord (version 1)")
    if record[5] & 0x1F == 0:
        raise RemoteProtocolError("the AVC sequence header has no SPS")
    sps_length = int.from_bytes(record[6:8], "big")
    sps = record[8 : 8 + sps_length]
    if len(sps) != sps_length or not sps or sps[0] & 0x1F != 7:
        raise RemoteProtocolError("the AVC sequence header's SPS is cut short or not an SPS")
    if record[4] & 3 == 2:  # lengthSizeMinusOne 2 is not allowed (1, 2 or 4 bytes)
        raise RemoteProtocolError("the AVC sequence header declares 3-byte NAL unit lengths")
    return AvcConfig(bytes(record), (record[4] & 3) + 1, bytes(sps))


def parse_video(payload: bytes) -> AvcConfig | VideoFrame | None:
    """A video message's body; ``None`` for what carries no picture (end of sequence, command frames)."""
    if not payload:
        return None
    first = payload[0]
    frame_type = (first >> 4) & 0x07
    if first & 0x80:  # enhanced RTMP: packet type in the low bits, then a FourCC
        fourcc = payload[1:5]
        if fourcc != b"avc1":
            name = FOURCC_NAMES.get(fourcc, repr(fourcc.decode("latin-1")))
            raise UnsupportedMedia(f"video codec {name} is not supported: {SEND_VIDEO}")
        packet_type, body = first & 0x0F, payload[5:]
        if packet_type in (1, 3):  # coded frames (1: with a composition time, 3: without)
            cts = _si24(body) if packet_type == 1 else 0
            return _frame(frame_type, cts, body[3:] if packet_type == 1 else body)
        return parse_avc_config(body) if packet_type == 0 else None
    codec = first & 0x0F
    if codec != 7:
        raise UnsupportedMedia(f"video codec {VIDEO_CODECS.get(codec, f'id {codec}')} is not supported: {SEND_VIDEO}")
    if frame_type == 5 or len(payload) < 5:
        return None
    if payload[1] == 0:
        return parse_avc_config(payload[5:])
    if payload[1] == 1:
        return _frame(frame_type, _si24(payload[2:5]), payload[5:])
    return None


def _frame(frame_type: int, cts: int, data: bytes) -> VideoFrame | None:
    if frame_type == 5 or not data:
        return None
    return VideoFrame(frame_type == 1, cts, bytes(data))


def parse_asc(asc: bytes) -> AacConfig:
    """ISO/IEC 14496-3 §1.6.2.1: audio object type, sampling frequency (index or explicit), channels."""
    bits = int.from_bytes(asc[:8].ljust(8, b"\x00"), "big")
    pos = 64

    def take(n: int) -> int:
        nonlocal pos
        pos -= n
        if pos < 64 - 8 * len(asc[:8]):
            raise RemoteProtocolError("the AAC sequence header's AudioSpecificConfig is cut short")
        return (bits >> pos) & ((1 << n) - 1)

    object_type = take(5)
    if object_type == 31:
        object_type = 32 + take(6)
    index = take(4)
    rate = take(24) if index == 15 else (AAC_RATES[index] if index < len(AAC_RATES) else 0)
    channels = take(4)
    if not rate:
        raise RemoteProtocolError(f"the AAC sequence header has a reserved sampling frequency index {index}")
    return AacConfig(bytes(asc), object_type, rate, channels)


def parse_audio(payload: bytes) -> AacConfig | AudioFrame | None:
    """An audio message's body; ``None`` when it carries nothing."""
    if not payload:
        return None
    sound_format = payload[0] >> 4
    if sound_format != 10:
        name = AUDIO_CODECS.get(sound_format, f"id {sound_format}")
        raise UnsupportedMedia(f"audio codec {name} is not supported: {SEND_AUDIO}")
    if len(payload) < 3:
        return None
    if payload[1] == 0:
        return parse_asc(payload[2:])
    return AudioFrame(bytes(payload[2:])) if payload[1] == 1 else None
