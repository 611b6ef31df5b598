"""The recording server socket (``/recording/socket.io/``): tracks written to disk as they arrive, then composed.

Every connection is signed in (a JWT or API key; ``realtime/sockets.py``). Events (Live Streaming document,
"Recording Server Socket"; acks ``{success, data}`` or ``{success:false, error:{code, message}}``):

- ``create-file`` {roomId, recordingId, videoId}: open a track of a recording made by ``POST /recording/start``
  that the caller owns (an admin: anyone's), in its room. The track's file is
  ``<data dir>/recordings/<recordingId>/<videoId>.webm`` (``media/recording.py``); a videoId created before
  (also before a restart) is appended to. Ack data: {recordingId, videoId, size}.
- ``stream`` {data: binary chunk, videoId}: append a chunk to a track this connection created, in arrival
  order, off the event loop. Ack data: {videoId, size}. A new track's first chunk must start a WebM (EBML)
  header; a chunk that starts one on a track that has bytes begins a new file of that videoId (a new
  MediaRecorder), concatenated after it.
- ``stop-writing`` videoId (or {videoId}): fsync and close the track. Ack data: {videoId, size}.
- ``process-recording`` {roomId, recordingId}: compose every track into one MP4 in the background
  (``realtime/recording_jobs.py``); acked at once with {recordingId, status: "processing"}, then
  ``recording:progress``, ``recording:done`` or ``recording:error`` to the requester.

A connection that goes away closes its tracks (fsynced); what was written stays and can still be processed.
"""

from __future__ import annotations

import contextlib
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import trio

from altegon_rt.auth.principal import Principal
from altegon_rt.config import RecordingSection
from altegon_rt.files.quota import storage_limit
from altegon_rt.media.recording import (
    EBML_MAGIC,
    FsyncPolicy,
    TrackEntry,
    TrackFile,
    add_to_manifest,
    folder_size,
    next_file_name,
    read_manifest,
    recording_folder,
)
from altegon_rt.realtime.payloads import payload_object, required_text
from altegon_rt.realtime.recording_jobs import ComposeJobs, JobRequest, track_paths
from altegon_rt.sio.server import SocketError, SocketServer
from altegon_rt.sio.socket import Socket
from altegon_rt.store import Store

log = logging.getLogger(__name__)

MAX_ID = 128
MAX_OPEN_PER_CONNECTION = 16


@dataclass(eq=False, slots=True)
class Track:
    """A track open on one connection: its current file and the lock that orders writes, syncs and close."""

    video_id: str
    sid: str
    file: TrackFile
    fresh: bool = True  # no chunk yet since create-file
    lock: trio.Lock = field(default_factory=trio.Lock)


@dataclass(eq=False, slots=True)
class OpenRecording:
    """A recording with open tracks: its folder, bytes on disk (all its files), and tracks by videoId."""

    recording_id: str
    folder: Path
    total_bytes: int
    tracks: dict[str, Track] = field(default_factory=dict)
    manifest_lock: trio.Lock = field(default_factory=trio.Lock)


class RecordingSocket:
    def __init__(self, server: SocketServer, store: Store, jobs: ComposeJobs, config: RecordingSection,
                 root: Path) -> None:  # fmt: skip
        self.server, self.store, self.jobs, self.config, self.root = server, store, jobs, config, root
        self._open: dict[str, OpenRecording] = {}
        self._io = trio.CapacityLimiter(config.io_threads)
        on = server.on
        on("connect")(self.connected)
        on("create-file")(self.create_file)
        on("stream")(self.stream)
        on("stop-writing")(self.stop_writing)
        on("process-recording")(self.process_recording)
        on("disconnect")(self.disconnected)

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Compose jobs, and fsync tracks that went quiet with unsynced bytes (the policy's time bound)."""
        async with trio.open_nursery() as nursery:
            await nursery.start(self.jobs.run)
            task_status.started()
            while True:
                await trio.sleep(self.config.fsync_interval_s / 2)
                now = time.monotonic()
                for recording in list(self._open.values()):
                    for track in list(recording.tracks.values()):
                        if track.file.policy.due(now):
                            with contextlib.suppress(SocketError):  # logged; the next append reports it
                                await self._io_call(track, track.file.sync_if_due)

    async def connected(self, sock: Socket, auth: dict[str, Any]) -> None:
        principal: Principal = sock.principal
        sock.join(f"user:{principal.user_id}")  # where recording:progress/done/error of their jobs go

    # -- helpers ------------------------------------------------------------------------------------------------
    async def _recording(self, sock: Socket, body: dict[str, Any]) -> dict[str, Any]:
        """The recording named by recordingId/roomId, if the caller may use it; else a clear error."""
        recording_id = required_text(body, "recordingId", max_length=MAX_ID)
        room_id = required_text(body, "roomId", max_length=MAX_ID)
        recording = await self.store.recordings.by_recording_id(recording_id)
        principal: Principal = sock.principal
        # Another user's recording is "not found", as on the REST routes.
        if recording is None or not principal.may_act_for(recording["ownerId"]):
            raise SocketError("not_found", "recording not found (start it with POST /recording/start)")
        if recording["roomId"] != room_id:
            raise SocketError("room_mismatch", "roomId is not the recording's room")
        return recording

    def _tracks(self, sock: Socket) -> dict[str, Track]:
        tracks: dict[str, Track] = sock.session.setdefault("tracks", {})
        return tracks

    async def _io_call(self, track: Track, fn: Any, *args: Any) -> Any:
        async with track.lock:
            try:
                return await trio.to_thread.run_sync(fn, *args, limiter=self._io)
            except OSError as exc:
                log.warning("recording track %r: %s", track.video_id, exc)
                raise SocketError("write_failed", f"the server could not write the track: {exc.strerror}") from None

    def _policy(self) -> FsyncPolicy:
        return FsyncPolicy(self.config.fsync_interval_s, self.config.fsync_bytes)

    async def _open_recording(self, recording_id: str) -> OpenRecording:
        current = self._open.get(recording_id)
        if current is not None:
            return current
        folder = recording_folder(self.root, recording_id)
        total = await trio.to_thread.run_sync(folder_size, folder, limiter=self._io)
        return self._open.setdefault(recording_id, OpenRecording(recording_id, folder, total))

    def _release(self, recording: OpenRecording) -> None:
        if not recording.tracks and self._open.get(recording.recording_id) is recording:
            del self._open[recording.recording_id]

    async def _add_file(self, recording: OpenRecording, video_id: str, *, new: bool) -> str:
        """The file a track writes to: its videoId's latest, or (``new``, or none yet) a new one in the list."""
        async with recording.manifest_lock:
            entries = await trio.to_thread.run_sync(read_manifest, recording.folder, limiter=self._io)
            mine = [e for e in entries if e.video_id == video_id]
            if mine and not new:
                return mine[-1].file
            if len(entries) >= self.config.max_tracks:
                raise SocketError("too_many_tracks", f"a recording has at most {self.config.max_tracks} track files")
            entry = TrackEntry(video_id, next_file_name(entries, video_id), time.time())
            await trio.to_thread.run_sync(add_to_manifest, recording.folder, entry, limiter=self._io)
            return entry.file

    # -- events -------------------------------------------------------------------------------------------------
    async def create_file(self, sock: Socket, payload: Any = None) -> dict[str, Any]:
        body = payload_object(payload)
        video_id = required_text(body, "videoId", max_length=MAX_ID)
        recording = await self._recording(sock, body)
        recording_id = recording["recordingId"]
        if recording_id in self.jobs.active:
            raise SocketError("processing", "the recording is being processed; wait for recording:done")
        mine = self._tracks(sock)
        if video_id in mine:
            return {"success": True, "data": {"recordingId": recording_id, "videoId": video_id,
                                              "size": mine[video_id].file.size}}  # fmt: skip
        if len(mine) >= MAX_OPEN_PER_CONNECTION:
            raise SocketError("too_many_open", f"a connection may have {MAX_OPEN_PER_CONNECTION} tracks open")
        opened = await self._open_recording(recording_id)
        if video_id in opened.tracks:
            raise SocketError("track_busy", "another connection is writing this videoId")
        track = Track(video_id, sock.sid, TrackFile(opened.folder / "pending", self._policy()))
        opened.tracks[video_id] = track  # claimed before the awaits below, so a second create-file cannot race
        try:
            name = await self._add_file(opened, video_id, new=False)
            track.file = TrackFile(opened.folder / name, self._policy())
            size = await self._io_call(track, track.file.open)
        except BaseException:
            del opened.tracks[video_id]
            self._release(opened)
            raise
        mine[video_id] = track
        sock.session.setdefault("recording_of", {})[video_id] = recording_id
        return {"success": True, "data": {"recordingId": recording_id, "videoId": video_id, "size": size}}

    async def stream(self, sock: Socket, payload: Any = None) -> dict[str, Any]:
        body = payload_object(payload)
        video_id = required_text(body, "videoId", max_length=MAX_ID)
        data = body.get("data")
        if not isinstance(data, bytes | bytearray):
            raise SocketError("invalid_field", "field 'data' must be a binary chunk (ArrayBuffer, Blob or Buffer)")
        if not data:
            raise SocketError("invalid_field", "field 'data' is empty")
        track = self._tracks(sock).get(video_id)
        if track is None:
            raise SocketError("unknown_video", "no file is open for this videoId on this connection: send create-file")
        recording = self._open[sock.session["recording_of"][video_id]]
        if track.fresh:
            await self._first_chunk(recording, track, bytes(data[:4]))
        if track.file.size + len(data) > self.config.max_track_bytes:
            raise SocketError("track_too_large", f"a track file may hold {self.config.max_track_bytes} bytes")
        if recording.total_bytes + len(data) > self.config.max_recording_bytes:
            raise SocketError("recording_too_large", f"a recording may hold {self.config.max_recording_bytes} bytes")
        recording.total_bytes += len(data)  # reserved before the write, so concurrent tracks cannot overshoot
        try:
            size = await self._io_call(track, track.file.append, bytes(data))
        except BaseException:
            recording.total_bytes -= len(data)
            raise
        return {"success": True, "data": {"videoId": video_id, "size": size}}

    async def _first_chunk(self, recording: OpenRecording, track: Track, head: bytes) -> None:
        """A track's first chunk since create-file: a new file must start with a WebM header, and a header on a
        file that has bytes starts the videoId's next file (a new MediaRecorder)."""
        starts_header = head == EBML_MAGIC
        if track.file.size == 0 and not starts_header:
            raise SocketError("invalid_media", "a track's first chunk must start a WebM stream (EBML header)")
        if track.file.size and starts_header:
            name = await self._add_file(recording, track.video_id, new=True)
            await self._io_call(track, track.file.close)
            track.file = TrackFile(recording.folder / name, self._policy())
            await self._io_call(track, track.file.open)
        track.fresh = False

    async def stop_writing(self, sock: Socket, payload: Any = None) -> dict[str, Any]:
        body = {"videoId": payload} if isinstance(payload, str | int) and not isinstance(payload, bool) else payload
        video_id = required_text(payload_object(body), "videoId", max_length=MAX_ID)
        track = self._tracks(sock).get(video_id)
        if track is None:
            raise SocketError("unknown_video", "no file is open for this videoId on this connection")
        size = await self._close(sock, track)
        return {"success": True, "data": {"videoId": video_id, "size": size}}

    async def _close(self, sock: Socket, track: Track) -> int:
        self._tracks(sock).pop(track.video_id, None)
        recording = self._open.get(sock.session["recording_of"].pop(track.video_id))
        try:
            await self._io_call(track, track.file.close)
        finally:
            if recording is not None and recording.tracks.get(track.video_id) is track:
                del recording.tracks[track.video_id]
                self._release(recording)
        return track.file.size

    async def disconnected(self, sock: Socket, reason: str) -> None:
        for track in list(self._tracks(sock).values()):
            try:
                await self._close(sock, track)
            except SocketError as exc:
                log.warning("closing track %r: %s", track.video_id, exc.message)

    async def process_recording(self, sock: Socket, payload: Any = None) -> dict[str, Any]:
        recording = await self._recording(sock, payload_object(payload))
        rid = recording["recordingId"]
        self.jobs.claim(rid)
        try:
            opened = self._open.get(rid)
            if opened is not None and opened.tracks:
                names = ", ".join(sorted(opened.tracks))
                raise SocketError("still_writing", f"tracks still open: {names}; send stop-writing for each first")
            folder = recording_folder(self.root, rid)
            entries = await trio.to_thread.run_sync(read_manifest, folder, limiter=self._io)
            files = [(e.video_id, e.file) for e in entries]
            tracks = await trio.to_thread.run_sync(track_paths, folder, files, limiter=self._io)
            if not tracks:
                raise SocketError("no_tracks", "the recording has no track with data: create-file and stream first")
            await self._check_quota(recording["ownerId"])
            principal: Principal = sock.principal
            self.jobs.submit(JobRequest(rid, recording["ownerId"], recording["roomId"], folder, tracks,
                                        principal.user_id))  # fmt: skip
        except BaseException:
            self.jobs.active.discard(rid)
            raise
        return {"success": True, "data": {"recordingId": rid, "status": "processing"}}

    async def _check_quota(self, owner_id: str) -> None:
        usage, _ = await self.store.blobs.usage(owner_id)
        if usage >= await storage_limit(self.store, self.jobs.quota, owner_id):
            raise SocketError("storage_full", "the owner's storage is full; delete files or ask for a larger limit")
