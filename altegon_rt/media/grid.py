"""The grid layout of the composing worker: a meeting's simultaneous tracks tiled into one picture, audio mixed.

``python -m altegon_rt.media.compose`` (``compose.py``) runs :func:`compose_grid` for a
:class:`~altegon_rt.media.recording.ComposeJob` with ``layout="grid"``: RealtimeKit recordings, one track per
peer (``rtk/media.py``). Each track sits on one common timeline at ``starts_ms`` (where its first frame is;
without them, the tracks' own timestamps are the timeline); the output lasts from the earliest start to the
latest end. All tracks are decoded at once and their frames taken in time order:

- Video: at each output frame time (``fps``) the tracks that have video then are tiled (:func:`grid_shape`:
  1 → the whole picture, 2 side by side, 3-4 2x2, 5-6 3x2, up to 9 3x3, then 4x4 and 5x5; a last row that is not
  full is centred), each scaled into its cell keeping its aspect ratio, with black bars; black when nobody has
  video. A track has video from its first frame to its last; its last frame is held through gaps up to
  :data:`HOLD_MS`, and a longer gap (a camera turned off) takes its tile away until the next frame. A frame is
  encoded only when the picture changed, or :data:`FRAME_EVERY_MS` passed (variable frame rate).
- Audio: every track's audio at 48 kHz stereo, summed sample by sample where it sits on the timeline, then
  soft-limited (:func:`soft_clip`): levels up to :data:`KNEE` pass untouched, louder sums bend towards full
  scale instead of clipping. Summing keeps each voice at its level whoever else joins (``amix``'s division by
  the number of inputs would not).

Tiles are composed with numpy on yuv420p planes: each track's frame is scaled once per new frame (swscale,
``VideoFrame.reformat``) and copied into the canvas, which costs less than rebuilding a libavfilter ``xstack``
graph whenever somebody joins or leaves.
"""

from __future__ import annotations

import contextlib
import heapq
import math
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import av
import numpy as np

from altegon_rt.media.compose import (
    RATE,
    SAMPLES_PER_MS,
    ComposeError,
    Output,
    Progress,
    Report,
    TrackInfo,
    decoded,
    even,
    probe,
)
from altegon_rt.media.recording import ComposeJob

GRID_SIZE = (1280, 720)  # the picture when the job does not say
MAX_TILES = 25  # 5x5; peers past it (in start order) are heard, not seen
HOLD_MS = 3000  # a track's last frame is shown through a gap this long
FRAME_EVERY_MS = 1000  # an unchanged picture is still encoded this often
MIX_LAG_MS = 1000  # audio is mixed this far behind the newest frame read (tracks interleave loosely)
MIX_BLOCK = 4 * 1024  # samples per audio frame handed to the encoder
KNEE = 0.8  # soft limiting starts above this level (full scale 1.0)
BLACK = (16, 128, 128)  # yuv420p, limited range


# -- geometry (pure) ----------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Rect:
    x: int
    y: int
    width: int
    height: int


def grid_shape(n: int) -> tuple[int, int]:
    """(columns, rows) for ``n`` tiles: the smallest square grid, minus the rows it does not need."""
    if n <= 0:
        return 0, 0
    columns = math.ceil(math.sqrt(n))
    return columns, math.ceil(n / columns)


def tile_cells(n: int, width: int, height: int) -> list[Rect]:
    """The cells of ``n`` tiles in a ``width`` x ``height`` picture, row by row; even sizes and positions; the
    tiles of a last row that is not full are centred."""
    columns, rows = grid_shape(n)
    if not n:
        return []
    cell_w, cell_h = (width // columns) & ~1, (height // rows) & ~1
    top = ((height - rows * cell_h) // 2) & ~1
    cells = []
    for row in range(rows):
        in_row = min(columns, n - row * columns)
        left = ((width - in_row * cell_w) // 2) & ~1
        cells += [Rect(left + c * cell_w, top + row * cell_h, cell_w, cell_h) for c in range(in_row)]
    return cells


def fit(src_w: int, src_h: int, cell: Rect) -> Rect:
    """``src_w`` x ``src_h`` scaled into ``cell`` keeping its aspect ratio, centred; even sizes and positions."""
    scale = min(cell.width / src_w, cell.height / src_h)
    w = min(cell.width, max(2, round(src_w * scale) & ~1))
    h = min(cell.height, max(2, round(src_h * scale) & ~1))
    return Rect(cell.x + ((cell.width - w) // 2 & ~1), cell.y + ((cell.height - h) // 2 & ~1), w, h)


def grid_size(job: ComposeJob) -> tuple[int, int]:
    """The configured size, else :data:`GRID_SIZE`; fitted into the maximum, even numbers."""
    width, height = (job.width, job.height) if job.width and job.height else GRID_SIZE
    scale = min(1.0, job.max_width / width, job.max_height / height)
    return even(int(width * scale)), even(int(height * scale))


def soft_clip(samples: np.ndarray) -> np.ndarray:
    """Samples above :data:`KNEE` in magnitude bent smoothly towards 1.0, never past it (in place)."""
    loud = np.abs(samples) > KNEE
    if loud.any():
        over = np.abs(samples[loud]) - KNEE
        samples[loud] = np.sign(samples[loud]) * (KNEE + (1 - KNEE) * np.tanh(over / (1 - KNEE)))
    return samples


# -- the picture --------------------------------------------------------------------------------------------------
@dataclass(eq=False)
class GridTrack:
    """One track on the timeline: where it starts, until when it has video, and its newest frame."""

    info: TrackInfo
    begin_ms: int  # where the track's first packet sits on the output timeline
    frame: av.VideoFrame | None = None
    frame_ms: int = 0
    dirty: bool = False
    next_sample: int | None = None  # where this track's next audio sample goes
    _scaled: tuple[Any, Rect, Rect, list[np.ndarray]] | None = field(default=None, repr=False)

    @property
    def video_end_ms(self) -> int:
        return self.begin_ms + self.info.video_end_ms - self.info.start_ms

    def at(self, file_ms: int) -> int:
        return self.begin_ms + file_ms - self.info.start_ms

    def shows(self, t: int, slack_ms: int) -> bool:
        return self.frame is not None and t - self.frame_ms <= HOLD_MS and t <= self.video_end_ms + slack_ms

    def planes(self, cell: Rect) -> tuple[Rect, list[np.ndarray]]:
        """The newest frame scaled into ``cell`` (cached until the next frame or another cell)."""
        assert self.frame is not None
        if self._scaled is None or self._scaled[0] is not self.frame or self._scaled[1] != cell:
            box = fit(self.frame.width, self.frame.height, cell)
            scaled = self.frame.reformat(width=box.width, height=box.height, format="yuv420p",
                                         interpolation="BILINEAR", threads=1)  # fmt: skip
            self._scaled = (self.frame, cell, box, [_plane_array(p) for p in scaled.planes])
        return self._scaled[2], self._scaled[3]


def _plane_array(plane: Any) -> np.ndarray:
    """A view of a plane's pixels (it keeps the frame's buffer alive)."""
    rows = np.frombuffer(plane, np.uint8).reshape(-1, plane.line_size)
    return rows[: plane.height, : plane.width]


class Canvas:
    """The output picture: yuv420p planes in one buffer that ``VideoFrame.from_ndarray`` takes as is."""

    def __init__(self, width: int, height: int) -> None:
        self.width, self.height = width, height
        self.buffer = np.empty(width * height * 3 // 2, np.uint8)
        luma, chroma = width * height, (width // 2) * (height // 2)
        self.planes = [
            self.buffer[:luma].reshape(height, width),
            self.buffer[luma : luma + chroma].reshape(height // 2, width // 2),
            self.buffer[luma + chroma :].reshape(height // 2, width // 2),
        ]

    def paint(self, tracks: list[GridTrack]) -> av.VideoFrame:
        for plane, value in zip(self.planes, BLACK, strict=True):
            plane.fill(value)
        for track, cell in zip(tracks, tile_cells(len(tracks), self.width, self.height), strict=True):
            box, planes = track.planes(cell)
            for target, source, shift in zip(self.planes, planes, (0, 1, 1), strict=True):
                y, x = box.y >> shift, box.x >> shift
                target[y : y + source.shape[0], x : x + source.shape[1]] = source
        return av.VideoFrame.from_ndarray(self.buffer.reshape(self.height * 3 // 2, self.width), format="yuv420p")


class Renderer:
    """Output frame times (``fps``) → pictures of the tracks that show then, encoded when they changed."""

    def __init__(self, out: Output, tracks: list[GridTrack], fps: int, progress: Progress) -> None:
        self.out, self.tracks, self.fps, self.progress = out, tracks, fps, progress
        self.canvas = Canvas(out.width, out.height)
        self.tick = 0
        self.slack_ms = 1000 // fps
        self.layout: tuple[int, ...] | None = None
        self.last_frame_ms = -FRAME_EVERY_MS

    def render_until(self, ms: int) -> None:
        """Every output frame time before ``ms`` (the frames read so far are all those before it)."""
        while (t := self.tick * 1000 // self.fps) < ms:
            self.tick += 1
            showing = [i for i, track in enumerate(self.tracks) if track.shows(t, self.slack_ms)][:MAX_TILES]
            layout = tuple(showing)
            changed = layout != self.layout or any(self.tracks[i].dirty for i in showing)
            if not changed and t - self.last_frame_ms < FRAME_EVERY_MS:
                continue
            picture = self.canvas.paint([self.tracks[i] for i in showing])
            self.out.add_video(picture, t)
            self.layout, self.last_frame_ms = layout, t
            for i in showing:
                self.tracks[i].dirty = False
            self.progress.at(t)


# -- the sound ----------------------------------------------------------------------------------------------------
class Mixer:
    """Planar float stereo summed on a sample timeline; :meth:`take` hands out what is complete, soft-limited.
    Samples for a place already taken are dropped (they came later than :data:`MIX_LAG_MS`)."""

    def __init__(self) -> None:
        self.base = 0  # the timeline sample at buffer[:, 0]: everything before it was taken
        self.buffer = np.zeros((2, 0), np.float32)

    def add(self, sample: int, data: np.ndarray) -> None:
        if sample < self.base:
            data, sample = data[:, self.base - sample :], self.base
        if not data.shape[1]:
            return
        start = sample - self.base
        end = start + data.shape[1]
        if end > self.buffer.shape[1]:
            grown = np.zeros((2, max(end, 2 * self.buffer.shape[1])), np.float32)
            grown[:, : self.buffer.shape[1]] = self.buffer
            self.buffer = grown
        self.buffer[:, start:end] += data

    def take(self, until: int) -> Iterator[av.AudioFrame]:
        """The mix from :attr:`base` to ``until``, in frames of at most :data:`MIX_BLOCK` samples (silence where
        nothing was added)."""
        while (count := min(until - self.base, MIX_BLOCK)) > 0:
            out = np.zeros((2, count), np.float32)
            have = min(count, self.buffer.shape[1])
            out[:, :have] = self.buffer[:, :have]
            self.buffer = self.buffer[:, have:]
            self.base += count
            frame = av.AudioFrame.from_ndarray(soft_clip(out), format="fltp", layout="stereo")
            frame.sample_rate = RATE
            yield frame


def _mix_audio(track: GridTrack, mixer: Mixer, at_ms: int, resampled: list[av.AudioFrame]) -> None:
    """A decoded audio frame's samples into the mix: after the track's previous ones unless it jumped (a gap)."""
    sample = at_ms * SAMPLES_PER_MS
    if track.next_sample is None or abs(sample - track.next_sample) > 20 * SAMPLES_PER_MS:
        track.next_sample = sample
    for frame in resampled:
        data = frame.to_ndarray().astype(np.float32, copy=False)
        mixer.add(track.next_sample, data)
        track.next_sample += data.shape[1]


# -- the job ------------------------------------------------------------------------------------------------------
def _frames(track: GridTrack, index: int, container: Any, report: Report) -> Iterator[tuple[int, int, Any]]:
    """(timeline ms, track index, frame) of one track, in decoding order; audio as 48 kHz stereo float frames."""
    streams = [*container.streams.video[:1], *container.streams.audio[:1]]
    for stream in streams:
        stream.codec_context.thread_count = 1
    resampler = av.AudioResampler(format="fltp", layout="stereo", rate=RATE)
    end_ms = track.at(track.info.end_ms)
    for frame in decoded(container, streams, track.info, report):
        if frame.pts is None or frame.time_base is None:
            continue
        at_ms = track.at(int(frame.pts * frame.time_base * 1000))
        if not track.begin_ms <= at_ms < end_ms:
            continue
        if isinstance(frame, av.AudioFrame):
            yield at_ms, index, resampler.resample(frame)
        else:
            yield at_ms, index, frame


def _placed(job: ComposeJob, report: Report) -> list[GridTrack]:
    """The tracks with media, each at its place on the output timeline (the earliest starts at 0)."""
    placed: list[tuple[TrackInfo, int]] = []
    for i, (video_id, path) in enumerate(job.tracks):
        info = probe(video_id, path)
        if info.duration_ms <= 0:
            report({"event": "warning", "videoId": video_id, "message": "the track has no media; left out"})
            continue
        placed.append((info, job.starts_ms[i] if job.starts_ms else info.start_ms))
    if not placed:
        raise ComposeError("empty_recording", "the recording's tracks hold no media")
    origin = min(start for _, start in placed)
    return [GridTrack(info, start - origin) for info, start in placed]


def compose_grid(job: ComposeJob, report: Report) -> dict[str, Any]:
    """Do a grid job; the ``done`` report's fields. Raises :class:`ComposeError` for a job that cannot be done."""
    tracks = _placed(job, report)
    width, height = grid_size(job)
    total_ms = max(t.begin_ms + t.info.duration_ms for t in tracks)
    shapes = [{"videoId": t.info.video_id, "width": t.info.width, "height": t.info.height, "startMs": t.begin_ms,
               "durationMs": t.info.duration_ms} for t in tracks]  # fmt: skip
    report({"event": "started", "width": width, "height": height, "durationMs": total_ms, "tracks": shapes})
    out, progress, mixer = Output(job, width, height), Progress(total_ms, report), Mixer()
    renderer = Renderer(out, tracks, job.fps, progress)
    try:
        with contextlib.ExitStack() as stack:
            containers = [stack.enter_context(av.open(t.info.path)) for t in tracks]
            streams = [_frames(t, i, c, report) for i, (t, c) in enumerate(zip(tracks, containers, strict=True))]
            for at_ms, index, item in heapq.merge(*streams, key=lambda e: e[0]):
                renderer.render_until(at_ms)
                _write_audio(out, mixer, (at_ms - MIX_LAG_MS) * SAMPLES_PER_MS)
                track = tracks[index]
                if isinstance(item, av.VideoFrame):
                    track.frame, track.frame_ms, track.dirty = item, at_ms, True
                else:
                    _mix_audio(track, mixer, at_ms, item)
        renderer.render_until(total_ms)
        _write_audio(out, mixer, total_ms * SAMPLES_PER_MS, whole=True)
        out.finish(total_ms)
    except BaseException:
        out.abort()
        raise
    return {"durationMs": total_ms, "size": os.path.getsize(job.output), "width": width, "height": height}


def _write_audio(out: Output, mixer: Mixer, until: int, *, whole: bool = False) -> None:
    """The mix up to ``until`` into the encoder once a block is complete (or all of it with ``whole``)."""
    if whole or until - mixer.base >= MIX_BLOCK:
        for frame in mixer.take(until):
            out.add_audio(frame)
