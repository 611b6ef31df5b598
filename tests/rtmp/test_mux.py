"""FLV tags → Matroska: FFmpeg's own FLV (libx264 with B-frames, AAC) through our muxer decodes whole; codec
refusals name the codec."""

from __future__ import annotations

import io
from fractions import Fraction

import av
import numpy as np
import pytest

from altegon_rt.rtmp.errors import RemoteProtocolError, UnsupportedMedia
from altegon_rt.rtmp.flv import parse_asc, parse_audio, parse_video
from altegon_rt.rtmp.mux import FlvMuxer, four_byte_lengths

FRAMES = 45


def flv_file(frames: int = FRAMES) -> bytes:
    """An FLV file as FFmpeg writes it (its RTMP client sends the same tags)."""
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="flv") as out:
        video = out.add_stream("libx264", rate=30)
        video.width, video.height, video.pix_fmt = 160, 120, "yuv420p"
        video.codec_context.options = {"preset": "veryfast", "g": "15", "bf": "2"}
        audio = out.add_stream("aac", rate=44100)
        audio.layout = "stereo"
        for i in range(frames):
            frame = av.VideoFrame.from_ndarray(np.full((120, 160, 3), i * 5 % 256, np.uint8), format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, 30)
            out.mux(video.encode(frame))
        for j in range(frames * 44100 // 30 // 1024):
            samples = np.zeros((2, 1024), np.float32)
            sound = av.AudioFrame.from_ndarray(samples, format="fltp", layout="stereo")
            sound.sample_rate, sound.pts = 44100, j * 1024
            out.mux(audio.encode(sound))
        out.mux(video.encode(None))
        out.mux(audio.encode(None))
    return buffer.getvalue()


def flv_tags(data: bytes) -> list[tuple[int, int, bytes]]:
    """(type, timestamp, body) of each tag (FLV specification E.2-E.3)."""
    pos, tags = int.from_bytes(data[5:9], "big") + 4, []
    while pos + 11 <= len(data):
        size = int.from_bytes(data[pos + 1 : pos + 4], "big")
        stamp = int.from_bytes(data[pos + 4 : pos + 7], "big") | data[pos + 7] << 24
        tags.append((data[pos], stamp, data[pos + 11 : pos + 11 + size]))
        pos += 11 + size + 4
    return tags


def decoded(mkv: bytes) -> dict[str, int]:
    counts = {"video": 0, "audio": 0}
    with av.open(io.BytesIO(mkv)) as container:
        assert [s.codec_context.name for s in container.streams] == ["h264", "aac"]
        for packet in container.demux():
            for _ in packet.decode():
                counts[packet.stream.type] += 1
    return counts


def test_ffmpeg_flv_with_b_frames_muxes_to_matroska_that_decodes() -> None:
    muxer = FlvMuxer()
    out = b""
    for kind, stamp, body in flv_tags(flv_file()):
        if kind == 9:
            out += muxer.video(stamp, body)
        elif kind == 8:
            out += muxer.audio(stamp, body)
        elif kind == 18:
            muxer.metadata({"videocodecid": 7.0, "audiocodecid": 10.0})
    out += muxer.finish()
    assert muxer.avc is not None and muxer.avc.length_size == 4
    assert muxer.aac is not None and (muxer.aac.sample_rate, muxer.aac.channels) == (44100, 2)
    counts = decoded(out)
    assert counts["video"] >= FRAMES - 3 and counts["audio"] >= 40, counts


def test_short_nal_lengths_become_four_bytes() -> None:
    assert four_byte_lengths(b"\x00\x02ab\x00\x01c", 2) == b"\x00\x00\x00\x02ab\x00\x00\x00\x01c"
    data = b"\x00\x00\x00\x02ab"
    assert four_byte_lengths(data, 4) is data
    with pytest.raises(RemoteProtocolError, match="NAL unit lengths do not add up"):
        four_byte_lengths(b"\x00\x00\x00\x09ab", 4)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"\x24\x00", "video codec On2 VP6 is not supported: send H.264 video (x264, or your encoder's H.264)"),
        (
            b"\x90hvc1\x00",
            "video codec HEVC (H.265) is not supported: send H.264 video (x264, or your encoder's H.264)",
        ),
        (b"\x90av01", "video codec AV1 is not supported: send H.264 video (x264, or your encoder's H.264)"),
    ],
)
def test_other_video_codecs_are_refused_by_name(body: bytes, message: str) -> None:
    with pytest.raises(UnsupportedMedia) as caught:
        parse_video(body)
    assert str(caught.value) == message


def test_other_audio_codecs_are_refused_by_name() -> None:
    with pytest.raises(UnsupportedMedia, match=r"^audio codec MP3 is not supported: send AAC audio$"):
        parse_audio(b"\x2f\xff\xfb")
    with pytest.raises(UnsupportedMedia, match=r"^audio codec Speex is not supported"):
        parse_audio(b"\xb2\x00")


def test_audio_specific_config() -> None:
    config = parse_asc(bytes([0x12, 0x10]))  # AAC-LC, 44.1 kHz, stereo
    assert (config.object_type, config.sample_rate, config.channels) == (2, 44100, 2)
    with pytest.raises(RemoteProtocolError, match="cut short"):
        parse_asc(b"\x12")


def test_a_configuration_change_mid_stream_is_refused() -> None:
    muxer = FlvMuxer()
    muxer.audio(0, b"\xaf\x00\x12\x10")
    assert muxer.audio(0, b"\xaf\x01" + bytes(20)).startswith(b"\x1a\x45\xdf\xa3")
    muxer.audio(23, b"\xaf\x00\x12\x10")  # the same again: fine
    with pytest.raises(UnsupportedMedia, match="the audio configuration changed mid-stream"):
        muxer.audio(46, b"\xaf\x00\x11\x90")
