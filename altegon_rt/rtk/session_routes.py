"""RealtimeKit sessions over REST: list, get, participants, chat, transcript, summary (GET and POST), peer report.

Sessions are made by :mod:`altegon_rt.rtk.sessions` as participants join meetings' rooms; while one is LIVE
its counts come from the live state. Lists answer ``{sessions}`` / ``{participants}`` in ``data`` with the
usual ``paging``. Chat, transcript and summary are answered as signed download links
(:mod:`altegon_rt.rtk.session_files`); ``GET /rtk/downloads/{token}`` serves them.
"""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING, DESCENDING

from altegon_rt.api.jsonio import iso
from altegon_rt.api.routing import PUBLIC, Call, Reply, endpoint
from altegon_rt.api.schema import Field
from altegon_rt.errors import BadRequest, Forbidden, NotFound
from altegon_rt.files.signing import BadSignature
from altegon_rt.rtk.http import APP_ID, PAGE_QUERY, BoolQuery, ok, page_window, rtk_route, uuid_param
from altegon_rt.rtk.jsonschema import PAGING, envelope, obj
from altegon_rt.rtk.pending import TEXT, TIME_RANGE
from altegon_rt.rtk.session_schema import (
    PARTICIPANT_DETAIL,
    PEER_REPORT,
    SESSION_PARTICIPANT,
    file_link,
    participant_stats,
    peer_report,
    readable_participant,
    readable_session,
)
from altegon_rt.rtk.session_schema import (
    SESSION as SESSION_SCHEMA,
)
from altegon_rt.rtk.sessions import LivePeer
from altegon_rt.store.base import now
from altegon_rt.store.rtk_sessions import name_search

TAG = "realtimekit sessions"
NOT_FOUND = {404: "No such app or session in this account"}
SESSION_SORTS = ("started_at", "created_at", "ended_at", "minutes_consumed", "max_concurrent_participants",
                 "meeting_display_name")  # fmt: skip
PARTICIPANT_SORTS = ("joined_at", "left_at", "duration", "display_name", "created_at")
SECTIONS = ("events", "ip_information", "quality_stats", "peer_report")
SESSION, PARTICIPANT = uuid_param("session_id", "session"), uuid_param("participant_id", "participant")
PEER = Field("peer_id", "string", max_length=256, description="The peer's id (its socket id)")
INCLUDE_EVENTS = BoolQuery("include_peer_events", "boolean", required=False, description="Include peer events")


def paged_under(key: str, items: list[Any], skip: int, total: int) -> Reply:
    paging = {"start_offset": skip + 1, "end_offset": skip + len(items), "total_count": total}
    return Reply(200, {"success": True, "data": {key: items}, "paging": paging})


def paged_schema(key: str, item: dict[str, Any]) -> dict[str, Any]:
    out = envelope(obj({key: {"type": "array", "items": item}}, (key,)))
    out["properties"]["paging"] = PAGING
    out["required"].append("paging")
    return out


def _sort(call: Call, allowed: tuple[str, ...], default: str) -> list[tuple[str, int]]:
    field = call.query.get("sort_by") or default
    if field not in allowed:
        raise BadRequest(f"query 'sort_by' must be one of: {', '.join(allowed)}", code="invalid_field")
    order = (call.query.get("sort_order") or "DESC").upper()
    if order not in ("ASC", "DESC"):
        raise BadRequest("query 'sort_order' must be ASC or DESC", code="invalid_field")
    direction = ASCENDING if order == "ASC" else DESCENDING
    return [(field, direction), ("_id", direction)]


def _sections(call: Call, default: set[str]) -> set[str]:
    text = call.query.get("filters")
    if not text:
        return default
    names = {n.strip() for n in text.split(",") if n.strip()}
    unknown = names - set(SECTIONS)
    if unknown:
        raise BadRequest(f"query 'filters' names unknown sections: {', '.join(sorted(unknown))} "
                         f"(known: {', '.join(SECTIONS)})", code="invalid_field")  # fmt: skip
    return names


async def _flushed(call: Call) -> None:
    await call.services.rtk.require_app(call.path["account_id"], call.path["app_id"])
    tracker, _, _ = call.services.rtk.live
    await tracker.flushed()  # what the live sessions queued is readable


async def _session(call: Call) -> dict[str, Any]:
    await _flushed(call)
    doc = await call.services.store.rtk_sessions.get(call.path["app_id"], call.path["session_id"])
    if doc is None:
        raise NotFound(f"session {call.path['session_id']} not found", code="session_not_found")
    return doc


def _live_session(call: Call, doc: dict[str, Any]) -> Any:
    tracker, _, _ = call.services.rtk.live
    live = tracker.by_meeting.get(doc["associated_id"])
    return live if live is not None and live.id == doc["_id"] else None


def _live_peer(call: Call, doc: dict[str, Any]) -> LivePeer | None:
    tracker, _, _ = call.services.rtk.live
    found = tracker.tracked(doc["peer_id"])
    return found[1] if found is not None and found[1].record_id == doc["_id"] else None


@rtk_route(
    "GET",
    "/{app_id}/sessions",
    tag=TAG,
    params=(APP_ID,),
    query=(
        TEXT["associated_id"],
        *TIME_RANGE,
        *PAGE_QUERY,
        TEXT["search"],
        TEXT["status"],
        TEXT["sort_by"],
        TEXT["sort_order"],
    ),
    summary="Fetch all sessions of an App (newest first; filter by meeting, start time, title, status)",
    ok=(200, paged_schema("sessions", SESSION_SCHEMA)),
    responses={200: "A page of sessions", 400: "Invalid query", 404: "No such app in this account"},
)
async def rtk_list_sessions(call: Call) -> Reply:
    await _flushed(call)
    q = call.query
    match: dict[str, Any] = {}
    if q.get("associated_id"):
        match["associated_id"] = q["associated_id"]
    if q.get("status"):
        if q["status"] not in ("LIVE", "ENDED"):
            raise BadRequest("query 'status' must be LIVE or ENDED", code="invalid_field")
        match["status"] = q["status"]
    if q.get("search"):
        match.update(name_search("meeting_display_name", q["search"]))
    started = {op: q[name] for op, name in (("$gte", "start_time"), ("$lte", "end_time")) if q.get(name)}
    if started:
        match["started_at"] = started
    _, per_page, skip = page_window(call)
    sort = _sort(call, SESSION_SORTS, "started_at")
    docs, total = await call.services.store.rtk_sessions.sorted_page(call.path["app_id"], match, sort, skip, per_page)
    stamp = now()
    return paged_under("sessions", [readable_session(d, _live_session(call, d), stamp) for d in docs], skip, total)


@rtk_route(
    "GET",
    "/{app_id}/sessions/{session_id}",
    tag=TAG,
    params=(APP_ID, SESSION),
    query=(BoolQuery("include_breakout_rooms", "boolean", required=False),),
    summary="Fetch details of a session",
    ok=(200, envelope(obj({"session": SESSION_SCHEMA}, ("session",)))),
    responses={200: "The session", 400: "Invalid id", **NOT_FOUND},
)
async def rtk_get_session(call: Call) -> Reply:
    doc = await _session(call)
    return ok({"session": readable_session(doc, _live_session(call, doc), now())})


@rtk_route(
    "GET",
    "/{app_id}/sessions/{session_id}/participants",
    tag=TAG,
    params=(APP_ID, SESSION),
    query=(INCLUDE_EVENTS, *PAGE_QUERY, TEXT["search"], TEXT["sort_by"], TEXT["sort_order"]),
    summary="Fetch participants list of a session (in order of joining; search by display name)",
    ok=(200, paged_schema("participants", SESSION_PARTICIPANT)),
    responses={200: "A page of the session's participants", 400: "Invalid query", **NOT_FOUND},
)
async def rtk_list_session_participants(call: Call) -> Reply:
    doc = await _session(call)
    match: dict[str, Any] = {"session_id": doc["_id"]}
    if call.query.get("search"):
        match.update(name_search("display_name", call.query["search"]))
    _, per_page, skip = page_window(call)
    sort = _sort(call, PARTICIPANT_SORTS, "joined_at")
    if not call.query.get("sort_order"):
        sort = [(k, ASCENDING) for k, _ in sort]
    docs, total = await call.services.store.rtk_session_peers.sorted_page(
        call.path["app_id"], match, sort, skip, per_page
    )
    stamp = now()
    items = []
    for d in docs:
        live = _live_peer(call, d)
        item = readable_participant(d, live, stamp)
        if call.query.get("include_peer_events"):
            item.update(participant_stats(d, live, {"events"}))
        items.append(item)
    return paged_under("participants", items, skip, total)


@rtk_route(
    "GET",
    "/{app_id}/sessions/{session_id}/participants/{participant_id}",
    tag=TAG,
    params=(APP_ID, SESSION, PARTICIPANT),
    query=(TEXT["filters"], INCLUDE_EVENTS),
    summary="Fetch details of a session participant (by its id, or the RealtimeKit participant's latest join), "
    "with its peer stats; filters: events, ip_information, quality_stats",
    ok=(200, envelope(obj({"participant": PARTICIPANT_DETAIL}, ("participant",)))),
    responses={200: "The participant", 400: "Invalid id or filters", 404: "No such app, session or participant"},
)
async def rtk_get_session_participant(call: Call) -> Reply:
    session = await _session(call)
    doc = await call.services.store.rtk_session_peers.for_participant(
        call.path["app_id"], session["_id"], call.path["participant_id"]
    )
    if doc is None:
        raise NotFound(f"participant {call.path['participant_id']} not found in this session", code="not_found")
    sections = _sections(call, {"ip_information", "quality_stats"})
    if call.query.get("include_peer_events"):
        sections.add("events")
    live = _live_peer(call, doc)
    return ok({"participant": {**readable_participant(doc, live, now()), **participant_stats(doc, live, sections)}})


@rtk_route(
    "GET",
    "/{app_id}/sessions/peer-report/{peer_id}",
    tag=TAG,
    params=(APP_ID, PEER),
    query=(TEXT["filters"],),
    summary="Fetch the report of one peer (a socket id): its media counters and events; "
    "filters: events, ip_information, quality_stats, peer_report",
    ok=(200, envelope(obj({"participant": PEER_REPORT}, ("participant",)))),
    responses={200: "The peer's report", 400: "Invalid filters", 404: "No such app or peer"},
)
async def rtk_peer_report(call: Call) -> Reply:
    await _flushed(call)
    doc = await call.services.store.rtk_session_peers.by_peer(call.path["app_id"], call.path["peer_id"])
    if doc is None:
        raise NotFound(f"peer {call.path['peer_id']} not found", code="peer_not_found")
    live = _live_peer(call, doc)
    report = peer_report(doc, live, _sections(call, {"peer_report", "quality_stats"}))
    return ok({"participant": {**readable_participant(doc, live, now()), **report}})


CHAT = file_link("sessionId", "chat_download_url", "chat_download_url_expiry")
TRANSCRIPT = file_link("sessionId", "transcript_download_url", "transcript_download_url_expiry")
SUMMARY = file_link("sessionId", "summaryDownloadUrl", "summaryDownloadUrlExpiry")


def _link(call: Call, kind: str, keys: tuple[str, str]) -> dict[str, Any]:
    _, files, _ = call.services.rtk.live
    url, expiry = files.link(kind, call.path["app_id"], call.path["session_id"])
    return {"sessionId": call.path["session_id"], keys[0]: url, keys[1]: expiry}


@rtk_route(
    "GET",
    "/{app_id}/sessions/{session_id}/chat",
    tag=TAG,
    params=(APP_ID, SESSION),
    summary="A download link of the session's chat (CSV), kept when the meeting's persist_chat is on",
    ok=(200, envelope(CHAT)),
    responses={200: "The link", 400: "Invalid id", 404: "No such session, or no chat was kept"},
)
async def rtk_session_chat(call: Call) -> Reply:
    doc = await _session(call)
    if not await call.services.store.rtk_chat.count(doc["_id"]):
        raise NotFound("no chat was kept for this session (the meeting's persist_chat was off, or nobody wrote)",
                       code="chat_not_found")  # fmt: skip
    return ok(_link(call, "chat", ("chat_download_url", "chat_download_url_expiry")))


@rtk_route(
    "GET",
    "/{app_id}/sessions/{session_id}/transcript",
    tag=TAG,
    params=(APP_ID, SESSION),
    summary="A download link of the session's transcript (CSV)",
    ok=(200, envelope(TRANSCRIPT)),
    responses={200: "The link", 400: "Invalid id", 404: "No such session, or no transcript"},
)
async def rtk_session_transcript(call: Call) -> Reply:
    doc = await _session(call)
    if not await call.services.store.transcripts.for_meeting(doc["_id"], limit=1):
        raise NotFound("this session has no transcript", code="transcript_not_found")
    return ok(_link(call, "transcript", ("transcript_download_url", "transcript_download_url_expiry")))


@rtk_route(
    "GET",
    "/{app_id}/sessions/{session_id}/summary",
    tag=TAG,
    params=(APP_ID, SESSION),
    summary="A download link of the session's summary (JSON {summary, notes})",
    ok=(200, envelope(SUMMARY)),
    responses={200: "The link", 400: "Invalid id", 404: "No such session, or no summary generated yet"},
)
async def rtk_session_summary(call: Call) -> Reply:
    doc = await _session(call)
    if await call.services.store.summaries.get(doc["_id"]) is None:
        raise NotFound("no summary has been generated for this session", code="summary_not_found")
    return ok(_link(call, "summary", ("summaryDownloadUrl", "summaryDownloadUrlExpiry")))


@rtk_route(
    "POST",
    "/{app_id}/sessions/{session_id}/summary",
    tag=TAG,
    params=(APP_ID, SESSION),
    audit="rtk.session.summary",
    summary="Generate (or regenerate) the summary of the session's transcript with the configured provider",
    ok=(200, envelope(SUMMARY)),
    responses={
        200: "Generated; the link",
        400: "Invalid id",
        **NOT_FOUND,
        409: "The session has no transcript",
        502: "The AI service failed",
        504: "The AI service timed out",
    },
)
async def rtk_generate_session_summary(call: Call) -> Reply:
    doc = await _session(call)
    call.target = {"type": "rtkSession", "id": doc["_id"]}
    _, files, _ = call.services.rtk.live
    meeting_doc = await call.services.store.rtk_meetings.get(call.path["app_id"], doc["associated_id"])
    await files.summarize(doc["_id"], (meeting_doc or {}).get("ai_config"))
    data = _link(call, "summary", ("summaryDownloadUrl", "summaryDownloadUrlExpiry"))
    meeting = {"id": doc["associated_id"], "session_id": doc["_id"], "title": doc.get("meeting_display_name"),
               "status": doc["status"], "started_at": iso(doc["started_at"])}  # fmt: skip
    call.services.rtk.webhooks.emit(call.path["app_id"], "meeting.summary", {
        "meeting": meeting, "summary_download_url": data["summaryDownloadUrl"],
        "summary_download_url_expiry": data["summaryDownloadUrlExpiry"]})  # fmt: skip
    return ok(data)


@endpoint(
    "GET",
    "/rtk/downloads/{token}",
    tag=TAG,
    auth=PUBLIC,
    audit="rtk.session.download",
    params=(Field("token", "string", max_length=2048, description="The signed token of a session file link"),),
    summary="Download a RealtimeKit session's chat, transcript or summary through its signed link",
    responses={200: "The file", 403: "Bad, forged or expired link", 404: "The file is gone"},
)
async def rtk_download(call: Call) -> Reply:
    call.target = {"type": "rtkSessionFile"}
    _, files, _ = call.services.rtk.live
    try:
        grant = files.grant(call.path["token"])
    except BadSignature:
        raise Forbidden("the link is invalid or has expired") from None
    call.target.update({"kind": grant.kind, "id": grant.session_id})
    if await call.services.store.rtk_sessions.get(grant.app_id, grant.session_id) is None:
        raise NotFound("the session is gone", code="session_not_found")
    body, content_type, name = await files.render(grant)
    headers = {"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "private, no-store"}
    return Reply(200, raw=body, content_type=content_type, headers=headers)


ROUTES = (
    rtk_list_sessions,
    rtk_get_session,
    rtk_list_session_participants,
    rtk_get_session_participant,
    rtk_session_chat,
    rtk_session_transcript,
    rtk_session_summary,
    rtk_generate_session_summary,
    rtk_peer_report,
    rtk_download,
)
