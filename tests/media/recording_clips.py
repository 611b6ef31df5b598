"""Short clips made by PyAV for the recording tests: WebM/Matroska as MediaRecorder sends it, and MP4 probing."""

from __future__ import annotations

import io
from dataclasses import dataclass
from fractions import Fraction

import av
import numpy as np

RATE = 48_000


def clip(codec: str, width: int, height: int, seconds: float, *, fps: int = 15, audio: bool = True, shade: int = 200,
         chroma: tuple[int, int] = (128, 128), tone: tuple[float, float] = (0, 0)) -> bytes:  # fmt: skip
    """A clip of ``codec`` video (libvpx, libvpx-vp9 in WebM; libx264 in Matroska, as Chrome's
    ``video/webm;codecs=h264``) with Opus audio, packets interleaved as a recorder writes them. Every frame
    is one flat colour, luma ``shade`` and ``chroma`` (U, V; grey by default), so a test can tell picture from
    padding and one clip from another. The audio is silence, or a sine of ``tone`` (Hz, amplitude 0-1)."""
    buffer = io.BytesIO()
    out = av.open(buffer, "w", format="matroska" if codec == "libx264" else "webm")
    video = out.add_stream(codec, rate=fps)
    video.width, video.height, video.pix_fmt = width, height, "yuv420p"
    if codec.startswith("libvpx"):
        video.options = {"deadline": "realtime", "cpu-used": "8"}
    else:
        video.options = {"preset": "ultrafast"}
    sound = out.add_stream("libopus", rate=RATE) if audio else None
    if sound is not None:
        sound.layout = "stereo"
    samples_per_frame, sent = 960, 0
    for i in range(round(seconds * fps)):
        frame = av.VideoFrame(width, height, "yuv420p")
        for plane, value in zip(frame.planes, (shade, *chroma), strict=True):
            plane.update(bytes([value]) * plane.buffer_size)
        frame.pts = i
        for packet in video.encode(frame):
            out.mux(packet)
        while sound is not None and sent < (i + 1) * RATE // fps:
            pcm = _sine(tone, sent, samples_per_frame)
            sound_frame = av.AudioFrame.from_ndarray(pcm, format="s16", layout="stereo")
            sound_frame.sample_rate, sound_frame.pts, sound_frame.time_base = RATE, sent, Fraction(1, RATE)
            sent += samples_per_frame
            for packet in sound.encode(sound_frame):
                out.mux(packet)
    for stream in (video, sound):
        for packet in stream.encode(None) if stream is not None else ():
            out.mux(packet)
    out.close()
    return buffer.getvalue()


def _sine(tone: tuple[float, float], start: int, samples: int) -> np.ndarray:
    """Interleaved s16 stereo samples ``start`` to ``start + samples`` of a sine (``(hz, amplitude)``)."""
    hz, amplitude = tone
    mono = amplitude * 32767 * np.sin(2 * np.pi * hz * np.arange(start, start + samples) / RATE)
    return np.repeat(mono.astype(np.int16), 2).reshape(1, -1)


def chunks(data: bytes, n: int) -> list[bytes]:
    """``data`` in ``n`` pieces of about the same size (as MediaRecorder's timeslices cut a stream)."""
    size = -(-len(data) // n)
    return [data[i : i + size] for i in range(0, len(data), size)]


@dataclass(frozen=True)
class Probe:
    duration_s: float
    codecs: list[str]
    width: int
    height: int
    moov_before_mdat: bool
    frames: list[tuple[float, int, int]]  # (time s, luma at the centre, luma in the top row's middle)


def probe_mp4(data: bytes) -> Probe:
    """What an MP4 holds: duration, stream codecs, video size, faststart, and two luma samples per frame."""
    moov, mdat = data.find(b"moov"), data.find(b"mdat")
    with av.open(io.BytesIO(data)) as container:
        assert container.format.name.startswith("mov,mp4")
        video = container.streams.video[0]
        codecs = sorted(s.codec_context.name for s in container.streams)
        frames = []
        for frame in container.decode(video=0):
            luma = frame.planes[0]
            row = bytes(luma)
            stride, w, h = luma.line_size, frame.width, frame.height
            frames.append((float(frame.time), row[(h // 2) * stride + w // 2], row[w // 2]))
        assert container.duration is not None
        return Probe(container.duration / 1e6, codecs, video.codec_context.width, video.codec_context.height,
                     0 <= moov < mdat, frames)  # fmt: skip
