"""Meetings: create, update, and list a host's meetings. A user sees and changes only their own."""

from __future__ import annotations

from typing import Any

from altegon_rt.api.routing import Call, Reply, endpoint
from altegon_rt.api.schema import Field, Schema
from altegon_rt.errors import BadRequest, Forbidden, NotFound

CREATE_MEETING = Schema(
    "CreateMeetingRequest",
    (
        Field("title", "string", max_length=200, description="Meeting title", example="My Meeting"),
        Field("hostId", "objectid", description="The host's user id (your own, unless you are an admin)"),
        Field("transcriptEnabled", "boolean", description="Whether transcription is on"),
    ),
)

UPDATE_MEETING = Schema(
    "UpdateMeetingRequest",
    (
        Field("userId", "objectid", required=False, description="The caller's user id (checked if given)"),
        Field("roomId", "objectid", required=False, description="Room the meeting runs in"),
        Field("recordingId", "id", required=False, max_length=128, description="Recording to add",
              example="1737978989992_59591"),
        Field("title", "string", required=False, max_length=200, description="New title"),
        Field("summaryGenerated", "boolean", required=False, description="Summary generated"),
        Field("transcriptEnabled", "boolean", required=False, description="Transcription enabled"),
    ),
)  # fmt: skip

MEETING_ID = Field("meetingId", "objectid", description="The meeting's id")
USER_ID = Field("userId", "objectid", description="The host's user id")
PUBLIC_FIELDS = (
    "_id", "title", "hostId", "transcriptEnabled", "summaryGenerated", "recordingIds", "roomId",
    "createdAt", "updatedAt",
)  # fmt: skip


def public_meeting(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: doc[k] for k in PUBLIC_FIELDS if k in doc}


@endpoint(
    "POST", "/meetings/create", tag="meetings", body=CREATE_MEETING, audit="meeting.create",
    summary="Create a meeting",
    responses={201: "Meeting created", 400: "Missing or invalid field", 401: "Not signed in",
               403: "hostId is another user"},
    example={"meetingId": "68aff60da51d6c83a24245a2"},
)  # fmt: skip
async def create_meeting(call: Call) -> Reply:
    host_id = call.body["hostId"]
    call.require_self_or_admin(host_id, "meetings")
    store = call.services.store
    if host_id != call.user.user_id and not await store.users.exists(host_id):
        raise BadRequest("field 'hostId' names no user", code="invalid_field")
    meeting_id = await store.meetings.create(call.body["title"], host_id, call.body["transcriptEnabled"])
    call.target = {"type": "meeting", "id": meeting_id}
    return Reply(201, {"meetingId": meeting_id})


@endpoint(
    "POST", "/meetings/update/{meetingId}", tag="meetings", body=UPDATE_MEETING, params=(MEETING_ID,),
    audit="meeting.update",
    summary="Update a meeting's title, flags, room, or add a recording",
    responses={204: "Updated", 400: "Missing or invalid field", 401: "Not signed in",
               403: "Not your meeting", 404: "No such meeting"},
)  # fmt: skip
async def update_meeting(call: Call) -> Reply:
    meeting_id = call.path["meetingId"]
    call.target = {"type": "meeting", "id": meeting_id}
    body = dict(call.body)
    claimed = body.pop("userId", None)
    if claimed is not None:
        call.require_self_or_admin(claimed, "meetings")
    store = call.services.store
    meeting = await store.meetings.get(meeting_id)
    if meeting is None:
        raise NotFound("meeting not found")
    call.require_self_or_admin(meeting["hostId"], "meetings")
    recording_id = body.pop("recordingId", None)
    if not body and recording_id is None:
        raise BadRequest("nothing to update: give title, roomId, recordingId or a flag", code="missing_field")
    if "roomId" in body:
        room = await store.rooms.get(body["roomId"])
        if room is None:
            raise BadRequest("field 'roomId' names no room", code="invalid_field")
        if not call.user.may_act_for(room["ownerId"]):
            raise Forbidden("you may not use another user's room")
    if not await store.meetings.update(meeting, body, recording_id):
        raise NotFound("meeting not found")
    return Reply(204)


@endpoint(
    "GET", "/meetings/list/{userId}", tag="meetings", params=(USER_ID,),
    summary="List the meetings hosted by a user, newest first",
    responses={200: "The meetings", 400: "Invalid id", 401: "Not signed in", 403: "Another user's meetings"},
    example={"data": [{"_id": "68ee4b39b22d6134386fc5dc", "title": "dsa", "hostId": "68de7a9d8f40ff41c940c7fb",
             "transcriptEnabled": False, "summaryGenerated": False, "recordingIds": [],
             "createdAt": "2025-10-14T13:08:09.559Z", "updatedAt": "2025-10-14T13:08:09.559Z"}]},
)  # fmt: skip
async def list_meetings(call: Call) -> Reply:
    user_id = call.path["userId"]
    call.require_self_or_admin(user_id, "meetings")
    meetings = await call.services.store.meetings.list_for_host(user_id)
    return Reply(200, {"data": [public_meeting(m) for m in meetings]})


ROUTES = (create_meeting, update_meeting, list_meetings)
