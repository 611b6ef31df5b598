"""Test media made with PyAV: what a browser's MediaRecorder sends (WebM/Matroska with VP8, VP9 or H.264 video
and Opus audio), cut into chunks like MediaRecorder's timeslices."""

from __future__ import annotations

import io
from fractions import Fraction

import av
import numpy as np

VIDEO_ENCODERS = {"vp8": ("libvpx", "webm"), "vp9": ("libvpx-vp9", "webm"), "h264": ("libx264", "matroska")}


def make_webm(codec: str, seconds: float = 5.0, *, fps: int = 30, size: tuple[int, int] = (320, 240),
              gop: int = 30, audio: bool = True) -> bytes:  # fmt: skip
    """A moving picture and a tone; keyframes every ``gop`` frames."""
    encoder, container_format = VIDEO_ENCODERS[codec]
    width, height = size
    buffer = io.BytesIO()
    with av.open(buffer, "w", format=container_format) as out:
        video = out.add_stream(encoder, rate=fps)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        video.codec_context.gop_size = gop
        if encoder == "libx264":
            video.codec_context.options = {"preset": "ultrafast", "tune": "zerolatency", "keyint_min": str(gop)}
        elif encoder == "libvpx-vp9":
            video.codec_context.options = {"deadline": "realtime", "cpu-used": "8"}
        sound = out.add_stream("libopus", rate=48000) if audio else None
        if sound is not None:
            sound.layout = "stereo"
        audio_pts = 0
        for i in range(round(seconds * fps)):
            picture = np.zeros((height, width, 3), np.uint8)
            picture[:, :, 0] = (i * 8) % 256
            picture[(i * 4) % height, :, 1] = 255
            frame = av.VideoFrame.from_ndarray(picture, format="rgb24").reformat(format="yuv420p")
            frame.pts, frame.time_base = i, Fraction(1, fps)
            out.mux(video.encode(frame))
            while sound is not None and audio_pts < (i + 1) * 48000 // fps:
                tone = np.sin(np.arange(audio_pts, audio_pts + 960) * 2 * np.pi * 440 / 48000).astype(np.float32)
                chunk = av.AudioFrame.from_ndarray(np.stack([tone, tone]), format="fltp", layout="stereo")
                chunk.sample_rate, chunk.pts, chunk.time_base = 48000, audio_pts, Fraction(1, 48000)
                out.mux(sound.encode(chunk))
                audio_pts += 960
        out.mux(video.encode())
        if sound is not None:
            out.mux(sound.encode())
    return buffer.getvalue()


def chunks(data: bytes, count: int) -> list[bytes]:
    """``data`` in ``count`` pieces of about equal size (MediaRecorder's chunks do not follow elements)."""
    step = -(-len(data) // count)
    return [data[i : i + step] for i in range(0, len(data), step)]
