"""``/admin/api-tokens``: administrators create, list and revoke RealtimeKit API tokens of an account.

An account exists by having tokens: ``account_id`` is the id that RealtimeKit paths carry
(``/accounts/{account_id}/realtime/kit/...``), letters, digits, ``-`` and ``_``. The token is answered once,
by the create; only its digest is kept (:mod:`altegon_rt.rtk.auth`).
"""

from __future__ import annotations

from typing import Any

from altegon_rt.api.routing import ADMIN, Call, Reply, endpoint
from altegon_rt.api.schema import Field
from altegon_rt.errors import NotFound
from altegon_rt.rtk.auth import make_token
from altegon_rt.rtk.http import UuidField
from altegon_rt.rtk.jsonschema import DATE_TIME, UUID_STRING, Body, envelope, obj, string

ACCOUNT_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
CREATE_TOKEN = Body(
    "RtkCreateApiTokenRequest",
    obj(
        {
            "name": string("What the token is for", max_length=100, min_length=1),
            "account_id": string(
                "The account the token acts for", max_length=64, min_length=1, pattern=ACCOUNT_PATTERN
            ),
        },
        ("name", "account_id"),
    ),
)
TOKEN_INFO = obj(
    {
        "id": UUID_STRING,
        "name": string(max_length=100),
        "account_id": string(max_length=64),
        "prefix": string(max_length=32),
        "created_at": DATE_TIME,
        "created_by": string(max_length=64),
        "revoked_at": {**DATE_TIME, "type": ["string", "null"]},
    },
    ("id", "name", "account_id", "prefix", "created_at", "revoked_at"),
)
NEW_TOKEN = obj(
    {**TOKEN_INFO["properties"], "token": string("The API token; shown only now", max_length=200)},
    ("id", "token", "name", "account_id", "created_at"),
)
ADMIN_ERRORS = {401: "Not signed in", 403: "Not an admin"}


def _info(doc: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": doc["_id"],
        "name": doc["name"],
        "account_id": doc["account_id"],
        "prefix": doc["prefix"],
        "created_at": doc["created_at"],
        "created_by": doc.get("created_by", ""),
        "revoked_at": doc.get("revoked_at"),
    }


@endpoint(
    "POST",
    "/admin/api-tokens",
    tag="realtimekit admin",
    auth=ADMIN,
    body=CREATE_TOKEN,
    audit="rtk.token.create",
    summary="Create a RealtimeKit API token for an account; the token is shown once, only its digest is stored",
    responses={201: "Token created", 400: "Invalid field", **ADMIN_ERRORS},
    schemas={201: envelope(NEW_TOKEN)},
)
async def create_api_token(call: Call) -> Reply:
    token = make_token()
    doc = await call.services.store.rtk_tokens.create(
        account_id=call.body["account_id"],
        name=call.body["name"],
        prefix=token.prefix,
        digest=token.digest,
        created_by=call.user.user_id,
    )
    call.target = {"type": "rtkApiToken", "id": doc["_id"], "accountId": doc["account_id"]}
    return Reply(201, {"success": True, "data": {**_info(doc), "token": token.plain}})


@endpoint(
    "GET",
    "/admin/api-tokens",
    tag="realtimekit admin",
    auth=ADMIN,
    query=(Field("account_id", "string", required=False, max_length=64, description="Only this account's"),),
    summary="List RealtimeKit API tokens (never the tokens themselves), newest first",
    responses={200: "The tokens", **ADMIN_ERRORS},
    schemas={200: envelope({"type": "array", "items": TOKEN_INFO})},
)
async def list_api_tokens(call: Call) -> Reply:
    docs = await call.services.store.rtk_tokens.list(call.query.get("account_id"))
    return Reply(200, {"success": True, "data": [_info(d) for d in docs]})


@endpoint(
    "DELETE",
    "/admin/api-tokens/{token_id}",
    tag="realtimekit admin",
    auth=ADMIN,
    audit="rtk.token.revoke",
    params=(UuidField("token_id", "id", description="The token's id"),),
    summary="Revoke a RealtimeKit API token; it is refused from then on",
    responses={204: "Revoked", 400: "Not a UUID", 404: "No such active token", **ADMIN_ERRORS},
)
async def revoke_api_token(call: Call) -> Reply:
    call.target = {"type": "rtkApiToken", "id": call.path["token_id"]}
    if not await call.services.store.rtk_tokens.revoke(call.path["token_id"]):
        raise NotFound("no active API token with this id")
    return Reply(204)


ROUTES = (create_api_token, list_api_tokens, revoke_api_token)
