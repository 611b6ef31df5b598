"""The input clip of bench/hls.py: what a browser's MediaRecorder sends, made with PyAV, cut into 1 s chunks.

:func:`make_clip` renders FFmpeg's ``testsrc2`` pattern (moving shapes, a counter, colour bars), with a light
temporal grain from the ``noise`` filter standing in for a camera sensor's, and a 440 Hz tone, through
libavfilter, and encodes them as VP8 (libvpx, realtime, 2.5 Mbit/s, Chrome MediaRecorder's default) +
Opus in WebM written to a non-seekable output, as a live recorder writes it: no cues, no sizes patched
afterwards, one cluster per second at most.

:func:`split_chunks` cuts that byte stream where MediaRecorder's ``timeslice`` of 1 s would: chunk ``k``
holds the clusters that start in media second ``k`` (the first chunk also holds the header), and knows the
timestamp of its last video frame, which is what "the part containing this chunk" is measured against.

Imported by bench/hls.py and bench/hls_load.py as a sibling module (bench/ is not a package).
"""

from __future__ import annotations

import io
import itertools
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import av

FPS = 30
VIDEO_BITRATE = 2_500_000
KEYFRAME_INTERVAL = 100  # frames between the source's own keyframes (libvpx in Chrome puts them far apart)
CLUSTER_ID = 0x1F43B675
SEGMENT_ID = 0x18538067
TIMECODE_ID = 0xE7
SIMPLE_BLOCK_ID = 0xA3
VIDEO_TRACK = 1  # make_clip adds the video stream first


class _Sink:
    """A write-only file: PyAV then tells the muxer the output is not seekable (a live recorder's)."""

    def __init__(self) -> None:
        self.buffer = io.BytesIO()

    def write(self, data: bytes) -> int:
        return self.buffer.write(data)


def _graph(description: list[tuple[str, str]], sink: str) -> tuple[Any, Any]:
    graph = av.filter.Graph()
    nodes = [graph.add(name, args) for name, args in description] + [graph.add(sink)]
    for a, b in itertools.pairwise(nodes):
        a.link_to(b)
    graph.configure()
    return graph, nodes[-1]  # the node needs its graph alive


def _pull(graph_and_node: tuple[Any, Any]) -> Any:
    try:
        return graph_and_node[1].pull()
    except av.error.EOFError:
        return None


def make_clip(width: int, height: int, seconds: float, *, grain: int = 6) -> bytes:
    """A VP8 + Opus WebM of ``seconds``, ``width`` x ``height`` at 30 fps; see the module docstring."""
    video_src = [("testsrc2", f"size={width}x{height}:rate={FPS}:duration={seconds}")]
    if grain:
        video_src.append(("noise", f"alls={grain}:allf=t"))
    video_src.append(("format", "yuv420p"))
    pictures = _graph(video_src, "buffersink")
    tone = _graph([("sine", f"frequency=440:sample_rate=48000:duration={seconds}:samples_per_frame=960"),
                   ("aformat", "sample_fmts=s16:channel_layouts=stereo")], "abuffersink")  # fmt: skip
    sink = _Sink()
    options = {"cluster_time_limit": "1000", "cluster_size_limit": str(8 << 20)}
    with av.open(sink, "w", format="webm", options=options) as out:
        video = out.add_stream("libvpx", rate=FPS)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        video.codec_context.gop_size = KEYFRAME_INTERVAL
        video.codec_context.bit_rate = VIDEO_BITRATE
        video.codec_context.options = {"deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0"}
        audio = out.add_stream("libopus", rate=48000)
        audio.layout = "stereo"
        audio_pts = 0
        while (frame := _pull(pictures)) is not None:
            frame.pict_type = av.video.frame.PictureType.NONE
            out.mux(video.encode(frame))
            while audio_pts <= frame.pts * 48000 // FPS and (sound := _pull(tone)) is not None:
                sound.pts, sound.time_base = audio_pts, Fraction(1, 48000)
                audio_pts += sound.samples
                out.mux(audio.encode(sound))
        out.mux(video.encode(None))
        while (sound := _pull(tone)) is not None:
            sound.pts, sound.time_base = audio_pts, Fraction(1, 48000)
            audio_pts += sound.samples
            out.mux(audio.encode(sound))
        out.mux(audio.encode(None))
    return sink.buffer.getvalue()


# -- cutting ----------------------------------------------------------------------------------------------------
def _vint(data: bytes, at: int, *, keep_marker: bool) -> tuple[int, int]:
    """An EBML variable-size integer at ``at``: (value, length)."""
    first = data[at]
    length = 1
    while length <= 8 and not first & (0x80 >> (length - 1)):
        length += 1
    if length > 8:
        raise ValueError(f"bad EBML vint at byte {at}")
    value = first if keep_marker else first & (0xFF >> length)
    for byte in data[at + 1 : at + length]:
        value = (value << 8) | byte
    return value, length


def _element(data: bytes, at: int) -> tuple[int, int, int]:
    """(element id, offset of its payload, payload size; -1 for unknown) of the element at ``at``."""
    element_id, id_length = _vint(data, at, keep_marker=True)
    size, size_length = _vint(data, at + id_length, keep_marker=False)
    unknown = size == (1 << (7 * size_length)) - 1
    return element_id, at + id_length + size_length, -1 if unknown else size


@dataclass(frozen=True, slots=True)
class Chunk:
    index: int
    data: bytes
    last_frame_s: float  # timestamp of the chunk's last video frame


def blocks(data: bytes) -> list[tuple[int, int, float]]:
    """(byte offset of the element, track number, timestamp in s) of every SimpleBlock, in file order (the
    muxer's timestamp scale is 1 ms)."""
    _, at, size = _element(data, 0)  # the EBML header
    element_id, at, _ = _element(data, at + size)  # the Segment, of unknown size when written live
    if element_id != SEGMENT_ID:
        raise ValueError("no Segment after the EBML header")
    found = []
    while at < len(data):
        element_id, payload, size = _element(data, at)
        if size < 0:
            raise ValueError("an element of unknown size inside the Segment")
        if element_id == CLUSTER_ID:
            cluster_ms = 0
            child_at = payload
            while child_at < payload + size:
                child, child_payload, child_size = _element(data, child_at)
                if child == TIMECODE_ID:
                    cluster_ms = int.from_bytes(data[child_payload : child_payload + child_size], "big")
                elif child == SIMPLE_BLOCK_ID:
                    track, length = _vint(data, child_payload, keep_marker=False)
                    relative = int.from_bytes(data[child_payload + length : child_payload + length + 2], "big",
                                              signed=True)  # fmt: skip
                    found.append((child_at, track, (cluster_ms + relative) / 1000))
                child_at = child_payload + child_size
        at = payload + size
    return found


def split_chunks(data: bytes, chunk_s: float = 1.0) -> list[Chunk]:
    """``data`` as MediaRecorder's ``timeslice`` chunks: chunk ``k`` ends before the first block of media
    second ``k + 1`` (wherever it falls in a cluster); see the module docstring."""
    edges, last_frame = [0], [-1.0]
    for offset, track, time_s in blocks(data):
        while time_s >= len(edges) * chunk_s - 1e-6:
            edges.append(offset)
            last_frame.append(-1.0)
        if track == VIDEO_TRACK:
            last_frame[-1] = max(last_frame[-1], time_s)
    edges.append(len(data))
    return [Chunk(i, data[edges[i] : edges[i + 1]], last_frame[i]) for i in range(len(edges) - 1)
            if edges[i + 1] > edges[i]]  # fmt: skip
