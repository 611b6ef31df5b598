"""RealtimeKit presets of an app: list, create, fetch, PATCH (merged, then checked whole) and delete.

A preset's name is unique in its app (another → 409); participants are added by preset name and keep the
preset's id, so renaming a preset keeps its participants on it. A participant whose preset was deleted can no
longer join (its token is refused on CONNECT).
"""

from __future__ import annotations

from typing import Any

from altegon_rt.api.routing import Call, Reply
from altegon_rt.errors import Conflict, NotFound
from altegon_rt.rtk.http import APP_ID, PAGE_QUERY, list_of, ok, page_window, paged, rtk_route, uuid_param
from altegon_rt.rtk.jsonschema import check, deep_merge, envelope
from altegon_rt.rtk.preset_schema import (
    CREATE_PRESET,
    FULL_PRESET,
    PRESET,
    PRESET_FIELDS,
    PRESET_SUMMARY,
    UPDATE_PRESET,
    readable_preset,
)
from altegon_rt.store.rtk import NameTaken

PRESET_ID = uuid_param("preset_id", "preset")
TAG = "realtimekit presets"
NOT_FOUND = {404: "No such app or preset in this account"}


def _taken(name: str) -> Conflict:
    return Conflict(f"a preset named {name!r} exists in this app already", code="preset_exists")


async def _preset(call: Call) -> dict[str, Any]:
    await call.services.rtk.require_app(call.path["account_id"], call.path["app_id"])
    doc = await call.services.store.rtk_presets.get(call.path["app_id"], call.path["preset_id"])
    if doc is None:
        raise NotFound(f"preset {call.path['preset_id']} not found", code="preset_not_found")
    return doc


@rtk_route(
    "GET",
    "/{app_id}/presets",
    tag=TAG,
    params=(APP_ID,),
    query=PAGE_QUERY,
    summary="Fetch all presets",
    ok=(200, list_of(PRESET_SUMMARY)),
    responses={200: "A page of presets", 400: "Invalid query", **NOT_FOUND},
)
async def rtk_list_presets(call: Call) -> Reply:
    await call.services.rtk.require_app(call.path["account_id"], call.path["app_id"])
    _, per_page, skip = page_window(call)
    docs, total = await call.services.store.rtk_presets.page(call.path["app_id"], {}, skip, per_page)
    summary = [
        {"id": d["_id"], "created_at": d["created_at"], "name": d["name"], "updated_at": d["updated_at"]} for d in docs
    ]
    return paged(summary, skip, total)


@rtk_route(
    "POST",
    "/{app_id}/presets",
    tag=TAG,
    params=(APP_ID,),
    body=CREATE_PRESET,
    audit="rtk.preset.create",
    summary="Create a preset",
    ok=(201, envelope(PRESET)),
    responses={
        201: "Preset created",
        400: "Invalid field (named)",
        **NOT_FOUND,
        409: "The app has a preset of this name",
    },
)
async def rtk_create_preset(call: Call) -> Reply:
    await call.services.rtk.require_app(call.path["account_id"], call.path["app_id"])
    try:
        doc = await call.services.store.rtk_presets.create(
            call.path["app_id"], call.body, scope={"account_id": call.path["account_id"]}
        )
    except NameTaken:
        raise _taken(call.body["name"]) from None
    call.target = {"type": "rtkPreset", "id": doc["_id"]}
    return ok(readable_preset(doc), 201)


@rtk_route(
    "GET",
    "/{app_id}/presets/{preset_id}",
    tag=TAG,
    params=(APP_ID, PRESET_ID),
    summary="Fetch details of a preset",
    ok=(200, envelope(PRESET)),
    responses={200: "The preset", 400: "Invalid id", **NOT_FOUND},
)
async def rtk_get_preset(call: Call) -> Reply:
    return ok(readable_preset(await _preset(call)))


@rtk_route(
    "PATCH",
    "/{app_id}/presets/{preset_id}",
    tag=TAG,
    params=(APP_ID, PRESET_ID),
    body=UPDATE_PRESET,
    audit="rtk.preset.update",
    summary="Update a preset: merged into it, then checked whole",
    ok=(200, envelope(PRESET)),
    responses={
        200: "The updated preset",
        400: "Invalid field (named)",
        **NOT_FOUND,
        409: "The app has a preset of this name",
    },
)
async def rtk_update_preset(call: Call) -> Reply:
    current = await _preset(call)
    merged = check(FULL_PRESET, deep_merge({k: current[k] for k in PRESET_FIELDS if k in current}, call.body))
    call.target = {"type": "rtkPreset", "id": current["_id"]}
    try:
        doc = await call.services.store.rtk_presets.replace_fields(call.path["app_id"], current["_id"], merged)
    except NameTaken:
        raise _taken(merged["name"]) from None
    if doc is None:
        raise NotFound(f"preset {call.path['preset_id']} not found", code="preset_not_found")
    return ok(readable_preset(doc))


@rtk_route(
    "DELETE",
    "/{app_id}/presets/{preset_id}",
    tag=TAG,
    params=(APP_ID, PRESET_ID),
    audit="rtk.preset.delete",
    summary="Delete a preset",
    ok=(200, envelope(PRESET)),
    responses={200: "The deleted preset", 400: "Invalid id", **NOT_FOUND},
)
async def rtk_delete_preset(call: Call) -> Reply:
    await call.services.rtk.require_app(call.path["account_id"], call.path["app_id"])
    call.target = {"type": "rtkPreset", "id": call.path["preset_id"]}
    doc = await call.services.store.rtk_presets.delete(call.path["app_id"], call.path["preset_id"])
    if doc is None:
        raise NotFound(f"preset {call.path['preset_id']} not found", code="preset_not_found")
    return ok(readable_preset(doc))


ROUTES = (rtk_list_presets, rtk_create_preset, rtk_get_preset, rtk_update_preset, rtk_delete_preset)
