"""RealtimeKit participants of a meeting: add (answering a participant token), list, fetch, edit, delete, refresh.

A participant is added with the ``preset_name`` of one of the app's presets and a ``custom_participant_id``
unique in the meeting (another → 409). Its token (:mod:`altegon_rt.rtk.participant_tokens`) is what a client
joins the meeting with; adding, editing and refreshing each answer a fresh one.
"""

from __future__ import annotations

from typing import Any

from altegon_rt.api.routing import Call, Reply
from altegon_rt.errors import BadRequest, Conflict, NotFound
from altegon_rt.rtk.http import APP_ID, PAGE_QUERY, list_of, ok, page_window, paged, rtk_route, uuid_param
from altegon_rt.rtk.jsonschema import envelope, obj, string
from altegon_rt.rtk.meeting_schema import (
    ADD_PARTICIPANT,
    DELETED_PARTICIPANT,
    EDIT_PARTICIPANT,
    PARTICIPANT,
    PARTICIPANT_WITH_TOKEN,
    readable_participant,
)
from altegon_rt.rtk.meetings import MEETING_ID, _meeting
from altegon_rt.store.rtk import NameTaken

PARTICIPANT_ID = uuid_param("participant_id", "participant")
TAG = "realtimekit participants"
NOT_FOUND = {404: "No such app, meeting or participant in this account"}
PATH = "/{app_id}/meetings/{meeting_id}/participants"


def _token(call: Call, doc: dict[str, Any]) -> str:
    return call.services.rtk.participant_tokens.issue(  # type: ignore[no-any-return]
        account_id=call.path["account_id"],
        app_id=call.path["app_id"],
        meeting_id=call.path["meeting_id"],
        participant_id=doc["_id"],
        preset_name=doc["preset_name"],
    )


async def _preset_id(call: Call, name: str) -> str:
    preset = await call.services.store.rtk_presets.find_one(call.path["app_id"], name=name)
    if preset is None:
        raise BadRequest(f"field 'preset_name' names no preset of this app: {name!r}", code="invalid_field")
    return str(preset["_id"])


async def _participant(call: Call) -> dict[str, Any]:
    await _meeting(call)
    doc = await call.services.store.rtk_participants.get(
        call.path["app_id"], call.path["participant_id"], meeting_id=call.path["meeting_id"]
    )
    if doc is None:
        raise NotFound(f"participant {call.path['participant_id']} not found", code="participant_not_found")
    return doc


@rtk_route(
    "GET",
    PATH,
    tag=TAG,
    params=(APP_ID, MEETING_ID),
    query=PAGE_QUERY,
    ok=(200, list_of(PARTICIPANT)),
    summary="Fetch all participants of a meeting, newest first",
    responses={200: "A page of participants", 400: "Invalid query", **NOT_FOUND},
)
async def rtk_list_participants(call: Call) -> Reply:
    await _meeting(call)
    _, per_page, skip = page_window(call)
    docs, total = await call.services.store.rtk_participants.page(
        call.path["app_id"], {"meeting_id": call.path["meeting_id"]}, skip, per_page
    )
    return paged([readable_participant(d) for d in docs], skip, total)


@rtk_route(
    "POST",
    PATH,
    tag=TAG,
    params=(APP_ID, MEETING_ID),
    body=ADD_PARTICIPANT,
    audit="rtk.participant.add",
    summary="Add a participant; answers its token",
    ok=(201, envelope(PARTICIPANT_WITH_TOKEN)),
    responses={
        201: "Participant added",
        400: "Invalid field or unknown preset",
        **NOT_FOUND,
        409: "custom_participant_id is in use in this meeting",
    },
)
async def rtk_add_participant(call: Call) -> Reply:
    await _meeting(call)
    fields = {"name": None, "picture": None, **call.body}
    fields["preset_id"] = await _preset_id(call, fields["preset_name"])
    scope = {"account_id": call.path["account_id"], "meeting_id": call.path["meeting_id"]}
    try:
        doc = await call.services.store.rtk_participants.create(call.path["app_id"], fields, scope=scope)
    except NameTaken:
        raise Conflict(
            f"custom_participant_id {fields['custom_participant_id']!r} is in use in this meeting",
            code="participant_exists",
        ) from None
    call.target = {"type": "rtkParticipant", "id": doc["_id"], "meetingId": call.path["meeting_id"]}
    return ok(readable_participant(doc, _token(call, doc)), 201)


@rtk_route(
    "GET",
    PATH + "/{participant_id}",
    tag=TAG,
    params=(APP_ID, MEETING_ID, PARTICIPANT_ID),
    summary="Fetch a participant's detail",
    ok=(200, envelope(PARTICIPANT)),
    responses={200: "The participant", 400: "Invalid id", **NOT_FOUND},
)
async def rtk_get_participant(call: Call) -> Reply:
    return ok(readable_participant(await _participant(call)))


@rtk_route(
    "PATCH",
    PATH + "/{participant_id}",
    tag=TAG,
    params=(APP_ID, MEETING_ID, PARTICIPANT_ID),
    body=EDIT_PARTICIPANT,
    audit="rtk.participant.edit",
    ok=(200, envelope(PARTICIPANT_WITH_TOKEN)),
    summary="Edit a participant's name, picture or preset; answers a fresh token",
    responses={200: "The edited participant", 400: "Invalid field or unknown preset", **NOT_FOUND},
)
async def rtk_edit_participant(call: Call) -> Reply:
    await _participant(call)
    fields = dict(call.body)
    if "preset_name" in fields:
        fields["preset_id"] = await _preset_id(call, fields["preset_name"])
    call.target = {"type": "rtkParticipant", "id": call.path["participant_id"]}
    doc = await call.services.store.rtk_participants.set_fields(
        call.path["app_id"], call.path["participant_id"], fields, meeting_id=call.path["meeting_id"]
    )
    if doc is None:
        raise NotFound(f"participant {call.path['participant_id']} not found", code="participant_not_found")
    return ok(readable_participant(doc, _token(call, doc)))


@rtk_route(
    "DELETE",
    PATH + "/{participant_id}",
    tag=TAG,
    params=(APP_ID, MEETING_ID, PARTICIPANT_ID),
    audit="rtk.participant.delete",
    ok=(200, envelope(DELETED_PARTICIPANT)),
    summary="Delete a participant; its tokens are refused from then on",
    responses={200: "The deleted participant", 400: "Invalid id", **NOT_FOUND},
)
async def rtk_delete_participant(call: Call) -> Reply:
    await _meeting(call)
    call.target = {"type": "rtkParticipant", "id": call.path["participant_id"]}
    doc = await call.services.store.rtk_participants.delete(
        call.path["app_id"], call.path["participant_id"], meeting_id=call.path["meeting_id"]
    )
    if doc is None:
        raise NotFound(f"participant {call.path['participant_id']} not found", code="participant_not_found")
    return ok(
        {
            "created_at": doc["created_at"],
            "updated_at": doc["updated_at"],
            "custom_participant_id": doc["custom_participant_id"],
            "preset_id": doc["preset_id"],
        }
    )


@rtk_route(
    "POST",
    PATH + "/{participant_id}/token",
    tag=TAG,
    params=(APP_ID, MEETING_ID, PARTICIPANT_ID),
    audit="rtk.participant.token",
    summary="Refresh participant's authentication token",
    ok=(200, envelope(obj({"token": string("Regenerated token", max_length=4096)}, ("token",)))),
    responses={200: "A new token", 400: "Invalid id", **NOT_FOUND},
)
async def rtk_refresh_participant_token(call: Call) -> Reply:
    doc = await _participant(call)
    call.target = {"type": "rtkParticipant", "id": doc["_id"]}
    return ok({"token": _token(call, doc)})


ROUTES = (
    rtk_list_participants,
    rtk_add_participant,
    rtk_get_participant,
    rtk_edit_participant,
    rtk_delete_participant,
    rtk_refresh_participant_token,
)
