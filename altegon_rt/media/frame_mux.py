"""One peer's coded frames (a video and/or an audio track) → one live WebM/Matroska byte stream (sans-IO).

Frames come from the SFU's taps with their media time in milliseconds. :class:`FrameMuxer`:

- waits for the video's first key frame before writing the header: it gives the picture size (VP8/VP9 key
  frame header, H.264 SPS) and, for H.264, the ``avcC`` configuration. Audio that arrives meanwhile is kept
  (up to :data:`VIDEO_WAIT_MS`); video without a key frame by then is left out and the stream is audio only;
- interleaves the tracks in time order, holding a frame until every other live track has caught up with it
  or it is :attr:`max_delay_ms` older than the newest frame (so a muted or stalled track delays nothing for
  long);
- keeps each track's times non-decreasing.
"""

from __future__ import annotations

import collections
from collections.abc import Iterable

from altegon_rt.media.matroska import MatroskaWriter, TrackSpec, avcc, h264_size, opus_head
from altegon_rt.rtc.depacketize import Codec, Frame, split_annex_b

VIDEO_WAIT_MS = 5000
MAX_DELAY_MS = 500
MAX_PENDING = 2000  # frames held before the header (bounded memory)
VIDEO, AUDIO = "video", "audio"


def _video_spec(codec: Codec, frame: Frame) -> TrackSpec:
    if codec is not Codec.H264:
        return TrackSpec(1, codec, frame.width, frame.height)
    units = {u[0] & 0x1F: u for u in split_annex_b(frame.data) if u}
    sps, pps = units.get(7), units.get(8)
    if sps is None or pps is None:
        raise ValueError("H.264 key frame without SPS and PPS")
    width, height = h264_size(sps)
    return TrackSpec(1, codec, width, height, avcc(sps, pps))


class FrameMuxer:
    """See the module docstring. ``add`` and ``end`` answer the bytes to append to the stream."""

    def __init__(self, *, video: Codec | None, audio: bool, max_delay_ms: int = MAX_DELAY_MS) -> None:
        if video is None and not audio:
            raise ValueError("a stream needs a video or an audio track")
        if video is Codec.OPUS:
            raise ValueError("Opus is not a video codec")
        self.video_codec = video
        self.max_delay_ms = max_delay_ms
        self.writer: MatroskaWriter | None = None
        self.tracks: dict[str, int] = {}  # kind → track number, once the header is written
        self._live = {k for k, on in ((VIDEO, video is not None), (AUDIO, audio)) if on}
        self._queues: dict[str, collections.deque[tuple[int, Frame]]] = {k: collections.deque() for k in self._live}
        self._last_in: dict[str, int] = {}
        self._newest = 0
        self._first_ms: int | None = None
        self.frames_written = 0
        self.first_written_ms: int | None = None  # the time of the stream's first frame (where it starts)

    @property
    def started(self) -> bool:
        return self.writer is not None

    def accepts(self, kind: str) -> bool:
        """Whether frames of ``kind`` can still go into this stream (its track exists or may yet)."""
        return kind in self.tracks if self.started else kind in self._live

    def add(self, kind: str, time_ms: int, frame: Frame) -> bytes:
        if kind not in self._live:
            return b""
        time_ms = max(time_ms, self._last_in.get(kind, 0))
        self._last_in[kind] = time_ms
        self._newest = max(self._newest, time_ms)
        if self._first_ms is None:
            self._first_ms = time_ms
        out = b""
        if self.writer is None:
            out += self._before_header(kind, time_ms, frame)
            if self.writer is None:
                return out
        elif kind in self.tracks:
            self._queues[kind].append((time_ms, frame))
        return out + self._release(final=False)

    def end(self, kind: str) -> bytes:
        """A track ended (its producer closed): nothing waits for it any more."""
        self._live.discard(kind)
        return self._release(final=False) if self.writer is not None else b""

    def finish(self) -> bytes:
        """The end of the stream: everything held is written (a stream that never started writes nothing)."""
        self._live.clear()
        return self._release(final=True) if self.writer is not None else b""

    def _before_header(self, kind: str, time_ms: int, frame: Frame) -> bytes:
        if kind == VIDEO:
            if not frame.keyframe:
                return b""
            try:
                video = _video_spec(self.video_codec or Codec.VP8, frame)
            except ValueError:
                return b""
            self._queues[VIDEO].append((time_ms, frame))
            return self._start(video)
        queue = self._queues[AUDIO]
        queue.append((time_ms, frame))
        if len(queue) > MAX_PENDING:
            queue.popleft()
        waited = time_ms - (time_ms if self._first_ms is None else self._first_ms)
        if self.video_codec is None or VIDEO not in self._live or waited >= VIDEO_WAIT_MS:
            self._live.discard(VIDEO)
            self._queues[VIDEO].clear()
            return self._start(None)
        return b""

    def _start(self, video: TrackSpec | None) -> bytes:
        specs = [video] if video is not None else []
        if AUDIO in self._queues and (AUDIO in self._live or self._queues[AUDIO]):
            specs.append(TrackSpec(len(specs) + 1, Codec.OPUS, codec_private=opus_head()))
        self.tracks = {(VIDEO if s.codec.is_video else AUDIO): s.number for s in specs}
        self.writer = MatroskaWriter(specs)
        if video is not None and self._queues.get(AUDIO):  # audio from before the key frame: not before it
            start = self._queues[VIDEO][0][0]
            audio = self._queues[AUDIO]
            while audio and audio[0][0] < start - self.max_delay_ms:
                audio.popleft()
        return self.writer.header()

    def _release(self, *, final: bool) -> bytes:
        assert self.writer is not None
        parts: list[bytes] = []
        while True:
            heads = [(q[0][0], kind) for kind, q in self._queues.items() if q and kind in self.tracks]
            if not heads:
                break
            time_ms, kind = min(heads)
            waiting = any(self._last_in.get(k, -1) < time_ms for k in self._live if k != kind)
            if waiting and not final and self._newest - time_ms < self.max_delay_ms:
                break
            _, frame = self._queues[kind].popleft()
            if self.first_written_ms is None:
                self.first_written_ms = max(time_ms, 0)
            parts.append(self.writer.block(self.tracks[kind], time_ms, frame.data, frame.keyframe))
            self.frames_written += 1
        return b"".join(parts)


def mux_all(video: Codec | None, audio: bool, frames: Iterable[tuple[str, int, Frame]]) -> bytes:
    """A whole stream at once (tests, tools)."""
    muxer = FrameMuxer(video=video, audio=audio)
    out = b"".join(muxer.add(kind, ms, frame) for kind, ms, frame in frames)
    return out + muxer.finish()
