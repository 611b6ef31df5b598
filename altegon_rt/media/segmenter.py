"""Cutting a live stream of coded samples into LL-HLS parts and segments (sans-IO, no PyAV).

:class:`Segmenter` takes H.264 and AAC samples (timestamps in each track's timescale) as they come out of
the encoders, and gives back :class:`PartReady` and :class:`SegmentReady` with the fMP4 bytes to store.

- Segments start on a video keyframe once the segment is ``target_s`` long (the transcoder forces keyframes
  on that grid). When the source's keyframes are too far apart (H.264 passed through), a segment is cut
  without one rather than exceed ``max_segment_s`` (what keeps ``EXT-X-TARGETDURATION`` honest); that
  segment's first part is then not ``INDEPENDENT``.
- Parts are cut on the video timeline before a frame that would make the part longer than ``part_s``. A
  part's listed duration is its span on that timeline, capped at ``part_s`` (a gap in the source longer
  than a part is the only case where the cap applies); a segment's duration is the sum of its parts'.
- Audio is interleaved by time: a part takes the audio samples that start before its end, so audio that
  arrives ahead of the video (Chrome sends it up to a second early) waits for its part instead of being
  cut away. Audio that comes late (the Opus → AAC path lags the video by a few tens of ms; a fragmented
  MP4 holds a fragment's video before its audio, so a demuxer reading it in order gives up to a timeslice
  of video first) is waited for, so that a part's audio reaches its end: a browser's MSE buffer holds what
  both tracks cover, and a part that ends short of its listed end made hls.js load it again and again. A part
  goes without the rest of its audio once the video is ``AUDIO_WAIT_S`` past its end and everything the
  sender sent so far has been pushed (:meth:`Segmenter.idle`), or once the video is ``AUDIO_GIVE_UP_S`` past.
  A stream without video is cut on the audio timeline alone.
- Within a track, each sample lasts until the next one (WebM gives no durations), also across parts.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

from altegon_rt.media.fmp4 import Sample, TrackRun, fragment

DEFAULT_FRAME_S = 1 / 30
MAX_AUDIO_QUEUE = 2000  # AAC frames (~40 s) waiting for video; older ones are dropped
AUDIO_WAIT_S = 0.25  # how long (on the video timeline) a cut part waits for the audio that reaches its end
AUDIO_GIVE_UP_S = 5.0  # ... when the source has more to give (a restarted worker reading up, in file order)


@dataclass(frozen=True, slots=True)
class PartReady:
    msn: int
    index: int
    data: bytes
    start_s: float  # on the main track's timeline
    duration_s: float
    independent: bool


@dataclass(frozen=True, slots=True)
class SegmentReady:
    msn: int
    data: bytes
    start_s: float
    duration_s: float


Output = PartReady | SegmentReady


@dataclass(slots=True)
class _Cut:
    """A part whose video is complete, waiting for its audio."""

    samples: list[Sample]
    start: float
    end: float
    closes_segment: bool


@dataclass(slots=True)
class Track:
    track_id: int
    timescale: int
    pending: list[Sample] = field(default_factory=list)  # samples of the open part


class Segmenter:
    """See the module docstring.

    Args:
        video: ``(track_id, timescale)`` of the H.264 track, or ``None``.
        audio: ``(track_id, timescale)`` of the AAC track, or ``None``.
        target_s: the segment duration aimed at (keyframes are forced on this grid when transcoding).
        max_segment_s: the longest segment allowed (below the playlist's target duration + 0.5).
        part_s: the LL-HLS part target.
        first_msn: the number of the first segment.
    """

    def __init__(self, *, video: tuple[int, int] | None, audio: tuple[int, int] | None, target_s: float,
                 max_segment_s: float, part_s: float, first_msn: int = 0) -> None:  # fmt: skip
        if video is None and audio is None:
            raise ValueError("a stream needs a video or an audio track")
        self.video = Track(*video) if video else None
        self.audio = Track(*audio) if audio else None
        self.main = self.video or self.audio
        assert self.main is not None
        self.target_s = target_s
        self.max_segment_s = max_segment_s
        self.part_s = part_s
        self.msn = first_msn
        self._audio_queue: deque[Sample] = deque(
            maxlen=MAX_AUDIO_QUEUE
        )  # audio waiting for the video to reach its time
        self._parts: list[PartReady] = []  # the published parts of the open segment
        self._cuts: deque[_Cut] = deque()
        self._audio_end = -math.inf  # end of the latest audio sample, in seconds
        self._segment_start: float | None = None
        self._part_start = 0.0
        self._frame_s = DEFAULT_FRAME_S if self.video else 1024 / 48000
        self._last_time: float | None = None
        self._last_key: float | None = None
        self._gop_s = 0.0
        self._sequence = 1

    # -- input --------------------------------------------------------------------------------------------------
    def push_video(self, sample: Sample) -> list[Output]:
        assert self.video is not None
        return self._push_main(sample, sample.keyframe)

    def push_audio(self, sample: Sample) -> list[Output]:
        assert self.audio is not None
        if self.video is None:
            return self._push_main(sample, True)
        self._audio_queue.append(sample)  # audio ahead of the first keyframe waits too: it starts the first part
        self._audio_end = max(self._audio_end, self._time(self.audio, sample.dts + sample.duration))
        return self._publish(self._last_time or 0.0) if self._cuts else []

    def idle(self) -> list[Output]:
        """Every sample the source holds so far has been pushed: parts that waited ``AUDIO_WAIT_S`` go out."""
        return self._publish(self._last_time or 0.0, idle=True) if self._cuts else []

    def flush(self) -> list[Output]:
        """The end of the stream: the open part and segment are closed, and every waiting part goes out."""
        if self._segment_start is not None and self.main.pending and self._last_time is not None:
            end = self._last_time + self._frame_s
            self._set_last_duration(self.main, round(end * self.main.timescale))
            self._queue_cut(end, closes_segment=True)
        return self._publish(math.inf, final=True)

    # -- cutting ------------------------------------------------------------------------------------------------
    def _time(self, track: Track, ticks: int) -> float:
        return ticks / track.timescale

    def _push_main(self, sample: Sample, keyframe: bool) -> list[Output]:
        main = self.main
        t = self._time(main, sample.dts)
        if self._last_time is not None and t > self._last_time:
            self._frame_s = min(t - self._last_time, self.part_s)
        if self._segment_start is None:
            if not keyframe:
                return []  # a segment starts on a keyframe
            self._segment_start = self._part_start = t
        else:
            if keyframe and self._last_key is not None:
                self._gop_s = t - self._last_key
            # Before any cut: the part's last sample lasts until this one, so parts join without a gap (a
            # gap makes MSE drop every frame up to the next keyframe).
            self._set_last_duration(main, sample.dts)
            self._cut_before(t, keyframe)
        if keyframe:
            self._last_key = t
        main.pending.append(sample)
        self._last_time = t
        return self._publish(t)

    def _cut_before(self, t: float, keyframe: bool) -> None:
        assert self._segment_start is not None
        elapsed = t - self._segment_start
        room = self.max_segment_s - elapsed
        tolerance = self._frame_s / 2
        cut_segment = (keyframe and (elapsed >= self.target_s - tolerance or room < self._gop_s)) or (
            room < self._frame_s * 1.5
        )
        if cut_segment:
            self._queue_cut(t, closes_segment=True)
            self._segment_start = self._part_start = t
        elif t - self._part_start + self._frame_s > self.part_s + 1e-9:
            self._queue_cut(t, closes_segment=False)
            self._part_start = t

    def _queue_cut(self, end: float, *, closes_segment: bool) -> None:
        if self.main.pending:
            self._cuts.append(_Cut(self.main.pending, self._part_start, end, closes_segment))
            self.main.pending = []

    def _set_last_duration(self, track: Track, next_dts: int) -> None:
        """The previous sample of the open part lasts until this one."""
        if track.pending:
            last = track.pending[-1]
            track.pending[-1] = Sample(last.data, last.dts, last.pts, max(next_dts - last.dts, 1), last.keyframe)

    def _publish(self, now: float, *, final: bool = False, idle: bool = False) -> list[Output]:
        """The cut parts whose audio has arrived up to their end (or that waited long enough for it)."""
        out: list[Output] = []
        while self._cuts:
            cut = self._cuts[0]
            audio_done = self.video is None or self.audio is None or self._audio_end >= cut.end - 1e-6
            waited = now - cut.end
            if not (final or audio_done or waited >= AUDIO_GIVE_UP_S or (idle and waited >= AUDIO_WAIT_S)):
                break
            self._cuts.popleft()
            out += self._close_part(cut, final=final and not self._cuts)
        return out

    def _close_part(self, cut: _Cut, *, final: bool) -> list[Output]:
        main = self.main
        runs = []
        if self.video is not None:
            runs.append(TrackRun(self.video.track_id, cut.samples))
            if self.audio is not None:
                audio: list[Sample] = []
                while self._audio_queue and (final or self._time(self.audio, self._audio_queue[0].dts) < cut.end):
                    audio.append(self._audio_queue.popleft())
                runs.append(TrackRun(self.audio.track_id, audio))
        else:
            runs.append(TrackRun(main.track_id, cut.samples))
        data = fragment(self._sequence, runs)
        self._sequence += 1
        duration = min(max(cut.end - cut.start, 0.001), self.part_s)
        part = PartReady(self.msn, len(self._parts), data, cut.start, duration, cut.samples[0].keyframe)
        self._parts.append(part)
        if not cut.closes_segment:
            return [part]
        parts, self._parts = self._parts, []
        segment = SegmentReady(self.msn, b"".join(p.data for p in parts), parts[0].start_s,
                               sum(p.duration_s for p in parts))  # fmt: skip
        self.msn += 1
        return [part, segment]
