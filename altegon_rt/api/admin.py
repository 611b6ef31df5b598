"""Administration: API keys for the ``x-api-key`` header, and reading the audit log."""

from __future__ import annotations

from altegon_rt.api.routing import ADMIN, Call, Reply, endpoint
from altegon_rt.api.schema import Field, Schema
from altegon_rt.auth.api_keys import make_key
from altegon_rt.errors import BadRequest, NotFound

CREATE_KEY = Schema(
    "CreateApiKeyRequest",
    (
        Field("name", "string", max_length=100, description="What the key is for", example="webinar backend"),
        Field("userId", "objectid", required=False, description="Account the key acts as (default: you)"),
    ),
)
KEY_ID = Field("keyId", "objectid", description="The key's id")
AUDIT_QUERY = (
    Field("actor", "objectid", required=False, description="Only entries by this user"),
    Field("action", "string", required=False, max_length=64, description="Only this action, e.g. auth.login"),
    Field("limit", "string", required=False, max_length=4, description="At most this many (1-1000)"),
)


@endpoint(
    "POST", "/admin/api-keys", tag="admin", auth=ADMIN, body=CREATE_KEY, audit="apikey.create",
    summary="Create an API key; the key is shown once and only its digest is stored",
    responses={201: "Key created", 400: "Invalid field", 401: "Not signed in", 403: "Not an admin"},
)  # fmt: skip
async def create_api_key(call: Call) -> Reply:
    store = call.services.store
    user_id = call.body.get("userId", call.user.user_id)
    if not await store.users.exists(user_id):
        raise BadRequest("field 'userId' names no user", code="invalid_field")
    key = make_key()
    key_id = await store.api_keys.create(
        prefix=key.prefix, digest=key.digest, user_id=user_id, name=call.body["name"],
        created_by=call.user.user_id,
    )  # fmt: skip
    call.target = {"type": "apiKey", "id": key_id, "userId": user_id}
    data = {"id": key_id, "key": key.plain, "prefix": key.prefix, "userId": user_id, "name": call.body["name"]}
    return Reply(201, {"success": True, "data": data})


@endpoint(
    "GET", "/admin/api-keys", tag="admin", auth=ADMIN, summary="List API keys (without secrets)",
    responses={200: "The keys", 401: "Not signed in", 403: "Not an admin"},
)  # fmt: skip
async def list_api_keys(call: Call) -> Reply:
    return Reply(200, {"success": True, "data": await call.services.store.api_keys.list_all()})


@endpoint(
    "DELETE", "/admin/api-keys/{keyId}", tag="admin", auth=ADMIN, params=(KEY_ID,), audit="apikey.revoke",
    summary="Revoke an API key",
    responses={204: "Revoked", 401: "Not signed in", 403: "Not an admin", 404: "No such active key"},
)  # fmt: skip
async def revoke_api_key(call: Call) -> Reply:
    call.target = {"type": "apiKey", "id": call.path["keyId"]}
    if not await call.services.store.api_keys.revoke(call.path["keyId"]):
        raise NotFound("no active API key with this id")
    return Reply(204)


@endpoint(
    "GET", "/admin/audit", tag="admin", auth=ADMIN, query=AUDIT_QUERY,
    summary="Read the audit log, newest first",
    responses={200: "Audit entries", 400: "Invalid filter", 401: "Not signed in", 403: "Not an admin"},
)  # fmt: skip
async def read_audit(call: Call) -> Reply:
    raw_limit = call.query.get("limit", "100")
    if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= 1000:
        raise BadRequest("query 'limit' must be an integer from 1 to 1000", code="invalid_field")
    entries = await call.services.store.audit.recent(
        actor=call.query.get("actor"), action=call.query.get("action"), limit=int(raw_limit)
    )
    return Reply(200, {"success": True, "data": entries})


ROUTES = (create_api_key, list_api_keys, revoke_api_key, read_audit)
