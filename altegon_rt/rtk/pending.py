"""RealtimeKit routes declared with their request schemas but not built yet (each answers 501), and the request
schemas and parameters that the built routes share.

Every route of the spec is built now (sessions and the active session: ``session_routes.py``,
``active_session.py``; recordings and livestreams: ``recordings.py``, ``livestreams.py``), so
:data:`_PENDING` is empty. A route added to it authenticates like the others (401/403, then 404 for an
unknown app) and answers 501 ``not_implemented`` naming the feature, never something that looks like data.
"""

from __future__ import annotations

import re
from typing import Any

from altegon_rt.api.routing import Call, Reply, Route
from altegon_rt.api.schema import Field
from altegon_rt.errors import NotImplementedYet
from altegon_rt.rtk.http import APP_ID, DateQuery, rtk_route, uuid_param
from altegon_rt.rtk.jsonschema import Body, boolean, enum, integer, obj, string
from altegon_rt.rtk.meeting_schema import RECORDING_CONFIG

TAG = "realtimekit (not built yet)"
TIME_RANGE = (
    DateQuery("start_time", "string", required=False, description="From this time"),
    DateQuery("end_time", "string", required=False, description="Until this time"),
)
TEXT = {
    name: Field(name, "string", required=False, max_length=256, description=name.replace("_", " "))
    for name in (
        "associated_id",
        "search",
        "status",
        "sort_by",
        "sort_order",
        "filters",
        "meeting_id",
        "start_date",
        "end_date",
    )
}

START_RECORDING = Body(
    "RtkStartRecordingRequest",
    obj(
        {
            "meeting_id": string("The meeting to record", max_length=64, format="uuid"),
            "allow_multiple_recordings": boolean("Allow more than one recording of the meeting at a time"),
            **RECORDING_CONFIG["properties"],
        },
        ("meeting_id",),
    ),
)
RECORDING_ACTION = Body("RtkRecordingActionRequest", obj({"action": enum(("stop", "pause", "resume"))}, ("action",)))
TRACK_RECORDING = Body(
    "RtkTrackRecordingRequest",
    obj(
        {
            "meeting_id": string("The meeting whose tracks to record", max_length=64, format="uuid"),
            "layers": {"type": "object", "description": "Which tracks go to which output"},
            "max_seconds": integer(60, 86400, "Maximum duration in seconds"),
        },
        ("meeting_id",),
    ),
)
NAME_ONLY = Body(
    "RtkCreateLivestreamRequest", obj({"name": {**string("Name of the livestream"), "type": ["string", "null"]}})
)
START_LIVESTREAM = Body(
    "RtkStartLivestreamRequest",
    obj(
        {
            "name": {**string("Name of the livestream"), "type": ["string", "null"]},
            "video_config": obj({"height": integer(1, 1920, "Height in px"), "width": integer(1, 1920, "Width in px")}),
        }
    ),
)

MEETING, RECORDING = uuid_param("meeting_id", "meeting"), uuid_param("recording_id", "recording")
LIVESTREAM = uuid_param("livestream_id", "livestream")
LIVESTREAM_SESSION = uuid_param("livestream_session_id", "livestream session")  # the spec spells it with "-"

# (method, path under /{app_id}, feature, extra path params, query, body)
_PENDING: tuple[tuple[str, str, str, tuple[Field, ...], tuple[Field, ...], Any], ...] = ()


def _route(
    method: str, path: str, feature: str, params: tuple[Field, ...], query: tuple[Field, ...], body: Any
) -> Route:
    async def handler(call: Call) -> Reply:
        await call.services.rtk.require_app(call.path["account_id"], call.path["app_id"])
        raise NotImplementedYet(f"not built in this version of Altegon RT: {feature} ({method} {path})")

    handler.__name__ = "rtk_not_built_" + re.sub(r"\W+", "_", f"{method}_{path}").strip("_").lower()
    responses = {501: f"{feature}: not built yet", 400: "Invalid field", 404: "No such app in this account"}
    return rtk_route(
        method,
        "/{app_id}" + path,
        tag=TAG,
        summary=f"Not built yet: {feature} (answers 501)",
        ok=(200, {}),
        responses=responses,
        params=(APP_ID, *params),
        query=query,
        body=body,
    )(handler)


ROUTES = tuple(_route(*entry) for entry in _PENDING)
