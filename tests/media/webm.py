"""Test media made with PyAV: what a browser's MediaRecorder sends, cut into chunks like its timeslices.

- WebM/Matroska with VP8, VP9, H.264 or AV1 video and Opus audio (Chrome, Firefox);
- fragmented MP4 with H.264, VP9 or AV1 video and AAC or Opus audio (Safari, newer Chrome): ``ftyp`` + an
  empty ``moov`` first, then a ``moof`` + ``mdat`` fragment from each video keyframe on.
"""

from __future__ import annotations

import io
from fractions import Fraction
from typing import Any

import av
import numpy as np

VIDEO_ENCODERS = {"vp8": ("libvpx", "webm"), "vp9": ("libvpx-vp9", "webm"), "h264": ("libx264", "matroska"),
                  "av1": ("libsvtav1", "webm")}  # fmt: skip
AUDIO_ENCODERS = {"opus": "libopus", "aac": "aac"}
MP4_FRAGMENTS = "frag_keyframe+empty_moov+default_base_moof"


def make_webm(codec: str, seconds: float = 5.0, *, fps: int = 30, size: tuple[int, int] = (320, 240),
              gop: int = 30, audio: bool = True) -> bytes:  # fmt: skip
    """A moving picture and a tone; keyframes every ``gop`` frames."""
    encoder, container_format = VIDEO_ENCODERS[codec]
    return _record(container_format, {}, encoder, "libopus" if audio else None, seconds, fps, size, gop)


def make_mp4(video: str | None, audio: str | None, seconds: float = 5.0, *, fps: int = 30,
             size: tuple[int, int] = (320, 240), gop: int = 30) -> bytes:  # fmt: skip
    """Fragmented MP4 as MediaRecorder writes it: ``video`` h264, vp9 or av1, ``audio`` aac or opus (or None)."""
    encoder = VIDEO_ENCODERS[video][0] if video else None
    return _record("mp4", {"movflags": MP4_FRAGMENTS}, encoder, AUDIO_ENCODERS[audio] if audio else None,
                   seconds, fps, size, gop)  # fmt: skip


def _video_stream(out: Any, encoder: str, fps: int, size: tuple[int, int], gop: int) -> Any:
    video = out.add_stream(encoder, rate=fps)
    video.width, video.height = size
    video.pix_fmt = "yuv420p"
    video.codec_context.gop_size = gop
    if encoder == "libx264":
        video.codec_context.options = {"preset": "ultrafast", "tune": "zerolatency", "keyint_min": str(gop)}
    elif encoder == "libvpx-vp9":
        video.codec_context.options = {"deadline": "realtime", "cpu-used": "8"}
    elif encoder == "libsvtav1":
        video.codec_context.options = {"preset": "12"}
    return video


def _record(container_format: str, options: dict[str, str], video_encoder: str | None, audio_encoder: str | None,
            seconds: float, fps: int, size: tuple[int, int], gop: int) -> bytes:  # fmt: skip
    width, height = size
    buffer = io.BytesIO()
    with av.open(buffer, "w", format=container_format, options=options) as out:
        video = _video_stream(out, video_encoder, fps, size, gop) if video_encoder else None
        sound = out.add_stream(audio_encoder, rate=48000) if audio_encoder else None
        if sound is not None:
            sound.layout = "stereo"
        frame_samples = sound.codec_context.frame_size or 960 if sound is not None else 960
        audio_pts = 0
        for i in range(round(seconds * fps)):
            if video is not None:
                picture = np.zeros((height, width, 3), np.uint8)
                picture[:, :, 0] = (i * 8) % 256
                picture[(i * 4) % height, :, 1] = 255
                frame = av.VideoFrame.from_ndarray(picture, format="rgb24").reformat(format="yuv420p")
                frame.pts, frame.time_base = i, Fraction(1, fps)
                out.mux(video.encode(frame))
            while sound is not None and audio_pts < (i + 1) * 48000 // fps:
                t = np.arange(audio_pts, audio_pts + frame_samples)
                tone = np.sin(t * 2 * np.pi * 440 / 48000).astype(np.float32)
                chunk = av.AudioFrame.from_ndarray(np.stack([tone, tone]), format="fltp", layout="stereo")
                chunk.sample_rate, chunk.pts, chunk.time_base = 48000, audio_pts, Fraction(1, 48000)
                out.mux(sound.encode(chunk))
                audio_pts += frame_samples
        if video is not None:
            out.mux(video.encode())
        if sound is not None:
            out.mux(sound.encode())
    return buffer.getvalue()


def chunks(data: bytes, count: int) -> list[bytes]:
    """``data`` in ``count`` pieces of about equal size (MediaRecorder's chunks do not follow elements)."""
    step = -(-len(data) // count)
    return [data[i : i + step] for i in range(0, len(data), step)]
