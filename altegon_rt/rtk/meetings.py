"""RealtimeKit apps and meetings: create, fetch, list (search, time range, paging), PATCH and PUT.

A meeting's document is :data:`altegon_rt.rtk.meeting_schema.MEETING_FIELDS` with the spec's defaults
(``status`` ACTIVE, keep-alive 60 s, the AI config's defaults...). PATCH merges what it is given into the
stored meeting, objects key by key, and checks the result; PUT replaces every field, defaults for the ones
it leaves out. An INACTIVE meeting refuses joins (:mod:`altegon_rt.rtk.participant_tokens`).
"""

from __future__ import annotations

from typing import Any

from altegon_rt.api.routing import Call, Reply
from altegon_rt.api.schema import Field
from altegon_rt.errors import NotFound
from altegon_rt.rtk.http import (
    APP_ID,
    PAGE_QUERY,
    DateQuery,
    list_of,
    ok,
    page_window,
    paged,
    rtk_route,
    uuid_param,
)
from altegon_rt.rtk.jsonschema import DATE_TIME, UUID_STRING, Body, check, deep_merge, envelope, obj, string
from altegon_rt.rtk.meeting_schema import (
    CREATE_MEETING,
    MEETING,
    MEETING_FIELDS,
    MEETING_SCHEMA,
    REPLACE_MEETING,
    UPDATE_MEETING,
    readable_meeting,
)

APP = obj({"id": UUID_STRING, "created_at": DATE_TIME, "name": string(max_length=256)}, ("id", "created_at", "name"))
CREATE_APP = Body(
    "RtkCreateAppRequest", obj({"name": string("Name of the app", max_length=256, min_length=1)}, ("name",))
)
MEETING_ID = uuid_param("meeting_id", "meeting")
NOT_FOUND = {404: "No such app or meeting in this account"}
LIST_QUERY = (
    *PAGE_QUERY,
    Field("search", "string", required=False, max_length=256, description="Only meetings whose title has this text"),
    DateQuery("start_time", "string", required=False, description="Only meetings created at or after this time"),
    DateQuery("end_time", "string", required=False, description="Only meetings created at or before this time"),
)


def _app(doc: dict[str, Any]) -> dict[str, Any]:
    return {"id": doc["_id"], "created_at": doc["created_at"], "name": doc["name"]}


@rtk_route(
    "GET",
    "/apps",
    tag="realtimekit apps",
    summary="Fetch all apps",
    ok=(200, envelope({"type": "array", "items": APP})),
    responses={200: "The account's apps"},
)
async def rtk_list_apps(call: Call) -> Reply:
    docs = await call.services.store.rtk_apps.list(call.path["account_id"])
    return ok([_app(d) for d in docs])


@rtk_route(
    "POST",
    "/apps",
    tag="realtimekit apps",
    summary="Create App",
    body=CREATE_APP,
    audit="rtk.app.create",
    ok=(201, envelope(obj({"app": APP}, ("app",)))),
    responses={201: "App created", 400: "Invalid field"},
)
async def rtk_create_app(call: Call) -> Reply:
    doc = await call.services.store.rtk_apps.create(call.path["account_id"], call.body["name"])
    call.target = {"type": "rtkApp", "id": doc["_id"]}
    return ok({"app": _app(doc)}, 201)


async def _meeting(call: Call) -> dict[str, Any]:
    """The path's meeting (after checking the app is the account's), or 404."""
    await call.services.rtk.require_app(call.path["account_id"], call.path["app_id"])
    doc = await call.services.store.rtk_meetings.get(call.path["app_id"], call.path["meeting_id"])
    if doc is None:
        raise NotFound(f"meeting {call.path['meeting_id']} not found", code="meeting_not_found")
    return doc


@rtk_route(
    "GET",
    "/{app_id}/meetings",
    tag="realtimekit meetings",
    params=(APP_ID,),
    query=LIST_QUERY,
    summary="Fetch all meetings for an App, newest first",
    ok=(200, list_of(MEETING)),
    responses={200: "A page of meetings", 400: "Invalid query", **NOT_FOUND},
)
async def rtk_list_meetings(call: Call) -> Reply:
    app_id = call.path["app_id"]
    await call.services.rtk.require_app(call.path["account_id"], app_id)
    q = call.query
    _, per_page, skip = page_window(call)
    docs, total = await call.services.store.rtk_meetings.list_page(
        app_id, q.get("search"), q.get("start_time"), q.get("end_time"), skip, per_page
    )
    return paged([readable_meeting(d) for d in docs], skip, total)


@rtk_route(
    "POST",
    "/{app_id}/meetings",
    tag="realtimekit meetings",
    params=(APP_ID,),
    body=CREATE_MEETING,
    audit="rtk.meeting.create",
    summary="Create a meeting",
    ok=(201, envelope(MEETING)),
    responses={201: "Meeting created", 400: "Invalid field", **NOT_FOUND},
)
async def rtk_create_meeting(call: Call) -> Reply:
    app_id = call.path["app_id"]
    await call.services.rtk.require_app(call.path["account_id"], app_id)
    doc = await call.services.store.rtk_meetings.create(
        app_id, call.body, scope={"account_id": call.path["account_id"]}
    )
    call.target = {"type": "rtkMeeting", "id": doc["_id"], "appId": app_id}
    return ok(readable_meeting(doc), 201)


@rtk_route(
    "GET",
    "/{app_id}/meetings/{meeting_id}",
    tag="realtimekit meetings",
    params=(APP_ID, MEETING_ID),
    query=(Field("name", "string", required=False, max_length=256, description="Ignored (in the spec)"),),
    summary="Fetch a meeting for an App",
    ok=(200, envelope(MEETING)),
    responses={200: "The meeting", 400: "Invalid id", **NOT_FOUND},
)
async def rtk_get_meeting(call: Call) -> Reply:
    return ok(readable_meeting(await _meeting(call)))


async def _store_fields(call: Call, fields: dict[str, Any]) -> Reply:
    unset = tuple(k for k in MEETING_FIELDS if k not in fields)
    call.target = {"type": "rtkMeeting", "id": call.path["meeting_id"], "appId": call.path["app_id"]}
    doc = await call.services.store.rtk_meetings.set_fields(
        call.path["app_id"], call.path["meeting_id"], fields, unset=unset
    )
    if doc is None:
        raise NotFound(f"meeting {call.path['meeting_id']} not found", code="meeting_not_found")
    return ok(readable_meeting(doc))


@rtk_route(
    "PATCH",
    "/{app_id}/meetings/{meeting_id}",
    tag="realtimekit meetings",
    params=(APP_ID, MEETING_ID),
    body=UPDATE_MEETING,
    audit="rtk.meeting.update",
    ok=(200, envelope(MEETING)),
    summary="Update a meeting: the fields given are merged into it (objects key by key)",
    responses={200: "The updated meeting", 400: "Invalid field", **NOT_FOUND},
)
async def rtk_update_meeting(call: Call) -> Reply:
    current = await _meeting(call)
    stored = {k: current[k] for k in MEETING_FIELDS if current.get(k) is not None}
    return await _store_fields(call, check(MEETING_SCHEMA, deep_merge(stored, call.body)))


@rtk_route(
    "PUT",
    "/{app_id}/meetings/{meeting_id}",
    tag="realtimekit meetings",
    params=(APP_ID, MEETING_ID),
    body=REPLACE_MEETING,
    audit="rtk.meeting.replace",
    ok=(200, envelope(MEETING)),
    summary="Replace a meeting: every field, the defaults for those left out",
    responses={200: "The replaced meeting", 400: "Invalid field", **NOT_FOUND},
)
async def rtk_replace_meeting(call: Call) -> Reply:
    await _meeting(call)
    return await _store_fields(call, call.body)


ROUTES = (
    rtk_list_apps,
    rtk_create_app,
    rtk_list_meetings,
    rtk_create_meeting,
    rtk_get_meeting,
    rtk_update_meeting,
    rtk_replace_meeting,
)
