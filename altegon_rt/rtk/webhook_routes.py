"""RealtimeKit webhooks of an app: list, add, fetch, replace (PUT), edit (PATCH) and delete.

Delivery is :mod:`altegon_rt.rtk.webhooks`. Each webhook gets a signing secret when it is added; the add
answers it once, as ``secret`` (besides the spec's fields), and it is never answered again.
"""

from __future__ import annotations

import secrets
from typing import Any

from altegon_rt.api.routing import Call, Reply
from altegon_rt.errors import NotFound
from altegon_rt.rtk.http import APP_ID, ok, rtk_route, uuid_param
from altegon_rt.rtk.jsonschema import DATE_TIME, UUID_STRING, Body, boolean, check, deep_merge, envelope, obj, string
from altegon_rt.rtk.webhooks import EVENTS

WEBHOOK_ID = uuid_param("webhook_id", "webhook")
TAG = "realtimekit webhooks"
NOT_FOUND = {404: "No such app or webhook in this account"}
FIELDS: dict[str, Any] = {
    "name": string("Name of the webhook", max_length=256, min_length=1),
    "url": string("URL the webhook will send events to", max_length=2048, format="uri"),
    "events": {
        "type": "array",
        "items": {"type": "string", "enum": list(EVENTS)},
        "minItems": 1,
        "maxItems": len(EVENTS),
        "description": "Events this webhook will send updates for",
    },
    "enabled": boolean("Set to true if the webhook is active", default=True),
}
FULL = obj(FIELDS, ("name", "url", "events"))
CREATE = Body("RtkCreateWebhookRequest", FULL)
REPLACE = Body("RtkReplaceWebhookRequest", FULL)
EDIT = Body("RtkEditWebhookRequest", FULL, partial=True)
WEBHOOK = obj(
    {
        "id": UUID_STRING,
        "created_at": DATE_TIME,
        "updated_at": DATE_TIME,
        **{k: {kk: vv for kk, vv in v.items() if kk != "default"} for k, v in FIELDS.items()},
    },
    ("id", "created_at", "enabled", "events", "name", "updated_at", "url"),
)
NEW_WEBHOOK = {
    **WEBHOOK,
    "properties": {
        **WEBHOOK["properties"],
        "secret": string("The key of the deliveries' HMAC-SHA256 signatures; shown only now", max_length=128),
    },
}


def _clean(fields: dict[str, Any]) -> dict[str, Any]:
    if "events" in fields:
        fields = {**fields, "events": sorted(set(fields["events"]), key=EVENTS.index)}
    return fields


def _readable(doc: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": doc["_id"],
        "created_at": doc["created_at"],
        "updated_at": doc["updated_at"],
        **{k: doc[k] for k in FIELDS},
    }


async def _webhook(call: Call) -> dict[str, Any]:
    await call.services.rtk.require_app(call.path["account_id"], call.path["app_id"])
    doc = await call.services.store.rtk_webhooks.get(call.path["app_id"], call.path["webhook_id"])
    if doc is None:
        raise NotFound(f"webhook {call.path['webhook_id']} not found", code="webhook_not_found")
    return doc


@rtk_route(
    "GET",
    "/{app_id}/webhooks",
    tag=TAG,
    params=(APP_ID,),
    summary="Fetch all webhooks details",
    ok=(200, envelope({"type": "array", "items": WEBHOOK})),
    responses={200: "The webhooks", **NOT_FOUND},
)
async def rtk_list_webhooks(call: Call) -> Reply:
    await call.services.rtk.require_app(call.path["account_id"], call.path["app_id"])
    return ok([_readable(d) for d in await call.services.store.rtk_webhooks.all_for(call.path["app_id"])])


@rtk_route(
    "POST",
    "/{app_id}/webhooks",
    tag=TAG,
    params=(APP_ID,),
    body=CREATE,
    audit="rtk.webhook.create",
    summary="Add a webhook; answers its signing secret once",
    ok=(201, envelope(NEW_WEBHOOK)),
    responses={201: "Webhook added", 400: "Invalid field", **NOT_FOUND},
)
async def rtk_create_webhook(call: Call) -> Reply:
    await call.services.rtk.require_app(call.path["account_id"], call.path["app_id"])
    fields = {**_clean(call.body), "secret": "whsec_" + secrets.token_urlsafe(32)}
    doc = await call.services.store.rtk_webhooks.create(
        call.path["app_id"], fields, scope={"account_id": call.path["account_id"]}
    )
    call.target = {"type": "rtkWebhook", "id": doc["_id"]}
    return ok({**_readable(doc), "secret": doc["secret"]}, 201)


@rtk_route(
    "GET",
    "/{app_id}/webhooks/{webhook_id}",
    tag=TAG,
    params=(APP_ID, WEBHOOK_ID),
    summary="Fetch details of a webhook",
    ok=(200, envelope(WEBHOOK)),
    responses={200: "The webhook", 400: "Invalid id", **NOT_FOUND},
)
async def rtk_get_webhook(call: Call) -> Reply:
    return ok(_readable(await _webhook(call)))


async def _store(call: Call, fields: dict[str, Any]) -> Reply:
    call.target = {"type": "rtkWebhook", "id": call.path["webhook_id"]}
    doc = await call.services.store.rtk_webhooks.set_fields(call.path["app_id"], call.path["webhook_id"], fields)
    if doc is None:
        raise NotFound(f"webhook {call.path['webhook_id']} not found", code="webhook_not_found")
    return ok(_readable(doc))


@rtk_route(
    "PUT",
    "/{app_id}/webhooks/{webhook_id}",
    tag=TAG,
    params=(APP_ID, WEBHOOK_ID),
    body=REPLACE,
    audit="rtk.webhook.replace",
    summary="Replace a webhook",
    ok=(200, envelope(WEBHOOK)),
    responses={200: "The replaced webhook", 400: "Invalid field", **NOT_FOUND},
)
async def rtk_replace_webhook(call: Call) -> Reply:
    await _webhook(call)
    return await _store(call, _clean(call.body))


@rtk_route(
    "PATCH",
    "/{app_id}/webhooks/{webhook_id}",
    tag=TAG,
    params=(APP_ID, WEBHOOK_ID),
    body=EDIT,
    audit="rtk.webhook.edit",
    summary="Edit a webhook",
    ok=(200, envelope(WEBHOOK)),
    responses={200: "The edited webhook", 400: "Invalid field", **NOT_FOUND},
)
async def rtk_edit_webhook(call: Call) -> Reply:
    current = await _webhook(call)
    merged = check(FULL, deep_merge({k: current[k] for k in FIELDS}, call.body))
    return await _store(call, _clean(merged))


@rtk_route(
    "DELETE",
    "/{app_id}/webhooks/{webhook_id}",
    tag=TAG,
    params=(APP_ID, WEBHOOK_ID),
    audit="rtk.webhook.delete",
    summary="Delete a webhook",
    ok=(200, envelope(WEBHOOK)),
    responses={200: "The deleted webhook", 400: "Invalid id", **NOT_FOUND},
)
async def rtk_delete_webhook(call: Call) -> Reply:
    await call.services.rtk.require_app(call.path["account_id"], call.path["app_id"])
    call.target = {"type": "rtkWebhook", "id": call.path["webhook_id"]}
    doc = await call.services.store.rtk_webhooks.delete(call.path["app_id"], call.path["webhook_id"])
    if doc is None:
        raise NotFound(f"webhook {call.path['webhook_id']} not found", code="webhook_not_found")
    return ok(_readable(doc))


ROUTES = (
    rtk_list_webhooks,
    rtk_create_webhook,
    rtk_get_webhook,
    rtk_replace_webhook,
    rtk_edit_webhook,
    rtk_delete_webhook,
)
