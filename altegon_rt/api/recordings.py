"""Recording controls: ``POST /recording/start``, ``POST /recording/stop`` and ``GET /recordings/list``.

The request dates these routes take (``startTime``, ``endTime``) are epoch milliseconds as a JSON number, as
the documents' samples send them, or an ISO-8601 string; both become UTC datetimes (see ``schema.DateField``).
A user records only in rooms they own, and stops and lists only their own recordings; admins do all of it.
The recording server socket (``realtime/recording.py``) sets ``status`` while it composes a recording's
tracks (``processing``, then ``ready`` with ``fileName`` and ``fileSize``, or ``failed`` with ``error``).
"""

from __future__ import annotations

from typing import Any

from altegon_rt.api.routing import Call, Reply, endpoint
from altegon_rt.api.schema import DateField, Field, Schema
from altegon_rt.errors import BadRequest, Conflict, Forbidden, NotFound
from altegon_rt.store.recordings import RecordingIdTaken

RECORDING_ID = Field("recordingId", "id", max_length=128, description="Recording id (unique)",
                     example="1756364334628_738386")  # fmt: skip

START_RECORDING = Schema(
    "StartRecordingRequest",
    (
        Field("roomId", "objectid", description="Room being recorded (one you own)",
              example="68affe24fabc0702c5d30c29"),
        Field("userName", "string", max_length=200, description="Name of who requested the recording",
              example="Haseeb Asif"),
        Field("streamId", "id", max_length=128, description="Stream id (a number is accepted)",
              example="755961800257348400"),
        RECORDING_ID,
        DateField("startTime", "string", description="Start time", example=1756364334634),
        Field("videoType", "string", max_length=32, description='Video type, e.g. "video"', example="video"),
        Field("status", "string", max_length=32, description='Recording status, e.g. "pending"',
              example="pending"),
    ),
)  # fmt: skip

STOP_RECORDING = Schema(
    "StopRecordingRequest",
    (
        RECORDING_ID,
        Field("streamId", "id", required=False, max_length=128,
              description="Stream id; when given it must be the recording's"),
        DateField("endTime", "string", description="End time, not before the start time", example=1756364334634),
    ),
)  # fmt: skip

PUBLIC_FIELDS = (
    "_id", "roomId", "recordingId", "hostName", "userName", "ownerId", "streamId", "videoType", "status",
    "startTime", "endTime", "createdAt", "updatedAt", "fileName", "fileSize", "error",
)  # fmt: skip

RECORDING_EXAMPLE = {
    "_id": "670bc2ab12f5b0e6f7a4e9d4", "roomId": "68affe24fabc0702c5d30c29", "recordingId": "1756364334628_738386",
    "hostName": "Haseeb Asif", "userName": "Haseeb Asif", "ownerId": "68de7a9d8f40ff41c940c7fb",
    "streamId": "755961800257348400", "videoType": "video", "status": "stopped",
    "startTime": "2025-08-28T06:58:54.634Z", "endTime": "2025-08-28T07:20:00.000Z",
    "createdAt": "2025-10-13T10:15:30.000Z", "updatedAt": "2025-10-13T10:20:00.000Z",
}  # fmt: skip


def public_recording(doc: dict[str, Any]) -> dict[str, Any]:
    """The answered form: the stored fields, with ``hostName`` (the documented name) for ``userName``."""
    full = {**doc, "hostName": doc.get("userName")}
    return {k: full[k] for k in PUBLIC_FIELDS if k in full}


@endpoint(
    "POST", "/recording/start", tag="recordings", body=START_RECORDING, audit="recording.start",
    summary="Start recording a stream in a room you own",
    responses={201: "Recording started", 400: "Missing or invalid field, or no such room", 401: "Not signed in",
               403: "Not your room", 409: "recordingId is in use"},
    example={"success": True, "data": {**RECORDING_EXAMPLE, "status": "pending", "endTime": None},
             "msg": "Recording started successfully!"},
)  # fmt: skip
async def start_recording(call: Call) -> Reply:
    body = call.body
    call.target = {"type": "recording", "id": body["recordingId"], "roomId": body["roomId"]}
    store = call.services.store
    room = await store.rooms.get(body["roomId"])
    if room is None:
        raise BadRequest("field 'roomId' names no room", code="invalid_field")
    if not call.user.may_act_for(room["ownerId"]):
        raise Forbidden("you may not record in another user's room")
    try:
        recording = await store.recordings.create(call.user.user_id, body)
    except RecordingIdTaken:
        raise Conflict("a recording with this recordingId exists already", code="recording_exists") from None
    data = public_recording(recording)
    return Reply(201, {"success": True, "data": data, "msg": "Recording started successfully!"})


@endpoint(
    "POST", "/recording/stop", tag="recordings", body=STOP_RECORDING, audit="recording.stop",
    summary="Stop one of your recordings and save its end time",
    responses={204: "Stopped", 400: "Missing or invalid field, streamId mismatch, or endTime before startTime",
               401: "Not signed in", 404: "No such recording of yours", 409: "Already stopped"},
)  # fmt: skip
async def stop_recording(call: Call) -> Reply:
    recording_id = call.body["recordingId"]
    call.target = {"type": "recording", "id": recording_id}
    store = call.services.store
    recording = await store.recordings.by_recording_id(recording_id)
    # Another user's recording is "not found": its existence is none of the caller's business.
    if recording is None or not call.user.may_act_for(recording["ownerId"]):
        raise NotFound("recording not found")
    stream_id = call.body.get("streamId")
    if stream_id is not None and stream_id != recording["streamId"]:
        raise BadRequest("field 'streamId' is not the recording's stream", code="invalid_field")
    if recording.get("endTime") is not None:
        raise Conflict("recording is already stopped", code="already_stopped")
    if call.body["endTime"] < recording["startTime"]:
        raise BadRequest("field 'endTime' is before the recording's startTime", code="invalid_field")
    if await store.recordings.stop(recording_id, call.body["endTime"]) is None:
        raise Conflict("recording is already stopped", code="already_stopped")  # a concurrent stop won
    return Reply(204)


@endpoint(
    "GET", "/recordings/list", tag="recordings",
    summary="List your recordings (an admin: everyone's), newest first, at most 1000",
    responses={200: "The recordings", 401: "Not signed in"},
    example=[RECORDING_EXAMPLE],
)  # fmt: skip
async def list_recordings(call: Call) -> Reply:
    owner_id = None if call.user.is_admin else call.user.user_id
    recordings = await call.services.store.recordings.list_for(owner_id)
    return Reply(200, [public_recording(r) for r in recordings])


ROUTES = (start_recording, stop_recording, list_recordings)
