"""Coded frames → our own live WebM/Matroska → PyAV (FFmpeg's demuxer and decoders) reads every frame back."""

from __future__ import annotations

import io

import av
import pytest

from altegon_rt.media.frame_mux import FrameMuxer, mux_all
from altegon_rt.media.matroska import MatroskaWriter, TrackSpec, element, h264_size, vint
from altegon_rt.rtc.depacketize import Codec, Frame, split_annex_b
from tests.media.coded import encode_opus, encode_video


def frames_of(codec: str, count: int, **size: int) -> list[Frame]:
    out = []
    for item in encode_video(codec, count, **size):
        data = item.data
        out.append(Frame(item.pts, data, item.keyframe, *(size.get("width", 160), size.get("height", 120))))
    return out


def decode(data: bytes) -> tuple[str, dict[str, int], tuple[int, int]]:
    counts = {"video": 0, "audio": 0}
    with av.open(io.BytesIO(data)) as container:
        size = (0, 0)
        for frame in container.decode(*container.streams):
            kind = "video" if isinstance(frame, av.VideoFrame) else "audio"
            counts[kind] += 1
            if kind == "video":
                size = (frame.width, frame.height)
        return container.format.name, counts, size


@pytest.mark.parametrize("codec", ["vp8", "vp9", "h264"])
def test_video_and_opus_are_read_back_whole(codec: str) -> None:
    video = frames_of(codec, 45, width=176, height=144)
    audio = [Frame(c.pts, c.data, True) for c in encode_opus(75)]
    items = [("video", f.timestamp // 90, f) for f in video] + [("audio", f.timestamp // 48, f) for f in audio]
    data = mux_all(Codec(codec), True, sorted(items, key=lambda i: i[1]))
    assert data.startswith(b"\x1a\x45\xdf\xa3")
    fmt, counts, size = decode(data)
    assert "matroska" in fmt and counts == {"video": 45, "audio": 75} and size == (176, 144)


def test_the_header_waits_for_a_key_frame_and_audio_before_it_is_kept() -> None:
    video = frames_of("vp8", 25)  # key frames at 0, 10, 20
    audio = [Frame(c.pts, c.data, True) for c in encode_opus(50)]
    muxer = FrameMuxer(video=Codec.VP8, audio=True)
    out = b""
    for i, frame in enumerate(audio):
        out += muxer.add("audio", i * 20, frame)
        if i % 2 == 0 and i // 2 < len(video) and i // 2 >= 3:  # video joins at frame 3 (not a key frame)
            out += muxer.add("video", i * 20, video[i // 2])
            if i // 2 < 10:
                assert not muxer.started
    out += muxer.finish()
    _, counts, _ = decode(out)
    assert counts["video"] == 15  # frames 10..24
    assert 0 < counts["audio"] <= 50


def test_video_that_never_starts_leaves_an_audio_only_stream() -> None:
    audio = [Frame(c.pts, c.data, True) for c in encode_opus(300)]  # 6 s
    muxer = FrameMuxer(video=Codec.VP8, audio=True)
    out = b"".join(muxer.add("audio", i * 20, f) for i, f in enumerate(audio)) + muxer.finish()
    assert muxer.tracks == {"audio": 1}
    _, counts, _ = decode(out)
    assert counts == {"video": 0, "audio": 300}


def test_ebml_sizes_and_elements() -> None:
    assert vint(0) == b"\x80" and vint(126) == b"\xfe" and vint(127) == b"\x40\x7f" and vint(16382) == b"\x7f\xfe"
    assert element(0xE7, b"\x05") == b"\xe7\x81\x05"
    writer = MatroskaWriter([TrackSpec(1, Codec.OPUS)])
    block = writer.block(1, 40_000, b"x", True)
    assert block.startswith(b"\x1f\x43\xb6\x75")  # a first block opens a cluster
    assert writer.block(1, 40_020, b"y", True) == b"\xa3\x85\x81\x00\x14\x80y"
    with pytest.raises(ValueError, match="numbered 1-126"):
        MatroskaWriter([TrackSpec(127, Codec.OPUS)])


def test_h264_sps_gives_the_picture_size() -> None:
    key = next(c for c in encode_video("h264", 1, width=176, height=144) if c.keyframe)
    sps = next(u for u in split_annex_b(key.data) if u[0] & 0x1F == 7)
    assert h264_size(sps) == (176, 144)
    assert h264_size(b"\x67") == (0, 0)


def test_the_first_written_frame_gives_where_the_stream_starts() -> None:
    """What the grid composer places a RealtimeKit peer by: the time of the first frame written, which is also
    the first timestamp FFmpeg reads (a peer that joined 5 s into the recording)."""
    video = frames_of("vp8", 12)
    audio = [Frame(c.pts, c.data, True) for c in encode_opus(20)]
    items = [("video", 5000 + i * 66, f) for i, f in enumerate(video)] + [
        ("audio", 4990 + i * 20, f) for i, f in enumerate(audio)
    ]
    muxer = FrameMuxer(video=Codec.VP8, audio=True)
    data = b"".join(muxer.add(kind, ms, frame) for kind, ms, frame in sorted(items, key=lambda i: i[1]))
    data += muxer.finish()
    assert muxer.first_written_ms == 4990
    with av.open(io.BytesIO(data)) as container:
        first = min(p.pts * p.time_base * 1000 for p in container.demux() if p.pts is not None)
    assert 4990 - 7 <= first <= 4990  # FFmpeg moves Opus packets earlier by the codec delay (312 samples, 6.5 ms)
