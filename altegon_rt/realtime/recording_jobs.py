"""Composing recordings in the background: worker processes, progress events, and the MP4 stored as a blob.

``process-recording`` (``realtime/recording.py``) hands a :class:`JobRequest` to :meth:`ComposeJobs.submit`,
which answers at once; the job waits for one of ``recording.workers`` slots (at most
``recording.max_queued_jobs`` wait), then runs ``python -m altegon_rt.media.compose`` as a child process
(``media/compose.py``) and reads its JSON-line reports. The event loop never waits on a codec, and a codec
that crashes ends that child only. Events go to the requester's connections on the recording socket (room
``user:<userId>``):

- ``recording:progress`` {recordingId, percent}: 0 when the job starts, then each whole percent of media time.
- ``recording:done`` {recordingId, fileName, size, durationMs, width, height}: the MP4 is stored.
- ``recording:error`` {recordingId, code, message}: nothing was stored (``storage_full``, ``corrupt_track``,
  ``processing_failed``, ``job_timeout``, ...).

The MP4 is stored through the blob store (``files/blobstore.py``) under the recording's owner, room and
recordingId as ``<recordingId>.mp4``, in the owner's storage quota (``files/quota.py``), replacing the one an
earlier run stored; the recording's ``status`` goes ``processing`` → ``ready`` (or ``failed``).
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import trio

from altegon_rt.config import RecordingSection, StorageQuotaSection
from altegon_rt.errors import ApiError
from altegon_rt.files.blobstore import BlobPlace, BlobStores
from altegon_rt.files.disk import TooLarge, read_chunks
from altegon_rt.files.names import sanitise
from altegon_rt.files.quota import storage_limit, user_lock
from altegon_rt.media.recording import OUTPUT_PART, ComposeJob, ReportReader
from altegon_rt.sio.server import SocketError
from altegon_rt.store import Store

log = logging.getLogger(__name__)

STDERR_KEEP = 4096  # the worker's last stderr bytes, logged when it fails
Emit = Callable[..., Any]  # SocketServer.emit


class JobFailed(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


@dataclass(frozen=True, slots=True)
class JobRequest:
    recording_id: str
    owner_id: str
    room_id: str
    folder: Path
    tracks: list[tuple[str, str]]  # (videoId, path) in creation order
    requester_id: str
    layout: str = "concat"  # or "grid": simultaneous tracks tiled, audio mixed (media/grid.py)
    starts_ms: tuple[int, ...] = ()  # grid: each track's first frame on the common timeline

    @property
    def room(self) -> str:
        return f"user:{self.requester_id}"


def mp4_name(recording_id: str) -> str:
    return sanitise(f"{recording_id}.mp4")


class ComposeJobs:
    """The recordings being composed, and the nursery their jobs run in."""

    def __init__(self, config: RecordingSection, quota: StorageQuotaSection, store: Store, blobs: BlobStores,
                 emit: Emit) -> None:  # fmt: skip
        self.config, self.quota, self.store, self.blobs, self.emit = config, quota, store, blobs, emit
        self.active: set[str] = set()  # recordingIds claimed by process-recording (checking, queued, running)
        self._slots = trio.CapacityLimiter(config.workers)
        self._nursery: trio.Nursery | None = None

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            task_status.started()
            await trio.sleep_forever()

    def claim(self, recording_id: str) -> None:
        """Reserve a recording for one job; :class:`SocketError` if it has one or too many wait already."""
        if recording_id in self.active:
            raise SocketError("already_processing", "this recording is being processed; wait for recording:done")
        if len(self.active) >= self.config.workers + self.config.max_queued_jobs:
            raise SocketError("busy", "too many recordings are waiting to be processed; try again later")
        self.active.add(recording_id)

    def submit(self, request: JobRequest) -> None:
        """Start a claimed recording's job in the background."""
        assert self._nursery is not None, "run() first"
        self._nursery.start_soon(self._job, request)

    async def _job(self, request: JobRequest) -> None:
        rid = request.recording_id
        try:
            await self.store.recordings.set_status(rid, "processing")
            self._emit(request, "recording:progress", percent=0)
            async with self._slots:
                done = await self._compose(request)
                stored = await self._store_mp4(request, done)
            await self.store.recordings.set_status(rid, "ready", fileName=stored["fileName"],
                                                   fileSize=stored["fileSize"], error=None)  # fmt: skip
            shape = {k: done.get(k) for k in ("durationMs", "width", "height")}
            self._emit(request, "recording:done", fileName=stored["fileName"], size=stored["fileSize"], **shape)
            log.info("recording %s composed: %s, %d bytes", rid, stored["fileName"], stored["fileSize"])
            if not self.config.keep_tracks:
                await trio.to_thread.run_sync(shutil.rmtree, request.folder, True)
        except JobFailed as exc:
            await self._failed(request, exc.code, exc.message)
        except trio.Cancelled:
            with trio.move_on_after(2, shield=True):
                await self._failed(request, "interrupted", "the server stopped while processing; process it again")
            raise
        except Exception as exc:
            log.exception("recording %s: processing failed", rid)
            await self._failed(request, "processing_failed", f"processing failed: {type(exc).__name__}")
        finally:
            self.active.discard(rid)
            with trio.CancelScope(shield=True):
                await trio.to_thread.run_sync(lambda: (request.folder / OUTPUT_PART).unlink(missing_ok=True))

    async def compose_and_store(self, request: JobRequest) -> dict[str, Any]:
        """Compose and store a recording in one of the slots, without the socket's status changes (the
        RealtimeKit recordings keep their own); the ``done`` report merged with the blob row, or
        :class:`JobFailed`. Progress events go to ``emit`` as usual."""
        try:
            async with self._slots:
                done = await self._compose(request)
                stored = await self._store_mp4(request, done)
            return {**done, **stored}
        finally:
            with trio.CancelScope(shield=True):
                await trio.to_thread.run_sync(lambda: (request.folder / OUTPUT_PART).unlink(missing_ok=True))

    def _emit(self, request: JobRequest, event: str, **fields: Any) -> None:
        self.emit(event, {"recordingId": request.recording_id, **fields}, to=request.room)

    async def _failed(self, request: JobRequest, code: str, message: str) -> None:
        log.info("recording %s: %s: %s", request.recording_id, code, message)
        try:  # the status first: a client that lists its recordings on the event must see it failed
            error = {"code": code, "message": message}
            await self.store.recordings.set_status(request.recording_id, "failed", error=error)
        except Exception:
            log.exception("recording %s: could not mark it failed", request.recording_id)
        self._emit(request, "recording:error", code=code, message=message)

    # -- the worker process -----------------------------------------------------------------------------------
    def _job_spec(self, request: JobRequest) -> ComposeJob:
        c = self.config
        return ComposeJob(tracks=request.tracks, output=str(request.folder / OUTPUT_PART), width=c.width,
                          height=c.height, max_width=c.max_width, max_height=c.max_height, preset=c.preset,
                          crf=c.crf, audio_bitrate=c.audio_bitrate, threads=c.encoder_threads,
                          layout=request.layout, starts_ms=list(request.starts_ms))  # fmt: skip

    async def _compose(self, request: JobRequest) -> dict[str, Any]:
        """Run the worker; its ``done`` report, or :class:`JobFailed`."""
        argv = [sys.executable, "-m", "altegon_rt.media.compose"]
        outcome: dict[str, Any] = {}
        stderr = bytearray()
        with trio.move_on_after(self.config.job_timeout_s) as timer:
            async with trio.open_nursery() as nursery:
                process = await nursery.start(partial(
                    trio.run_process, argv, stdin=self._job_spec(request).to_json(), stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE, check=False))  # fmt: skip
                nursery.start_soon(self._keep_tail, process.stderr, stderr)
                await self._read_reports(request, process.stdout, outcome)
        if timer.cancelled_caught:
            raise JobFailed("job_timeout", f"processing took longer than {self.config.job_timeout_s:g} s")
        if outcome.get("event") == "done" and process.returncode == 0:
            return outcome
        if outcome.get("event") == "error":
            raise JobFailed(str(outcome.get("code", "processing_failed")), str(outcome.get("message", "failed")))
        tail = bytes(stderr).decode(errors="replace").strip().splitlines()[-5:]
        log.warning("recording %s: the worker exited with status %s: %s", request.recording_id, process.returncode,
                    " | ".join(tail))  # fmt: skip
        status = process.returncode
        raise JobFailed("processing_failed", f"the media worker stopped unexpectedly (exit status {status})")

    async def _read_reports(self, request: JobRequest, stdout: Any, outcome: dict[str, Any]) -> None:
        reader = ReportReader()
        async for data in stdout:
            for report in reader.feed(data):
                kind = report["event"]
                if kind == "progress" and isinstance(report.get("percent"), int):
                    self._emit(request, "recording:progress", percent=report["percent"])
                elif kind == "warning":
                    log.info("recording %s: track %r: %s", request.recording_id, report.get("videoId"),
                             report.get("message"))  # fmt: skip
                elif kind in ("done", "error"):
                    outcome.clear()
                    outcome.update(report)

    @staticmethod
    async def _keep_tail(stream: Any, tail: bytearray) -> None:
        async for data in stream:
            tail += data
            del tail[:-STDERR_KEEP]

    # -- storing the MP4 ----------------------------------------------------------------------------------------
    async def _store_mp4(self, request: JobRequest, done: dict[str, Any]) -> dict[str, Any]:
        """Store the composed file as the recording's blob (replacing an earlier one); its ``blobs`` row."""
        part = request.folder / OUTPUT_PART
        size = (await trio.Path(part).stat()).st_size
        owner, name = request.owner_id, mp4_name(request.recording_id)
        place = BlobPlace(owner, request.room_id, request.recording_id)
        async with user_lock(owner):
            usage, _ = await self.store.blobs.usage(owner)
            old = await self.store.blobs.get(owner, request.room_id, request.recording_id, name)
            remaining = await storage_limit(self.store, self.quota, owner) - usage + (old["fileSize"] if old else 0)
            if size > remaining:
                left = max(remaining, 0)
                raise JobFailed("storage_full", f"the MP4 ({size} bytes) does not fit in the owner's storage limit "
                                f"({left} bytes left); delete files or ask for a larger limit")  # fmt: skip
            if size > self.quota.max_upload_bytes:
                raise JobFailed("too_large", f"the MP4 ({size} bytes) is larger than storage_quota.max_upload_bytes")
            store = self.blobs.current
            try:
                written = await store.write(place, read_chunks(part), remaining)
            except TooLarge:
                raise JobFailed("storage_full", "the MP4 does not fit in the owner's storage limit") from None
            except ApiError as exc:
                raise JobFailed("storage_failed", f"storing the MP4 failed: {exc.message}") from None
            record = {"userId": owner, "roomId": request.room_id, "recordingId": request.recording_id,
                      "fileName": name, "fileSize": written.size, "sha256": written.sha256,
                      "diskName": written.disk_name, "backend": store.name}  # fmt: skip
            doc = await self._replace_row(store, place, old, record)
        if old is not None:
            await self._remove_bytes(old)
        return doc

    async def _replace_row(self, store: Any, place: BlobPlace, old: dict[str, Any] | None,
                           record: dict[str, Any]) -> dict[str, Any]:  # fmt: skip
        try:
            if old is not None:
                await self.store.blobs.delete(old["_id"])
            return await self.store.blobs.add(record)
        except BaseException:
            with trio.CancelScope(shield=True):
                try:
                    await store.remove(place, record["diskName"])
                except (ApiError, OSError):
                    log.warning("could not remove the %s blob %s of a failed store", store.name, record["diskName"])
            raise

    async def _remove_bytes(self, old: dict[str, Any]) -> None:
        try:
            await self.blobs.holding(old).remove(BlobPlace.of(old), old["diskName"])
        except (ApiError, OSError) as exc:
            log.warning("could not remove the replaced MP4 %s: %s", old["diskName"], exc)


def track_paths(folder: Path, files: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """(videoId, absolute path) of the files that exist and hold bytes (blocking: for a worker thread)."""
    out = []
    for video_id, name in files:
        path = folder / name
        try:
            if os.stat(path).st_size > 0:
                out.append((video_id, str(path)))
        except FileNotFoundError:
            continue
    return out
