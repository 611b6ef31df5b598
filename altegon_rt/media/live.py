"""Live streams to HLS: the registry the HLS socket writes to and the playback routes read from (trio side).

Each :class:`LiveStream` owns a directory ``<data dir>/hls/<streamId>/`` holding its source (every byte the
sender sent, from byte 0, in ``source.webm`` or ``source.mp4``: ``source.py``) and what its worker made of it
(init sections, parts, segments), and the :class:`~altegon_rt.media.playlist.MediaPlaylist` built from the
worker's events.

- Concurrency is bounded: at most ``hls.max_streams`` streams have a worker at a time; another
  ``startStream`` is refused.
- A worker that dies (a crash in the codec libraries) is replaced up to ``hls.max_restarts`` times: the new
  one re-reads the source from byte 0, skips what was already published, and the playlist gets an
  ``EXT-X-DISCONTINUITY`` and the new worker's ``EXT-X-MAP``. A worker that finds the stream itself broken
  (exit status 3) is not restarted: the stream ends and its sender is told why.
- Disk is bounded: the source may grow to ``hls.max_stream_bytes``; parts and segments leave the disk when
  they leave the playlist's window; an ended stream's files are removed ``hls.ended_retention_s`` after
  its end; what an earlier run of the server left is removed at start.
- A stream that receives nothing for ``hls.sender_timeout_s`` is ended.
"""

from __future__ import annotations

import logging
import shutil
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import trio

from altegon_rt.config import HlsSection
from altegon_rt.media import FATAL_EXIT
from altegon_rt.media.playlist import MediaPlaylist, PlaylistError
from altegon_rt.media.source import SourceFormat, parse_mime_type
from altegon_rt.media.workers import WorkerProcess

log = logging.getLogger(__name__)

END_GRACE_S = 15.0  # how long a worker may take to finish after endStream before it is killed


class StreamError(Exception):
    """A request about a stream that cannot be done; ``code`` and ``message`` go to the client."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(eq=False)
class LiveStream:
    id: str
    title: str
    mime_type: str
    source: SourceFormat
    owner_sid: str
    owner_user: str | None
    directory: Path
    playlist: MediaPlaylist
    last_data: float
    active: bool = True
    size: int = 0
    head: bytes = b""  # the stream's first bytes (up to 8), checked against the container's (source.py)
    ended_at: float | None = None
    end_reason: str = ""
    generation: int = 0
    restarts: int = 0
    media_end_s: float = -1.0  # end of the last published part on the media timeline
    wall_at_zero: float | None = None  # wall clock time of media time 0 (for EXT-X-PROGRAM-DATE-TIME)
    files: set[str] = field(default_factory=set)
    worker: WorkerProcess | None = None
    fatal: tuple[str, str] | None = None
    changed: trio.Event = field(default_factory=trio.Event)
    finished: trio.Event = field(default_factory=trio.Event)
    lock: trio.Lock = field(default_factory=trio.Lock)
    end_scope: trio.CancelScope = field(default_factory=trio.CancelScope)

    def notify(self) -> None:
        """Wake every request waiting for this stream to change (blocking playlist reload, hinted parts)."""
        self.changed.set()
        self.changed = trio.Event()

    def info(self) -> dict[str, Any]:
        return {"streamId": self.id, "title": self.title, "active": self.active}

    def owned_by(self, sid: str, user_id: str | None) -> bool:
        """The connection that started it, or the same signed-in user on another connection."""
        return sid == self.owner_sid or (self.owner_user is not None and user_id == self.owner_user)


def _remove(directory: Path, names: list[str]) -> None:
    for name in names:
        (directory / name).unlink(missing_ok=True)


def _append(path: Path, data: bytes) -> None:
    with path.open("ab") as fh:
        fh.write(data)


class LiveStreams:
    """Every live stream of this process; see the module docstring."""

    def __init__(self, config: HlsSection, root: Path) -> None:
        self.config = config
        self.root = root
        self.streams: dict[str, LiveStream] = {}
        self.on_error: Callable[[LiveStream, str, str], None] = lambda s, c, m: None
        self.on_ended: Callable[[LiveStream], None] = lambda s: None
        self._nursery: trio.Nursery | None = None
        self._removing: dict[str, trio.Event] = {}  # stream ids whose files the watchdog is removing
        target = self.config.target_duration_s
        self.target_duration = max(1, round(target + 0.4999))  # the declared EXT-X-TARGETDURATION

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        await trio.to_thread.run_sync(self._clear_root)
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            nursery.start_soon(self._watchdog)
            task_status.started()

    def _clear_root(self) -> None:
        if self.root.exists():
            shutil.rmtree(self.root, ignore_errors=True)
        self.root.mkdir(parents=True, exist_ok=True)

    # -- what the socket does -----------------------------------------------------------------------------------
    def get(self, stream_id: str) -> LiveStream | None:
        return self.streams.get(stream_id)

    def list(self) -> list[dict[str, Any]]:
        return [s.info() for s in self.streams.values()]

    async def start(self, title: str, mime_type: str, owner_sid: str, owner_user: str | None,
                    stream_id: str | None = None) -> LiveStream:  # fmt: skip
        """A new stream; ``stream_id`` reuses an id (a RealtimeKit livestream's, whose playback URL stays the
        same from one publish to the next): the ended stream of that id, kept for its viewers, is replaced."""
        busy = sum(1 for s in self.streams.values() if s.active or not s.finished.is_set())
        if busy >= self.config.max_streams:
            raise StreamError("too_many_streams", f"this server runs {self.config.max_streams} live streams already")
        if self._nursery is None:
            raise StreamError("unavailable", "live streaming is not running")
        try:
            source = parse_mime_type(mime_type)
        except ValueError as exc:
            raise StreamError("unsupported_mime_type", str(exc)) from None
        old = self.streams.get(stream_id) if stream_id else None
        if old is not None and (old.active or not old.finished.is_set()):
            raise StreamError("stream_busy", f"stream {stream_id} is still running")
        stream_id = stream_id or str(uuid.uuid4())
        directory = self.root / stream_id
        path = directory / source.file_name

        def make() -> None:
            shutil.rmtree(directory, ignore_errors=True)
            directory.mkdir(parents=True)
            path.touch()

        removing = self._removing.get(stream_id)
        if removing is not None:  # the watchdog is removing the old one's files
            await removing.wait()
        self.streams.pop(stream_id, None)
        await trio.to_thread.run_sync(make)
        playlist = MediaPlaylist(target_duration=self.target_duration, window=self.config.window_segments,
                                 part_target=self.config.part_duration_s, map_uri="init0.mp4")  # fmt: skip
        stream = LiveStream(stream_id, title, mime_type, source, owner_sid, owner_user, directory, playlist,
                            last_data=trio.current_time())  # fmt: skip
        self.streams[stream_id] = stream
        self._nursery.start_soon(self._supervise, stream)
        log.info("hls stream %s started (%s)", stream_id, mime_type)
        return stream

    async def append(self, stream: LiveStream, data: bytes) -> None:
        """Store a chunk of the sender's WebM or MP4 and hand it to the worker."""
        async with stream.lock:
            if not stream.active:
                raise StreamError("stream_ended", f"stream {stream.id} has ended")
            if stream.size + len(data) > self.config.max_stream_bytes:
                await self.end(stream, "too large")
                raise StreamError("stream_too_large", f"a stream may send at most {self.config.max_stream_bytes} "
                                  "bytes; it has been ended")  # fmt: skip
            source = stream.source
            if stream.size < len(source.head):  # MediaRecorder's first chunk may be a single byte
                head = (stream.head + data)[: len(source.head)]
                if not source.accepts_head(head):
                    raise StreamError("invalid_media", f"a stream must start with {source.head_description}, as "
                                      "MediaRecorder's first chunk does")  # fmt: skip
                stream.head = head
            await trio.to_thread.run_sync(_append, stream.directory / source.file_name, data)
            stream.size += len(data)
            stream.last_data = trio.current_time()
            if stream.worker is not None:
                await stream.worker.grow(stream.size)

    async def end(self, stream: LiveStream, reason: str) -> None:
        """Stop taking chunks; the worker finishes the last segment and the playlist gets ``EXT-X-ENDLIST``."""
        if not stream.active:
            return
        stream.active = False
        stream.end_reason = reason
        stream.ended_at = trio.current_time()
        stream.end_scope.deadline = trio.current_time() + END_GRACE_S
        log.info("hls stream %s ended: %s", stream.id, reason)
        if stream.worker is not None:
            await stream.worker.end()
        self.on_ended(stream)

    # -- the worker ---------------------------------------------------------------------------------------------
    def _worker_settings(self, stream: LiveStream) -> dict[str, Any]:
        c = self.config
        return {"dir": str(stream.directory), "source": str(stream.directory / stream.source.file_name),
                "format": stream.source.demuxer,
                "target_s": c.target_duration_s, "max_segment_s": self.target_duration + 0.49,
                "part_s": c.part_duration_s, "x264_preset": c.x264_preset, "first_msn": stream.playlist.next_msn,
                "generation": stream.generation, "resume_after_s": stream.media_end_s}  # fmt: skip

    async def _supervise(self, stream: LiveStream) -> None:
        try:
            with stream.end_scope:
                while await self._run_worker(stream):
                    await self._restart(stream)
        finally:
            if stream.worker is not None:
                stream.worker.kill()
                stream.worker = None
            if stream.active:
                with trio.CancelScope(shield=True):
                    await self.end(stream, stream.end_reason or "worker stopped")
            stream.playlist.end()
            with trio.CancelScope(shield=True):
                await trio.to_thread.run_sync(_remove, stream.directory, stream.playlist.take_removed())
            stream.finished.set()
            stream.notify()

    async def _run_worker(self, stream: LiveStream) -> bool:
        """Run one worker to its end; whether another should replace it."""
        worker = await WorkerProcess.start(self._worker_settings(stream))
        stream.worker = worker
        try:
            if stream.size:
                await worker.grow(stream.size)
            if not stream.active:
                await worker.end()
            await worker.read_events(lambda event: self._handle(stream, event))
            status = await worker.wait()
        finally:
            worker.kill()
            stream.worker = None
        if status == 0:
            return False
        if status == FATAL_EXIT or stream.fatal is not None:
            code, message = stream.fatal or ("invalid_media", "the stream cannot be processed")
            self.on_error(stream, code, message)
            stream.end_reason = f"{code}: {message}"
            return False
        if stream.restarts >= self.config.max_restarts:
            self.on_error(stream, "worker_failed", f"the stream's media worker failed {stream.restarts + 1} times")
            stream.end_reason = "worker failed"
            return False
        log.warning("hls stream %s: worker exited with status %s; restarting it", stream.id, status)
        return True

    async def _restart(self, stream: LiveStream) -> None:
        """Close the unfinished segment with the parts it has, then start the next generation after a break."""
        playlist = stream.playlist
        if playlist.open.parts:
            names = [p.uri for p in playlist.open.parts]
            uri = f"{playlist.next_msn}.m4s"
            await trio.to_thread.run_sync(_concatenate, stream.directory, names, uri)
            playlist.add_segment(uri, sum(p.duration for p in playlist.open.parts))
            stream.files.add(uri)
            removed = playlist.take_removed()
            stream.files.difference_update(removed)
            await trio.to_thread.run_sync(_remove, stream.directory, removed)
        stream.restarts += 1
        stream.generation += 1
        playlist.discontinuity()
        playlist.set_map(f"init{stream.generation}.mp4")
        stream.notify()

    async def _handle(self, stream: LiveStream, event: dict[str, Any]) -> None:
        kind = event.get("type")
        playlist = stream.playlist
        try:
            if kind == "part":
                if stream.wall_at_zero is None:
                    stream.wall_at_zero = time.time() - float(event["start"])
                playlist.add_part(event["uri"], float(event["duration"]), independent=bool(event["independent"]),
                                  program_date_time=stream.wall_at_zero + float(event["start"]))  # fmt: skip
                playlist.hint(f"{event['msn']}.{int(event['index']) + 1}.m4s")
                stream.media_end_s = float(event["start"]) + float(event["duration"])
                stream.files.add(event["uri"])
            elif kind == "segment":
                playlist.add_segment(event["uri"], float(event["duration"]))
                playlist.hint(f"{int(event['msn']) + 1}.0.m4s")
                stream.files.add(event["uri"])
                removed = playlist.take_removed()
                stream.files.difference_update(removed)
                await trio.to_thread.run_sync(_remove, stream.directory, removed)
            elif kind == "init":
                stream.files.add(event["uri"])
            elif kind == "error":
                self.on_error(stream, str(event.get("code")), str(event.get("message")))
            elif kind == "fatal":
                stream.fatal = (str(event.get("code")), str(event.get("message")))
        except (PlaylistError, KeyError, TypeError, ValueError) as exc:
            log.error("hls stream %s: worker event %r refused: %s", stream.id, event, exc)
            stream.fatal = ("internal_error", "the stream's segments could not be published")
            if stream.worker is not None:
                stream.worker.kill()
        stream.notify()

    # -- timeouts and retention ---------------------------------------------------------------------------------
    async def _watchdog(self) -> None:
        while True:
            await trio.sleep(min(1.0, self.config.sender_timeout_s / 4))
            now = trio.current_time()
            for stream in list(self.streams.values()):
                if stream.active and now - stream.last_data > self.config.sender_timeout_s:
                    message = f"no chunk for {self.config.sender_timeout_s:g} s: the stream has been ended"
                    self.on_error(stream, "sender_timeout", message)
                    await self.end(stream, "sender timeout")
                elif (
                    not stream.active
                    and stream.finished.is_set()
                    and stream.ended_at is not None
                    and now - stream.ended_at >= self.config.ended_retention_s
                    and self.streams.get(stream.id) is stream
                ):  # not replaced by a new one of its id
                    self.streams.pop(stream.id, None)
                    removing = self._removing[stream.id] = trio.Event()
                    try:
                        await trio.to_thread.run_sync(lambda d=stream.directory: shutil.rmtree(d, ignore_errors=True))
                    finally:
                        del self._removing[stream.id]
                        removing.set()
                    log.info("hls stream %s: files removed after retention", stream.id)


def _concatenate(directory: Path, names: list[str], target: str) -> None:
    data = b"".join((directory / name).read_bytes() for name in names if (directory / name).exists())
    temporary = directory / f".{target}.tmp"
    temporary.write_bytes(data)
    temporary.replace(directory / target)
