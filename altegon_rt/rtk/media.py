"""RealtimeKit recordings and livestreams at work: SFU taps → WebM → the composer or the HLS pipeline.

:class:`RtkMedia` runs in the server's front nursery and owns the active captures
(:class:`~altegon_rt.realtime.capture.RoomCapture`) of RealtimeKit meetings, which run in the SFU room
``rtk-<meeting_id>``.

- A recording taps every peer that publishes in the meeting (one WebM per peer under
  ``<data dir>/rtk-recordings/<recording_id>/``); status ``INVOKED`` → ``RECORDING`` (first media written) ⇄
  ``PAUSED`` → ``UPLOADING`` (stopped: by the API, ``max_seconds``, or the room closing when all peers left)
  → ``UPLOADED`` (composed to one MP4 by the recording composer in its grid layout — the peers with video at
  each moment tiled, everyone's audio mixed, each peer's track placed where its first frame arrived — and
  stored as a blob of the account, in its storage quota, downloadable through a signed URL) or ``ERRORED``.
- A livestream follows the meeting's presenter (``RoomCapture(per_peer=False)``) and feeds its WebM into
  :class:`~altegon_rt.media.live.LiveStreams` as the HLS socket's chunks would: ``INVOKED`` → ``LIVE`` (first
  media; the HLS stream and its ``playback_url`` exist from then on) → ``IDLE`` when stopped, ``ERRORED`` when
  the HLS pipeline ends it. Each start is a livestream session with its ingest seconds.

Every status change is sent to the app's webhooks (``recording.statusUpdate``, ``livestreaming.statusUpdate``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import trio

from altegon_rt.api.jsonio import iso
from altegon_rt.errors import Conflict, ServiceUnavailable
from altegon_rt.media.live import LiveStream, LiveStreams
from altegon_rt.realtime.capture import RoomCapture
from altegon_rt.realtime.recording_jobs import ComposeJobs, JobFailed, JobRequest
from altegon_rt.realtime.sfu_rooms import SfuRooms
from altegon_rt.rtk.participant_tokens import sfu_room_id

log = logging.getLogger(__name__)

WATCH_S = 0.5
ACTIVE_RECORDING = ("INVOKED", "RECORDING", "PAUSED")
ACTIVE_LIVESTREAM = ("INVOKED", "LIVE")


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def account_owner(account_id: str) -> str:
    """The storage owner of an account's recordings (their blobs and quota): a 24-hex id, as user ids are."""
    return hashlib.sha256(f"rtk-account:{account_id}".encode()).hexdigest()[:24]


def meeting_folder(meeting_id: str) -> str:
    """The blob store's room id of a meeting's recordings (24-hex, as room ids are)."""
    return hashlib.sha256(f"rtk-meeting:{meeting_id}".encode()).hexdigest()[:24]


class FileSink:
    """A peer's WebM appended to a file (in a worker thread)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    async def write(self, data: bytes) -> None:
        def append() -> None:
            with self.path.open("ab") as fh:
                fh.write(data)

        await trio.to_thread.run_sync(append)

    async def close(self) -> None:
        return None


class LiveSink:
    """The presenter's WebM into a live HLS stream, made on the first bytes."""

    def __init__(self, live: LiveStreams, title: str, on_open: Any) -> None:
        self.live, self.title, self.on_open = live, title, on_open
        self.stream: LiveStream | None = None

    async def write(self, data: bytes) -> None:
        if self.stream is None:
            self.stream = await self.live.start(self.title, "video/webm", "rtk-livestream", None)
            await self.on_open(self.stream)
        await self.live.append(self.stream, data)

    async def close(self) -> None:
        if self.stream is not None and self.stream.active:
            await self.live.end(self.stream, "the livestream was stopped")


@dataclass(eq=False)
class Active:
    app_id: str
    object_id: str
    meeting_id: str
    capture: RoomCapture
    stop_reason: str = "API_CALL"
    done: trio.Event = field(default_factory=trio.Event)
    extra: dict[str, Any] = field(default_factory=dict)


class RtkMedia:
    """See the module docstring."""

    def __init__(self, store: Any, webhooks: Any, rooms: SfuRooms, live: LiveStreams, jobs: ComposeJobs,
                 root: Path, max_active: int = 8) -> None:  # fmt: skip
        self.store, self.webhooks, self.rooms, self.live, self.jobs = store, webhooks, rooms, live, jobs
        self.root, self.max_active = root, max_active
        self.recordings: dict[str, Active] = {}
        self.livestreams: dict[str, Active] = {}  # by livestream id
        self._nursery: trio.Nursery | None = None

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        await trio.to_thread.run_sync(lambda: self.root.mkdir(parents=True, exist_ok=True))
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            nursery.start_soon(self.jobs.run)
            task_status.started()
            await trio.sleep_forever()

    def _check_capacity(self) -> None:
        if self._nursery is None:
            raise ServiceUnavailable("media capture is not running", code="unavailable")
        if len(self.recordings) + len(self.livestreams) >= self.max_active:
            raise ServiceUnavailable(
                f"this server captures {self.max_active} meetings already; stop one first", code="too_many_captures"
            )

    # -- recordings -------------------------------------------------------------------------------------------
    async def start_recording(self, app_id: str, account_id: str, meeting_id: str, options: dict[str, Any]) -> dict:
        self._check_capacity()
        prefix = str(options.get("file_name_prefix") or "")
        doc = await self.store.rtk_recordings.create(app_id, {
            "meeting_id": meeting_id, "account_id": account_id, "status": "INVOKED", "invoked_time": utcnow(),
            "started_time": None, "stopped_time": None, "file_size": None, "session_id": None,
            "output_file_name": "", "recording_duration": 0, "options": options,
            "start_reason": {"reason": options.get("start_reason", "API_CALL"),
                             "caller": {"type": "ORGANIZATION", "name": account_id}},
        })  # fmt: skip
        name = f"{prefix}{doc['_id']}.mp4"
        doc = await self.store.rtk_recordings.set_fields(app_id, doc["_id"], {"output_file_name": name})
        folder = self.root / doc["_id"]
        await trio.to_thread.run_sync(lambda: folder.mkdir(parents=True, exist_ok=True))

        async def open_sink(key: str) -> FileSink:
            return FileSink(folder / f"{key}.webm")

        capture = RoomCapture(
            self.rooms,
            sfu_room_id(meeting_id),
            open_sink,
            per_peer=True,
            on_media=lambda: self._spawn(self._recording_status, active, "RECORDING"),
        )
        active = Active(app_id, doc["_id"], meeting_id, capture, extra={"folder": folder, "account": account_id})
        self.recordings[doc["_id"]] = active
        assert self._nursery is not None
        self._nursery.start_soon(self._record, active, options.get("max_seconds"))
        await self._notify_recording(doc)
        return doc

    def _spawn(self, fn: Any, *args: Any) -> None:
        if self._nursery is not None:
            self._nursery.start_soon(fn, *args)

    async def _recording_status(self, active: Active, status: str, **fields: Any) -> dict[str, Any] | None:
        if status == "RECORDING" and "started_time" not in fields:
            current = await self.store.rtk_recordings.get(active.app_id, active.object_id)
            if current is not None and current.get("started_time") is None:
                fields["started_time"] = utcnow()
        doc = await self.store.rtk_recordings.set_fields(active.app_id, active.object_id, {"status": status, **fields})
        if doc is not None:
            await self._notify_recording(doc)
        return doc  # type: ignore[no-any-return]

    async def _notify_recording(self, doc: dict[str, Any]) -> None:
        from altegon_rt.rtk.recordings import readable_recording  # the route module owns the shape

        payload = {"recording": _json_ready(await readable_recording(self, doc)), "meeting": {"id": doc["meeting_id"]}}
        self.webhooks.emit(doc["app_id"], "recording.statusUpdate", payload)

    def action(self, recording_id: str, action: str) -> Active | None:
        active = self.recordings.get(recording_id)
        if active is None:
            return None
        if action == "stop":
            active.capture.stop()
        elif action == "pause":
            active.capture.pause()
        elif action == "resume":
            active.capture.resume()
        return active

    async def _record(self, active: Active, max_seconds: int | None) -> None:
        capture = active.capture
        try:
            async with trio.open_nursery() as nursery:
                await nursery.start(capture.run)
                deadline = trio.current_time() + (max_seconds or 86400)
                while not capture.stopping:
                    await trio.sleep(WATCH_S)
                    if trio.current_time() >= deadline:
                        capture.stop()
                    elif capture.started and self.rooms.rooms.get(capture.room_id) is None:
                        active.stop_reason = "ALL_PEERS_LEFT"
                        capture.stop()
            await self._finish_recording(active)
        except Exception:  # a bug here must end this recording, not the server
            log.exception("rtk recording %s failed", active.object_id)
            with trio.CancelScope(shield=True):
                await self._recording_status(active, "ERRORED", error="internal error")
        finally:
            self.recordings.pop(active.object_id, None)
            active.done.set()

    async def _finish_recording(self, active: Active) -> None:
        stopped = {"stopped_time": utcnow(), "stop_reason": {"reason": active.stop_reason}}
        folder: Path = active.extra["folder"]
        streams = active.capture.streams
        tracks = await trio.to_thread.run_sync(_tracks, folder, list(streams))
        if not tracks:
            await self._recording_status(active, "ERRORED", **stopped, error="nothing was published to record")
            await trio.to_thread.run_sync(shutil.rmtree, folder, True)
            return
        await self._recording_status(active, "UPLOADING", **stopped)
        starts = tuple(streams[key].muxer.first_written_ms or 0 for key, _ in tracks)
        request = JobRequest(active.object_id, account_owner(active.extra["account"]),
                             meeting_folder(active.meeting_id), folder, tracks, "rtk", "grid", starts)  # fmt: skip
        try:
            done = await self.jobs.compose_and_store(request)
        except JobFailed as exc:
            log.info("rtk recording %s: %s: %s", active.object_id, exc.code, exc.message)
            await self._recording_status(active, "ERRORED", error=f"{exc.code}: {exc.message}")
            return
        finally:
            await trio.to_thread.run_sync(shutil.rmtree, folder, True)
        await self._recording_status(active, "UPLOADED", file_size=done["fileSize"], blob_name=done["fileName"],
                                     recording_duration=round(done.get("durationMs", 0) / 1000))  # fmt: skip

    # -- livestreams ------------------------------------------------------------------------------------------
    async def start_livestream(self, app_id: str, meeting_id: str, name: str | None) -> dict[str, Any]:
        self._check_capacity()
        if any(a.meeting_id == meeting_id and a.app_id == app_id for a in self.livestreams.values()):
            raise Conflict("the meeting is being livestreamed already", code="livestream_active")
        doc = await self.store.rtk_livestreams.create(app_id, {
            "meeting_id": meeting_id, "name": name, "status": "INVOKED", "disabled": False, "playback_url": None,
            "ingest_server": None, "stream_key": None, "hls_stream_id": None})  # fmt: skip
        session = await self.store.rtk_livestream_sessions.create(app_id, {
            "livestream_id": doc["_id"], "invoked_time": utcnow(), "started_time": None, "stopped_time": None,
            "ingest_seconds": 0, "viewer_seconds": 0, "err_message": None})  # fmt: skip

        async def opened(stream: LiveStream) -> None:
            fields = {"playback_url": f"/hls/{stream.id}/index.m3u8", "hls_stream_id": stream.id, "status": "LIVE"}
            await self._livestream_status(active, fields, started_time=utcnow())

        async def open_sink(key: str) -> LiveSink:
            return LiveSink(self.live, name or "RealtimeKit livestream", opened)

        capture = RoomCapture(self.rooms, sfu_room_id(meeting_id), open_sink, per_peer=False)
        active = Active(app_id, doc["_id"], meeting_id, capture, extra={"session": session["_id"]})
        self.livestreams[doc["_id"]] = active
        assert self._nursery is not None
        self._nursery.start_soon(self._stream, active)
        await self._notify_livestream(doc)
        return doc

    async def stop_livestream(self, app_id: str, meeting_id: str) -> Active | None:
        for active in list(self.livestreams.values()):
            if active.app_id == app_id and active.meeting_id == meeting_id:
                active.capture.stop()
                with trio.move_on_after(10):
                    await active.done.wait()
                return active
        return None

    async def _livestream_status(self, active: Active, fields: dict[str, Any], **session: Any) -> None:
        doc = await self.store.rtk_livestreams.set_fields(active.app_id, active.object_id, fields)
        if session:
            await self.store.rtk_livestream_sessions.set_fields(active.app_id, active.extra["session"], session)
        if doc is not None:
            await self._notify_livestream(doc)

    async def _notify_livestream(self, doc: dict[str, Any]) -> None:
        from altegon_rt.rtk.livestreams import readable_livestream

        payload = {"livestream": _json_ready(readable_livestream(doc)), "meeting": {"id": doc["meeting_id"]}}
        self.webhooks.emit(doc["app_id"], "livestreaming.statusUpdate", payload)

    async def _stream(self, active: Active) -> None:
        capture, error = active.capture, None
        try:
            async with trio.open_nursery() as nursery:
                await nursery.start(capture.run)
                while not capture.stopping:
                    await trio.sleep(WATCH_S)
                    broken = next((s.broken for s in capture.streams.values() if s.broken), "")
                    if broken:
                        error = broken
                        capture.stop()
            session = await self.store.rtk_livestream_sessions.get(active.app_id, active.extra["session"])
            started = session.get("started_time") if session else None
            stopped = utcnow()
            ingest = (stopped - _aware(started)).total_seconds() if started else 0
            with trio.CancelScope(shield=True):
                await self._livestream_status(active, {"status": "ERRORED" if error else "IDLE"}, stopped_time=stopped,
                                              ingest_seconds=round(ingest), err_message=error)  # fmt: skip
        except Exception:  # a bug here must end this livestream, not the server
            log.exception("rtk livestream %s failed", active.object_id)
            with trio.CancelScope(shield=True):
                await self._livestream_status(active, {"status": "ERRORED"}, err_message="internal error")
        finally:
            self.livestreams.pop(active.object_id, None)
            active.done.set()


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _json_ready(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _json_ready(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_ready(v) for v in value]
    if isinstance(value, dt.datetime):
        return iso(_aware(value))
    return value


def _tracks(folder: Path, keys: list[str]) -> list[tuple[str, str]]:
    """The peers' WebM files that hold media, in the order the peers started publishing (blocking)."""
    paths = [(key, folder / f"{key}.webm") for key in keys]
    return [(key, str(path)) for key, path in paths if path.exists() and path.stat().st_size > 0]
