"""The composing worker: a recording's tracks joined into one MP4 (H.264 + AAC, ``movflags=+faststart``).

Run as its own process, ``python -m altegon_rt.media.compose``, by the recording server socket
(``realtime/recording_jobs.py``): it reads one :class:`~altegon_rt.media.recording.ComposeJob` as JSON on
stdin and writes reports as JSON lines on stdout: ``started`` {width, height, durationMs, tracks},
``progress`` {percent}, ``warning`` {videoId, message}, then ``done`` {durationMs, size} or ``error``
{code, message, videoId?}; exit status 0 only after ``done``. A codec that crashes takes this process down,
never the server.

Two layouts (the job's ``layout``). ``grid`` (RealtimeKit meetings: simultaneous peers tiled, their audio mixed)
is ``grid.py``. ``concat``, the recording server socket's "scale + concat" (Live Streaming document), is here:
the tracks play one after the other in the job's order. Every
frame goes through a libavfilter graph (``scale`` keeping the aspect ratio, ``pad`` to the common size with
black bars centred, ``setsar=1``, ``format=yuv420p``), rebuilt when a track's frame size changes. Time is
continuous: each track starts where the previous one ended (its length is the later end of its video and
audio); audio is resampled to 48 kHz stereo and padded with silence wherever a track has none (before its
first sample, in gaps, or no audio at all), so picture and sound stay together across the joins. A track
with no video shows black. A track that cannot be opened is an error (``corrupt_track``); one whose tail is
damaged (a crash cut it) is used up to the damage, with a ``warning``.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import av
from av.audio.fifo import AudioFifo
from av.filter import Graph

from altegon_rt.media.recording import ComposeJob

MS = Fraction(1, 1000)
RATE = 48_000
SAMPLES_PER_MS = RATE // 1000
AAC_FRAME = 1024
MAX_DECODE_ERRORS = 50
FALLBACK_SIZE = (640, 360)  # when no track has video

Report = Callable[[dict[str, Any]], None]


class ComposeError(Exception):
    """A job that cannot be done; ``code`` is what the requester's ``recording:error`` carries."""

    def __init__(self, code: str, message: str, video_id: str | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.video_id = code, message, video_id


@dataclass(frozen=True, slots=True)
class TrackInfo:
    video_id: str
    path: str
    width: int  # 0 without video
    height: int
    start_ms: int
    end_ms: int
    video_end_ms: int = 0  # the end of its video (0 without)

    @property
    def duration_ms(self) -> int:
        return self.end_ms - self.start_ms


def _ms(ts: int, time_base: Fraction) -> int:
    return int(ts * time_base * 1000)


def probe(video_id: str, path: str) -> TrackInfo:
    """Size and time span of a track, from its header and a demux pass (no decoding): MediaRecorder's WebM has
    no duration in its header. A damaged tail ends the pass where the damage starts."""
    try:
        container = av.open(path, options={"probesize": "5000000"})
    except (av.error.FFmpegError, OSError) as exc:
        raise ComposeError("corrupt_track", f"track {video_id!r} is not readable media: {exc}", video_id) from None
    with container:
        streams = [s for s in (*container.streams.video[:1], *container.streams.audio[:1])]
        if not streams:
            raise ComposeError("corrupt_track", f"track {video_id!r} has neither video nor audio", video_id)
        video = container.streams.video[0] if container.streams.video else None
        start, end, video_end = None, None, 0
        try:
            for packet in container.demux(*streams):
                if packet.pts is None or packet.time_base is None:
                    continue
                t0 = _ms(packet.pts, packet.time_base)
                t1 = t0 + _ms(packet.duration or 0, packet.time_base)
                start = t0 if start is None else min(start, t0)
                end = t1 if end is None else max(end, t1)
                if video is not None and packet.stream.index == video.index:
                    video_end = max(video_end, t1)
        except av.error.FFmpegError:
            pass  # the part before the damage is what the track has
        if start is None or end is None:
            return TrackInfo(video_id, path, 0, 0, 0, 0)
        width, height = (video.codec_context.width, video.codec_context.height) if video else (0, 0)
        return TrackInfo(video_id, path, width or 0, height or 0, start, max(end, start + 1), video_end)


def even(n: int) -> int:
    return max(16, n - n % 2)


def target_size(infos: list[TrackInfo], job: ComposeJob) -> tuple[int, int]:
    """The configured size, else the largest track's (by area); fitted into the maximum, even numbers."""
    if job.width and job.height:
        width, height = job.width, job.height
    else:
        sized = [i for i in infos if i.width and i.height]
        biggest = max(sized, key=lambda i: i.width * i.height, default=None)
        width, height = (biggest.width, biggest.height) if biggest else FALLBACK_SIZE
    scale = min(1.0, job.max_width / width, job.max_height / height)
    return even(int(width * scale)), even(int(height * scale))


class Scaler:
    """Frames of any size and format → the common size, aspect ratio kept with centred black bars, yuv420p."""

    def __init__(self, width: int, height: int) -> None:
        self.width, self.height = width, height
        self._key: tuple[int, int, str] | None = None
        self._graph: Graph | None = None

    def _build(self, frame: av.VideoFrame) -> Graph:
        w, h = self.width, self.height
        graph = Graph()
        nodes = [
            graph.add_buffer(width=frame.width, height=frame.height, format=frame.format.name, time_base=MS),
            graph.add("scale", f"{w}:{h}:force_original_aspect_ratio=decrease:force_divisible_by=2"),
            graph.add("pad", f"{w}:{h}:(ow-iw)/2:(oh-ih)/2:color=black"),
            graph.add("setsar", "1"),
            graph.add("format", "yuv420p"),
            graph.add("buffersink"),
        ]
        graph.link_nodes(*nodes).configure()
        return graph

    def scale(self, frame: av.VideoFrame, pts_ms: int) -> av.VideoFrame:
        key = (frame.width, frame.height, frame.format.name)
        if key != self._key or self._graph is None:
            self._graph, self._key = self._build(frame), key
        frame.pts, frame.time_base = pts_ms, MS
        self._graph.push(frame)
        out = self._graph.pull()
        assert isinstance(out, av.VideoFrame)
        return out


class Output:
    """The MP4 being written: one H.264 and one AAC encoder, audio counted in samples from 0."""

    def __init__(self, job: ComposeJob, width: int, height: int) -> None:
        self.width, self.height = width, height
        self.container = av.open(job.output, "w", format="mp4", options={"movflags": "+faststart"})
        video = self.container.add_stream("libx264", rate=job.fps, options={"preset": job.preset, "crf": str(job.crf)})
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        video.codec_context.time_base = MS
        video.codec_context.thread_count = job.threads
        audio = self.container.add_stream("aac", rate=RATE)
        audio.codec_context.layout = "stereo"
        audio.codec_context.bit_rate = job.audio_bitrate
        self.video, self.audio = video, audio
        self.fifo = AudioFifo()
        self.audio_written = 0  # samples given to the FIFO: where the next sample sits on the timeline
        self.audio_encoded = 0
        self.last_video_pts = -1

    def add_video(self, frame: av.VideoFrame, pts_ms: int) -> None:
        frame.pts, frame.time_base = max(pts_ms, self.last_video_pts + 1), MS
        self.last_video_pts = frame.pts
        for packet in self.video.encode(frame):
            self.container.mux(packet)

    def black(self, pts_ms: int) -> None:
        frame = av.VideoFrame(self.width, self.height, "yuv420p")
        for plane, value in zip(frame.planes, (16, 128, 128), strict=True):
            plane.update(bytes([value]) * plane.buffer_size)
        self.add_video(frame, pts_ms)

    def add_audio(self, frame: av.AudioFrame) -> None:
        frame.pts = None  # the FIFO counts samples itself
        self.fifo.write(frame)
        self.audio_written += frame.samples
        self._encode_audio(AAC_FRAME)

    def silence_to(self, sample: int) -> None:
        """Pad with silence until the timeline reaches ``sample`` (nothing if it is there already)."""
        while (missing := sample - self.audio_written) > 0:
            frame = av.AudioFrame(format="fltp", layout="stereo", samples=min(missing, 4 * AAC_FRAME))
            for plane in frame.planes:
                plane.update(bytes(plane.buffer_size))
            frame.sample_rate = RATE
            self.add_audio(frame)

    def _encode_audio(self, size: int) -> None:
        while self.fifo.samples and self.fifo.samples >= size:
            frame = self.fifo.read(size or min(self.fifo.samples, AAC_FRAME))
            assert frame is not None
            frame.pts, frame.time_base = self.audio_encoded, Fraction(1, RATE)
            self.audio_encoded += frame.samples
            for packet in self.audio.encode(frame):
                self.container.mux(packet)

    def finish(self, total_ms: int) -> None:
        self.silence_to(total_ms * SAMPLES_PER_MS)
        self._encode_audio(0)
        for stream in (self.video, self.audio):
            for packet in stream.encode(None):
                self.container.mux(packet)
        self.container.close()

    def abort(self) -> None:
        with contextlib.suppress(av.error.FFmpegError):
            self.container.close()


class Progress:
    """``progress`` reports: whole percents of the media time written, each once, never 100 before ``done``."""

    def __init__(self, total_ms: int, report: Report) -> None:
        self.total_ms, self.report, self.last = max(total_ms, 1), report, -1

    def at(self, ms: int) -> None:
        percent = min(99, ms * 100 // self.total_ms)
        if percent > self.last:
            self.last = percent
            self.report({"event": "progress", "percent": percent})


def decoded(container: Any, streams: list[Any], info: TrackInfo, report: Report) -> Iterator[av.frame.Frame]:
    """Every frame of ``streams`` in demux order (the demuxer's last, empty packets flush the decoders); damaged
    packets are skipped, a damaged tail ends the track."""
    errors = 0
    try:
        for packet in container.demux(*streams):
            try:
                yield from packet.decode()
            except av.error.FFmpegError:
                errors += 1
                if errors > MAX_DECODE_ERRORS:
                    report({"event": "warning", "videoId": info.video_id, "message": "too many damaged packets; "
                            "the rest of the track is left out"})  # fmt: skip
                    return
    except av.error.FFmpegError as exc:
        report({"event": "warning", "videoId": info.video_id, "message": f"track ends early: {exc}"})


def feed_track(info: TrackInfo, offset_ms: int, out: Output, progress: Progress, report: Report) -> None:
    """Decode one track and write it at ``offset_ms`` of the output's timeline."""
    end_ms = offset_ms + info.duration_ms
    with av.open(info.path) as container:
        streams = [*container.streams.video[:1], *container.streams.audio[:1]]
        for stream in streams:
            stream.codec_context.thread_count = 1
        if not container.streams.video:
            out.black(offset_ms)
        scaler = Scaler(out.width, out.height)
        resampler = av.AudioResampler(format="fltp", layout="stereo", rate=RATE)
        for frame in decoded(container, streams, info, report):
            if frame.pts is None or frame.time_base is None:
                continue
            at_ms = offset_ms + _ms(frame.pts, frame.time_base) - info.start_ms
            if not offset_ms <= at_ms < end_ms:
                continue  # before the track's first packet or after its (probed) end
            if isinstance(frame, av.VideoFrame):
                out.add_video(scaler.scale(frame, at_ms), at_ms)
                progress.at(at_ms)
            elif isinstance(frame, av.AudioFrame):
                out.silence_to(at_ms * SAMPLES_PER_MS)
                for resampled in resampler.resample(frame):
                    out.add_audio(resampled)
        for resampled in resampler.resample(None):
            out.add_audio(resampled)
    out.silence_to(end_ms * SAMPLES_PER_MS)


def compose(job: ComposeJob, report: Report) -> dict[str, Any]:
    """Do the job; the ``done`` report's fields. Raises :class:`ComposeError` for a job that cannot be done."""
    if job.layout == "grid":
        from altegon_rt.media.grid import compose_grid  # grid.py builds on this module's pieces

        return compose_grid(job, report)
    infos = []
    for video_id, path in job.tracks:
        info = probe(video_id, path)
        if info.duration_ms > 0:
            infos.append(info)
        else:
            report({"event": "warning", "videoId": video_id, "message": "the track has no media; left out"})
    if not infos:
        raise ComposeError("empty_recording", "the recording's tracks hold no media")
    width, height = target_size(infos, job)
    total_ms = sum(i.duration_ms for i in infos)
    tracks = [{"videoId": i.video_id, "width": i.width, "height": i.height, "durationMs": i.duration_ms} for i in infos]
    report({"event": "started", "width": width, "height": height, "durationMs": total_ms, "tracks": tracks})
    out, progress, offset = Output(job, width, height), Progress(total_ms, report), 0
    try:
        for info in infos:
            feed_track(info, offset, out, progress, report)
            offset += info.duration_ms
        out.finish(total_ms)
    except BaseException:
        out.abort()
        raise
    return {"durationMs": total_ms, "size": os.path.getsize(job.output), "width": width, "height": height}


def _emit(report: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(report) + "\n")
    sys.stdout.flush()


def main() -> int:
    try:
        job = ComposeJob.from_json(sys.stdin.buffer.read(4 * 1024 * 1024))
    except (ValueError, TypeError, KeyError) as exc:
        _emit({"event": "error", "code": "bad_job", "message": f"the job is not valid: {exc}"})
        return 2
    with contextlib.suppress(OSError):
        os.nice(10)  # the server's event loop shares these cores: it comes first
    try:
        done = compose(job, _emit)
    except ComposeError as exc:
        _emit({"event": "error", "code": exc.code, "message": exc.message, "videoId": exc.video_id})
        return 1
    except (av.error.FFmpegError, OSError, ValueError) as exc:
        _emit({"event": "error", "code": "processing_failed", "message": f"composing failed: {exc}"})
        return 1
    _emit({"event": "done", **done})
    return 0


if __name__ == "__main__":
    sys.exit(main())
