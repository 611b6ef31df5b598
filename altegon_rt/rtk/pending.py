"""RealtimeKit routes declared with their request schemas but not built yet: each answers 501.

Sessions and the active session (kick, polls) need wiring of a later step; independent livestreams (``POST
/livestreams``) need an RTMP ingest we do not have (recordings and meeting livestreams: ``recordings.py``,
``livestreams.py``). Until then each route authenticates like the others (401/403, then 404 for an
unknown app) and answers 501 ``not_implemented`` naming the feature, never something that looks like data.
A route moves to its own module when its feature is built.
"""

from __future__ import annotations

import re
from typing import Any

from altegon_rt.api.routing import Call, Reply, Route
from altegon_rt.api.schema import Field
from altegon_rt.errors import NotImplementedYet
from altegon_rt.rtk.http import APP_ID, PAGE_QUERY, BoolQuery, DateQuery, rtk_route, uuid_param
from altegon_rt.rtk.jsonschema import Body, boolean, enum, integer, obj, string
from altegon_rt.rtk.meeting_schema import RECORDING_CONFIG

TAG = "realtimekit (not built yet)"
UUID_LIST = {"type": "array", "items": {"type": "string", "maxLength": 256}, "maxItems": 100}
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
KICK = Body("RtkKickRequest", obj({"participant_ids": UUID_LIST, "custom_participant_ids": UUID_LIST}))
POLL = Body(
    "RtkCreatePollRequest",
    obj(
        {
            "question": string("The question", max_length=1000, min_length=1),
            "options": {"type": "array", "items": string(max_length=256), "minItems": 1, "maxItems": 20},
            "anonymous": boolean("Hide who voted what"),
            "hide_votes": boolean("Hide the counts until the poll ends"),
        },
        ("question", "options"),
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

SESSION, PARTICIPANT, PEER = (
    uuid_param("session_id", "session"),
    uuid_param("participant_id", "participant"),
    Field("peer_id", "string", max_length=256, description="The peer's id"),
)
MEETING, RECORDING = uuid_param("meeting_id", "meeting"), uuid_param("recording_id", "recording")
LIVESTREAM = uuid_param("livestream_id", "livestream")
LIVESTREAM_SESSION = uuid_param("livestream_session_id", "livestream session")  # the spec spells it with "-"

# (method, path under /{app_id}, feature, extra path params, query, body)
_PENDING: tuple[tuple[str, str, str, tuple[Field, ...], tuple[Field, ...], Any], ...] = (
    (
        "GET",
        "/sessions",
        "RealtimeKit sessions",
        (),
        (
            TEXT["associated_id"],
            *TIME_RANGE,
            *PAGE_QUERY,
            TEXT["search"],
            TEXT["status"],
            TEXT["sort_by"],
            TEXT["sort_order"],
        ),
        None,
    ),
    (
        "GET",
        "/sessions/{session_id}",
        "RealtimeKit sessions",
        (SESSION,),
        (BoolQuery("include_breakout_rooms", "boolean", required=False),),
        None,
    ),
    (
        "GET",
        "/sessions/{session_id}/participants",
        "RealtimeKit session participants",
        (SESSION,),
        (
            BoolQuery("include_peer_events", "boolean", required=False),
            *PAGE_QUERY,
            TEXT["search"],
            TEXT["sort_by"],
            TEXT["sort_order"],
        ),
        None,
    ),
    (
        "GET",
        "/sessions/{session_id}/participants/{participant_id}",
        "RealtimeKit session participants",
        (SESSION, PARTICIPANT),
        (TEXT["filters"], BoolQuery("include_peer_events", "boolean", required=False)),
        None,
    ),
    ("GET", "/sessions/{session_id}/chat", "RealtimeKit session chat", (SESSION,), (), None),
    ("GET", "/sessions/{session_id}/transcript", "RealtimeKit session transcripts", (SESSION,), (), None),
    ("GET", "/sessions/{session_id}/summary", "RealtimeKit session summaries", (SESSION,), (), None),
    ("POST", "/sessions/{session_id}/summary", "RealtimeKit session summaries", (SESSION,), (), None),
    ("GET", "/sessions/peer-report/{peer_id}", "RealtimeKit peer reports", (PEER,), (TEXT["filters"],), None),
    ("GET", "/meetings/{meeting_id}/active-session", "RealtimeKit active sessions", (MEETING,), (), None),
    ("POST", "/meetings/{meeting_id}/active-session/kick", "RealtimeKit kicking participants", (MEETING,), (), KICK),
    (
        "POST",
        "/meetings/{meeting_id}/active-session/kick-all",
        "RealtimeKit kicking participants",
        (MEETING,),
        (),
        None,
    ),
    ("POST", "/meetings/{meeting_id}/active-session/poll", "RealtimeKit polls", (MEETING,), (), POLL),
    ("POST", "/livestreams", "RealtimeKit livestreams", (), (), NAME_ONLY),
)


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
