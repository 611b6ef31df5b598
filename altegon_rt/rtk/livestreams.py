"""RealtimeKit livestreams as HLS: of meetings (start/stop, the active livestream) and independent ones fed by
an RTMP encoder (``POST /livestreams``); livestreams and their sessions, and analytics (overall, day-wise).
The work is :mod:`altegon_rt.rtk.media`'s (meetings) and :mod:`altegon_rt.rtk.ingest`'s (RTMP).

A livestream plays at ``playback_url`` (``/hls/{streamId}/index.m3u8`` on this server) once it is ``LIVE``.
Ingest seconds are measured per session (start of media to stop); viewer seconds are not measured yet and are
answered as 0.
"""

from __future__ import annotations

import collections
import datetime as dt
from typing import Any

from altegon_rt.api.routing import Call, Reply
from altegon_rt.errors import NotFound, ServiceUnavailable
from altegon_rt.rtk.http import APP_ID, PAGE_QUERY, BoolQuery, DateQuery, list_of, ok, page_window, paged, rtk_route
from altegon_rt.rtk.jsonschema import DATE_TIME, UUID_STRING, envelope, obj
from altegon_rt.rtk.media import ACTIVE_LIVESTREAM, RtkMedia
from altegon_rt.rtk.pending import (
    LIVESTREAM,
    LIVESTREAM_SESSION,
    MEETING,
    NAME_ONLY,
    START_LIVESTREAM,
    TEXT,
    TIME_RANGE,
)

TAG = "realtimekit livestreams"
STATUSES = ("LIVE", "IDLE", "ERRORED", "INVOKED")
NULLABLE = {"type": ["string", "null"]}
LIVESTREAM_SCHEMA = obj(
    {
        "id": UUID_STRING, "created_at": DATE_TIME, "updated_at": DATE_TIME, "disabled": {"type": "boolean"},
        "ingest_server": NULLABLE, "meeting_id": NULLABLE, "name": NULLABLE, "playback_url": NULLABLE,
        "status": {"type": "string", "enum": list(STATUSES)}, "stream_key": NULLABLE,
    },
    ("id", "status"),
)  # fmt: skip
SESSION_SCHEMA = obj(
    {
        "id": UUID_STRING, "created_at": DATE_TIME, "updated_at": DATE_TIME, "err_message": NULLABLE,
        "ingest_seconds": {"type": "number"}, "viewer_seconds": {"type": "number"}, "livestream_id": UUID_STRING,
        "invoked_time": DATE_TIME, "started_time": {"type": ["string", "null"], "format": "date-time"},
        "stopped_time": {"type": ["string", "null"], "format": "date-time"},
    },
    ("id", "livestream_id"),
)  # fmt: skip
ERRORS = {400: "Invalid field", 404: "No such app, meeting or livestream in this account"}
DAY_STATS = {"type": "array", "items": {"type": "object"}}


def readable_livestream(doc: dict[str, Any]) -> dict[str, Any]:
    fields = ("disabled", "ingest_server", "meeting_id", "name", "playback_url", "status", "stream_key")
    return {"id": doc["_id"], "created_at": doc["created_at"], "updated_at": doc["updated_at"],
            **{k: doc.get(k) for k in fields}}  # fmt: skip


def readable_session(doc: dict[str, Any]) -> dict[str, Any]:
    fields = ("err_message", "ingest_seconds", "viewer_seconds", "livestream_id", "invoked_time", "started_time",
              "stopped_time")  # fmt: skip
    return {"id": doc["_id"], "created_at": doc["created_at"], "updated_at": doc["updated_at"],
            **{k: doc.get(k) for k in fields}}  # fmt: skip


def _media(call: Call) -> RtkMedia:
    media = getattr(call.services.rtk, "media", None)
    if media is None:
        raise NotFound("livestreams are not available on this server", code="not_available")
    return media  # type: ignore[no-any-return]


async def _meeting(call: Call) -> str:
    await call.services.rtk.require_app(call.path["account_id"], call.path["app_id"])
    meeting_id = call.path["meeting_id"]
    if await call.services.store.rtk_meetings.get(call.path["app_id"], meeting_id) is None:
        raise NotFound(f"meeting {meeting_id} not found", code="meeting_not_found")
    return meeting_id  # type: ignore[no-any-return]


async def _livestream(call: Call) -> dict[str, Any]:
    await call.services.rtk.require_app(call.path["account_id"], call.path["app_id"])
    doc = await call.services.store.rtk_livestreams.get(call.path["app_id"], call.path["livestream_id"])
    if doc is None:
        raise NotFound(f"livestream {call.path['livestream_id']} not found", code="livestream_not_found")
    return doc  # type: ignore[no-any-return]


def _time_match(field: str, since: dt.datetime | None, until: dt.datetime | None) -> dict[str, Any]:
    if not (since or until):
        return {}
    ms = dt.timedelta(milliseconds=1)
    return {field: {**({"$gt": since - ms} if since else {}), **({"$lt": until + ms} if until else {})}}


@rtk_route("POST", "/{app_id}/meetings/{meeting_id}/livestreams", tag=TAG, params=(APP_ID, MEETING),
           body=START_LIVESTREAM, audit="rtk.livestream.start",
           summary="Start livestreaming a meeting as HLS (the presenter: the first peer publishing video)",
           ok=(201, envelope(LIVESTREAM_SCHEMA)),
           responses={201: "Livestream invoked", 409: "Already livestreamed", 503: "Too many captures",
                      **ERRORS})  # fmt: skip
async def rtk_start_livestream(call: Call) -> Reply:
    meeting_id = await _meeting(call)
    doc = await _media(call).start_livestream(call.path["app_id"], meeting_id, call.body.get("name"))
    call.target = {"type": "rtkLivestream", "id": doc["_id"]}
    return ok(readable_livestream(doc), 201)


@rtk_route("POST", "/{app_id}/livestreams", tag=TAG, params=(APP_ID,), body=NAME_ONLY,
           audit="rtk.livestream.create",
           summary="Create an independent livestream: an RTMP encoder publishes its stream_key to its ingest_server",
           ok=(201, envelope(LIVESTREAM_SCHEMA)),
           responses={201: "Livestream created (IDLE until an encoder publishes)",
                      503: "The RTMP ingest is not running", **ERRORS})  # fmt: skip
async def rtk_create_livestream(call: Call) -> Reply:
    await call.services.rtk.require_app(call.path["account_id"], call.path["app_id"])
    ingest = getattr(call.services.rtk, "ingest", None)
    if ingest is None or ingest.ingest_server is None:
        raise ServiceUnavailable("the RTMP ingest is not running on this server", code="rtmp_unavailable")
    doc = await ingest.create(call.path["app_id"], call.body.get("name"))
    call.target = {"type": "rtkLivestream", "id": doc["_id"]}
    return ok(readable_livestream(doc), 201)


@rtk_route("POST", "/{app_id}/meetings/{meeting_id}/active-livestream/stop", tag=TAG, params=(APP_ID, MEETING),
           audit="rtk.livestream.stop", summary="Stop livestreaming a meeting",
           ok=(200, envelope(obj({"message": {"type": "string"}}))),
           responses={200: "Stopped", **ERRORS})  # fmt: skip
async def rtk_stop_livestream(call: Call) -> Reply:
    meeting_id = await _meeting(call)
    if await _media(call).stop_livestream(call.path["app_id"], meeting_id) is None:
        raise NotFound(f"meeting {meeting_id} has no active livestream", code="no_active_livestream")
    return ok({"message": "livestream stopped"})


@rtk_route("GET", "/{app_id}/meetings/{meeting_id}/active-livestream", tag=TAG, params=(APP_ID, MEETING),
           summary="Fetch the active livestream of a meeting", ok=(200, envelope(LIVESTREAM_SCHEMA)),
           responses={200: "The active livestream", **ERRORS})  # fmt: skip
async def rtk_active_livestream(call: Call) -> Reply:
    meeting_id = await _meeting(call)
    match = {"meeting_id": meeting_id, "status": {"$in": list(ACTIVE_LIVESTREAM)}}
    docs, _ = await call.services.store.rtk_livestreams.page(call.path["app_id"], match, 0, 1)
    if not docs:
        raise NotFound(f"meeting {meeting_id} has no active livestream", code="no_active_livestream")
    return ok(readable_livestream(docs[0]))


@rtk_route("GET", "/{app_id}/livestreams", tag=TAG, params=(APP_ID,),
           query=(*TIME_RANGE, BoolQuery("exclude_meetings", "boolean", required=False), *PAGE_QUERY,
                  TEXT["sort_order"], TEXT["status"]),
           summary="Fetch all livestreams, newest first", ok=(200, list_of(LIVESTREAM_SCHEMA)),
           responses={200: "A page of livestreams", **ERRORS})  # fmt: skip
async def rtk_list_livestreams(call: Call) -> Reply:
    await call.services.rtk.require_app(call.path["account_id"], call.path["app_id"])
    q = call.query
    match = _time_match("created_at", q.get("start_time"), q.get("end_time"))
    if q.get("status"):
        match["status"] = {"$in": [s.strip().upper() for s in q["status"].split(",")]}
    if q.get("exclude_meetings"):
        match["meeting_id"] = None  # only independent livestreams
    _, per_page, skip = page_window(call)
    docs, total = await call.services.store.rtk_livestreams.page(call.path["app_id"], match, skip, per_page)
    return paged([readable_livestream(d) for d in docs], skip, total)


@rtk_route("GET", "/{app_id}/livestreams/{livestream_id}", tag=TAG, params=(APP_ID, LIVESTREAM), query=PAGE_QUERY,
           summary="Fetch a livestream and a page of its sessions",
           ok=(200, envelope(obj({"livestream": LIVESTREAM_SCHEMA, "paging": {"type": "object"},
                                  "session": {"type": "array", "items": SESSION_SCHEMA}}))),
           responses={200: "The livestream and its sessions", **ERRORS})  # fmt: skip
async def rtk_get_livestream(call: Call) -> Reply:
    doc = await _livestream(call)
    _, per_page, skip = page_window(call)
    sessions, total = await call.services.store.rtk_livestream_sessions.page(
        call.path["app_id"], {"livestream_id": doc["_id"]}, skip, per_page
    )
    paging = {"start_offset": skip + 1, "end_offset": skip + len(sessions), "total_count": total}
    return ok({"livestream": readable_livestream(doc), "session": [readable_session(s) for s in sessions],
               "paging": paging})  # fmt: skip


@rtk_route("GET", "/{app_id}/livestreams/{livestream_id}/active-livestream-session", tag=TAG,
           params=(APP_ID, LIVESTREAM), summary="Fetch the active session of a livestream",
           ok=(200, envelope(obj({"livestream": LIVESTREAM_SCHEMA, "session": SESSION_SCHEMA}))),
           responses={200: "The livestream and its active session", **ERRORS})  # fmt: skip
async def rtk_active_livestream_session(call: Call) -> Reply:
    doc = await _livestream(call)
    sessions, _ = await call.services.store.rtk_livestream_sessions.page(
        call.path["app_id"], {"livestream_id": doc["_id"], "stopped_time": None}, 0, 1
    )
    if doc["status"] not in ACTIVE_LIVESTREAM or not sessions:
        raise NotFound(f"livestream {doc['_id']} has no active session", code="no_active_session")
    return ok({"livestream": readable_livestream(doc), "session": readable_session(sessions[0])})


@rtk_route("GET", "/{app_id}/livestreams/sessions/{livestream_session_id}", tag=TAG,
           params=(APP_ID, LIVESTREAM_SESSION), summary="Fetch a livestream session",
           ok=(200, envelope(SESSION_SCHEMA)), responses={200: "The session", **ERRORS})  # fmt: skip
async def rtk_livestream_session(call: Call) -> Reply:
    await call.services.rtk.require_app(call.path["account_id"], call.path["app_id"])
    doc = await call.services.store.rtk_livestream_sessions.get(call.path["app_id"],
                                                                call.path["livestream_session_id"])  # fmt: skip
    if doc is None:
        raise NotFound("livestream session not found", code="livestream_session_not_found")
    return ok(readable_session(doc))


@rtk_route("GET", "/{app_id}/analytics/livestreams/overall", tag=TAG, params=(APP_ID,), query=TIME_RANGE,
           summary="Livestream analytics: sessions, ingest and viewer seconds in a time range",
           ok=(200, envelope(obj({"count": {"type": "integer"}, "total_ingest_seconds": {"type": "number"},
                                  "total_viewer_seconds": {"type": "number"}}))),
           responses={200: "The totals", **ERRORS})  # fmt: skip
async def rtk_livestream_analytics(call: Call) -> Reply:
    await call.services.rtk.require_app(call.path["account_id"], call.path["app_id"])
    match = _time_match("invoked_time", call.query.get("start_time"), call.query.get("end_time"))
    docs, total = await call.services.store.rtk_livestream_sessions.page(call.path["app_id"], match, 0, 100_000)
    return ok({"count": total, "total_ingest_seconds": sum(d.get("ingest_seconds") or 0 for d in docs),
               "total_viewer_seconds": sum(d.get("viewer_seconds") or 0 for d in docs)})  # fmt: skip


def _day_stats(docs: list[dict[str, Any]], time_field: str, minutes: Any) -> tuple[list[dict[str, Any]], float]:
    days: dict[str, list[float]] = collections.defaultdict(lambda: [0, 0.0])
    for doc in docs:
        stamp = doc.get(time_field)
        if isinstance(stamp, dt.datetime):
            day = days[stamp.date().isoformat()]
            day[0] += 1
            day[1] += minutes(doc)
    stats = [{"day": d, "count": int(v[0]), "minutes": round(v[1], 2)} for d, v in sorted(days.items())]
    return stats, round(sum(v[1] for v in days.values()), 2)


@rtk_route("GET", "/{app_id}/analytics/daywise", tag=TAG, params=(APP_ID,),
           query=(DateQuery("start_date", "string", required=False, description="From this day"),
                  DateQuery("end_date", "string", required=False, description="Until this day")),
           summary="Day-wise recording (and session) analytics of an App",
           ok=(200, envelope(obj({"recording_stats": {"type": "object"}, "session_stats": {"type": "object"}}))),
           responses={200: "The statistics", **ERRORS})  # fmt: skip
async def rtk_daywise_analytics(call: Call) -> Reply:
    await call.services.rtk.require_app(call.path["account_id"], call.path["app_id"])
    store, app_id = call.services.store, call.path["app_id"]
    match = _time_match("invoked_time", call.query.get("start_date"), call.query.get("end_date"))
    recordings, count = await store.rtk_recordings.page(app_id, match, 0, 100_000)
    days, total = _day_stats(recordings, "invoked_time", lambda d: (d.get("recording_duration") or 0) / 60)
    recording_stats = {"day_stats": [{"day": d["day"], "total_recordings": d["count"],
                                      "total_recording_minutes": d["minutes"]} for d in days],
                       "recording_count": count, "recording_minutes_consumed": total}  # fmt: skip
    out: dict[str, Any] = {"recording_stats": recording_stats}
    sessions_repo = getattr(store, "rtk_sessions", None)  # the meeting sessions, when this server keeps them
    if sessions_repo is not None:
        window = _time_match("started_at", call.query.get("start_date"), call.query.get("end_date"))
        sessions, scount = await sessions_repo.page(app_id, window, 0, 100_000)
        sdays, stotal = _day_stats(sessions, "started_at", lambda d: d.get("minutes_consumed") or 0)
        out["session_stats"] = {"day_stats": [{"day": d["day"], "total_sessions": d["count"],
                                               "total_session_minutes": d["minutes"]} for d in sdays],
                                "sessions_count": scount, "sessions_minutes_consumed": stotal}  # fmt: skip
    return ok(out)


ROUTES = (rtk_create_livestream, rtk_start_livestream, rtk_stop_livestream, rtk_active_livestream, rtk_list_livestreams,
          rtk_get_livestream, rtk_active_livestream_session, rtk_livestream_session, rtk_livestream_analytics,
          rtk_daywise_analytics)  # fmt: skip
