"""RealtimeKit recordings: start (the meeting's SFU tracks, composed to one MP4), list, get, pause/resume/stop,
the active recording of a meeting, and track recording. The work is :mod:`altegon_rt.rtk.media`'s.

``download_url`` is a signed, expiring link to the stored MP4 (``/blob/{token}``, or an Azure SAS URL when
the blobs are in Azure), answered while the recording is ``UPLOADED``; the file counts in the account's
storage (its owner: :func:`~altegon_rt.rtk.media.account_owner` of the account).
"""

from __future__ import annotations

import datetime as dt
import re
import time
from typing import Any

import trio

from altegon_rt.api.routing import Call, Reply
from altegon_rt.errors import BadRequest, Conflict, NotFound
from altegon_rt.files.blobstore import BlobPlace
from altegon_rt.realtime.recording_jobs import mp4_name
from altegon_rt.rtk.http import APP_ID, PAGE_QUERY, BoolQuery, list_of, ok, page_window, paged, rtk_route
from altegon_rt.rtk.jsonschema import DATE_TIME, UUID_STRING, envelope, obj
from altegon_rt.rtk.media import ACTIVE_RECORDING, RtkMedia, account_owner, meeting_folder
from altegon_rt.rtk.pending import (
    MEETING,
    RECORDING,
    RECORDING_ACTION,
    START_RECORDING,
    TEXT,
    TIME_RANGE,
    TRACK_RECORDING,
)

TAG = "realtimekit recordings"
STATUSES = ("INVOKED", "RECORDING", "UPLOADING", "UPLOADED", "ERRORED", "PAUSED")
NULLABLE_STRING = {"type": ["string", "null"]}
REASON = obj({"reason": {"type": "string"}, "caller": {"type": "object"}})
RECORDING_SCHEMA = obj(
    {
        "id": UUID_STRING,
        "audio_download_url": NULLABLE_STRING,
        "download_url": NULLABLE_STRING,
        "download_url_expiry": {"type": ["string", "null"], "format": "date-time"},
        "file_size": {"type": ["number", "null"]},
        "invoked_time": DATE_TIME,
        "output_file_name": {"type": "string"},
        "session_id": NULLABLE_STRING,
        "started_time": {"type": ["string", "null"], "format": "date-time"},
        "status": {"type": "string", "enum": list(STATUSES)},
        "stopped_time": {"type": ["string", "null"], "format": "date-time"},
        "recording_duration": {"type": "number"},
        "start_reason": REASON,
        "stop_reason": REASON,
        "storage_config": {"type": "null"},
        "meeting_id": UUID_STRING,
    },
    ("id", "invoked_time", "output_file_name", "status"),
)
ERRORS = {400: "Invalid field", 404: "No such app, meeting or recording in this account"}


def _media(call: Call) -> RtkMedia:
    media = getattr(call.services.rtk, "media", None)
    if media is None:
        raise NotFound("recordings are not available on this server", code="not_available")
    return media  # type: ignore[no-any-return]


async def readable_recording(media: RtkMedia, doc: dict[str, Any]) -> dict[str, Any]:
    """The spec's Recording object of a stored recording (a fresh signed URL when it is uploaded)."""
    url, expiry = None, None
    if doc["status"] == "UPLOADED":
        owner = account_owner(doc.get("account_id", ""))
        blob = await media.store.blobs.get(owner, meeting_folder(doc["meeting_id"]), doc["_id"], mp4_name(doc["_id"]))
        if blob is not None:
            now = int(time.time())
            expires = now + media.jobs.quota.sas_ttl_s
            store = media.jobs.blobs.holding(blob)
            url = store.signed_read_url(BlobPlace.of(blob), blob["diskName"], file_name=doc["output_file_name"],
                                        expires=expires, now=now)  # fmt: skip
            expiry = dt.datetime.fromtimestamp(expires, dt.UTC)
    return {
        "id": doc["_id"], "audio_download_url": None, "download_url": url, "download_url_expiry": expiry,
        "file_size": doc.get("file_size"), "invoked_time": doc["invoked_time"],
        "output_file_name": doc["output_file_name"], "session_id": doc.get("session_id"),
        "started_time": doc.get("started_time"), "status": doc["status"], "stopped_time": doc.get("stopped_time"),
        "recording_duration": doc.get("recording_duration", 0), "start_reason": doc.get("start_reason") or {},
        "stop_reason": doc.get("stop_reason") or {}, "storage_config": None, "meeting_id": doc["meeting_id"],
    }  # fmt: skip


async def _meeting(call: Call, meeting_id: str) -> dict[str, Any]:
    await call.services.rtk.require_app(call.path["account_id"], call.path["app_id"])
    doc = await call.services.store.rtk_meetings.get(call.path["app_id"], meeting_id)
    if doc is None:
        raise NotFound(f"meeting {meeting_id} not found", code="meeting_not_found")
    return doc  # type: ignore[no-any-return]


async def _recording(call: Call) -> dict[str, Any]:
    await call.services.rtk.require_app(call.path["account_id"], call.path["app_id"])
    doc = await call.services.store.rtk_recordings.get(call.path["app_id"], call.path["recording_id"])
    if doc is None:
        raise NotFound(f"recording {call.path['recording_id']} not found", code="recording_not_found")
    return doc  # type: ignore[no-any-return]


async def _start(call: Call, meeting_id: str, options: dict[str, Any]) -> dict[str, Any]:
    await _meeting(call, meeting_id)
    app_id = call.path["app_id"]
    if not options.get("allow_multiple_recordings"):
        match = {"meeting_id": meeting_id, "status": {"$in": list(ACTIVE_RECORDING)}}
        _, running = await call.services.store.rtk_recordings.page(app_id, match, 0, 1)
        if running:
            raise Conflict("the meeting is being recorded already (allow_multiple_recordings is false)",
                           code="recording_active")  # fmt: skip
    media = _media(call)
    doc = await media.start_recording(app_id, call.path["account_id"], meeting_id, options)
    call.target = {"type": "rtkRecording", "id": doc["_id"], "appId": app_id}
    return await readable_recording(media, doc)


@rtk_route("POST", "/{app_id}/recordings", tag=TAG, params=(APP_ID,), body=START_RECORDING, audit="rtk.recording.start",
           summary="Start recording a meeting: every peer publishing in it, composed to one MP4",
           ok=(201, envelope(RECORDING_SCHEMA)), responses={201: "Recording invoked", 409: "Already recorded",
                                                             503: "Too many captures", **ERRORS})  # fmt: skip
async def rtk_start_recording(call: Call) -> Reply:
    options = {k: v for k, v in call.body.items() if k != "meeting_id"}
    return ok(await _start(call, call.body["meeting_id"], options), 201)


@rtk_route("POST", "/{app_id}/recordings/track", tag=TAG, params=(APP_ID,), body=TRACK_RECORDING,
           audit="rtk.recording.track", summary="Start recording the audio and video tracks of a meeting "
           "(each peer's tracks are kept as they were sent until composed)",
           ok=(201, envelope(RECORDING_SCHEMA)), responses={201: "Recording invoked", 409: "Already recorded",
                                                             503: "Too many captures", **ERRORS})  # fmt: skip
async def rtk_start_track_recording(call: Call) -> Reply:
    options = {"max_seconds": call.body.get("max_seconds"), "allow_multiple_recordings": True}
    return ok(await _start(call, call.body["meeting_id"], options), 201)


@rtk_route("GET", "/{app_id}/recordings", tag=TAG, params=(APP_ID,),
           query=(*TIME_RANGE, BoolQuery("expired", "boolean", required=False), TEXT["meeting_id"], *PAGE_QUERY,
                  TEXT["search"], TEXT["sort_by"], TEXT["sort_order"], TEXT["status"]),
           summary="Fetch all recordings for an App, newest first", ok=(200, list_of(RECORDING_SCHEMA)),
           responses={200: "A page of recordings", **ERRORS})  # fmt: skip
async def rtk_list_recordings(call: Call) -> Reply:
    await call.services.rtk.require_app(call.path["account_id"], call.path["app_id"])
    match: dict[str, Any] = {}
    q = call.query
    if q.get("meeting_id"):
        match["meeting_id"] = q["meeting_id"].lower()
    if q.get("status"):
        statuses = [s.strip().upper() for s in q["status"].split(",") if s.strip()]
        if not set(statuses) <= set(STATUSES):
            raise BadRequest(f"query 'status' must be among {', '.join(STATUSES)}", code="invalid_field")
        match["status"] = {"$in": statuses}
    if q.get("search"):
        match["output_file_name"] = {"$regex": re.escape(q["search"]), "$options": "i"}
    since, until, ms = q.get("start_time"), q.get("end_time"), dt.timedelta(milliseconds=1)
    if since or until:
        match["invoked_time"] = {**({"$gt": since - ms} if since else {}), **({"$lt": until + ms} if until else {})}
    _, per_page, skip = page_window(call)
    docs, total = await call.services.store.rtk_recordings.page(call.path["app_id"], match, skip, per_page)
    media = _media(call)
    return paged([await readable_recording(media, d) for d in docs], skip, total)


@rtk_route("GET", "/{app_id}/recordings/active-recording/{meeting_id}", tag=TAG, params=(APP_ID, MEETING),
           summary="Fetch the active recording of a meeting", ok=(200, envelope(RECORDING_SCHEMA)),
           responses={200: "The active recording", **ERRORS})  # fmt: skip
async def rtk_active_recording(call: Call) -> Reply:
    meeting_id = call.path["meeting_id"]
    await _meeting(call, meeting_id)
    match = {"meeting_id": meeting_id, "status": {"$in": list(ACTIVE_RECORDING)}}
    docs, _ = await call.services.store.rtk_recordings.page(call.path["app_id"], match, 0, 1)
    if not docs:
        raise NotFound(f"meeting {meeting_id} has no active recording", code="no_active_recording")
    return ok(await readable_recording(_media(call), docs[0]))


@rtk_route("GET", "/{app_id}/recordings/{recording_id}", tag=TAG, params=(APP_ID, RECORDING),
           summary="Fetch details of a recording", ok=(200, envelope(RECORDING_SCHEMA)),
           responses={200: "The recording", **ERRORS})  # fmt: skip
async def rtk_get_recording(call: Call) -> Reply:
    return ok(await readable_recording(_media(call), await _recording(call)))


@rtk_route("PUT", "/{app_id}/recordings/{recording_id}", tag=TAG, params=(APP_ID, RECORDING), body=RECORDING_ACTION,
           audit="rtk.recording.action", summary="Pause, resume or stop a recording",
           ok=(200, envelope(RECORDING_SCHEMA)),
           responses={200: "The recording after the action", 409: "Not in a state for it", **ERRORS})  # fmt: skip
async def rtk_recording_action(call: Call) -> Reply:
    doc = await _recording(call)
    action, status, media = call.body["action"], doc["status"], _media(call)
    allowed = {"stop": ("INVOKED", "RECORDING", "PAUSED"), "pause": ("RECORDING",), "resume": ("PAUSED",)}
    if status not in allowed[action] or media.action(doc["_id"], action) is None:
        raise Conflict(f"a recording that is {status} cannot be asked to {action}", code="invalid_state")
    call.target = {"type": "rtkRecording", "id": doc["_id"], "action": action}
    fields = {"pause": {"status": "PAUSED"}, "resume": {"status": "RECORDING"}}.get(action)
    if fields is not None:
        active = media.recordings[doc["_id"]]
        doc = await media._recording_status(active, fields["status"]) or doc
    else:
        active = media.recordings.get(doc["_id"])
        if active is not None:
            with trio.move_on_after(2):  # the answer says UPLOADING once the capture has stopped
                while doc["status"] in ACTIVE_RECORDING:
                    await trio.sleep(0.05)
                    doc = await call.services.store.rtk_recordings.get(call.path["app_id"], doc["_id"]) or doc
    return ok(await readable_recording(media, doc))


ROUTES = (rtk_list_recordings, rtk_start_recording, rtk_start_track_recording, rtk_active_recording,
          rtk_get_recording, rtk_recording_action)  # fmt: skip
