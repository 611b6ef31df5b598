"""Dashboard analytics: the five ``GET /reporting/...-for-user`` routes over recorded sessions.

Every route takes the same documented filters as query parameters (an empty value, as the samples send
``sessionType=``, means no filter) and counts completed sessions only, by their start time; see
``store/sessions.py``. A user reports on their own sessions: ``userID`` defaults to the caller and may name
someone else only for an admin, for whom no ``userID`` means every host.
"""

from __future__ import annotations

from typing import Any

from altegon_rt.api.routing import Call, Reply, endpoint
from altegon_rt.api.schema import OBJECT_ID, Field, parse_query_date
from altegon_rt.errors import BadRequest, Forbidden
from altegon_rt.store.sessions import SESSION_TYPES, SessionFilter

TAG = "reporting"

QUERY = (
    Field("domain", "string", required=False, description="Domain the sessions ran on", example="altegon.com"),
    Field("sessionType", "string", required=False, max_length=32,
          description="Type of session: live, webinar or conference (empty: all)", example="webinar"),
    Field("countryCode", "string", required=False, max_length=64, description="Country code (ISO 3166)",
          example="PK"),
    Field("countryName", "string", required=False, description="Country name", example="Pakistan"),
    Field("cityName", "string", required=False, description="City name", example="Lahore"),
    Field("startDateRange", "string", required=False, max_length=64,
          description="Sessions started at or after: ISO-8601 (UTC without offset) or epoch milliseconds",
          example="2025-10-01T00:00:00.000Z"),
    Field("endDateRange", "string", required=False, max_length=64,
          description="Sessions started at or before (a bare YYYY-MM-DD includes that whole day)",
          example="2025-10-31T23:59:59.999Z"),
    Field("userID", "string", required=False, max_length=64, aliases=("userId",),
          description="Host whose sessions to count: yourself (the default), or anyone for an admin (empty: all)",
          example="68de7a9d8f40ff41c940c7fb"),
)  # fmt: skip

RESPONSES = {200: "The report", 400: "Invalid filter", 401: "Not signed in", 403: "userID is another user"}


def _host(call: Call, raw: str) -> str | None:
    """Whose sessions: the caller by default; another user only for an admin; None is every host."""
    if not raw:
        return None if call.user.is_admin else call.user.user_id
    if not OBJECT_ID.match(raw):
        raise BadRequest("field 'userID' must be a 24-character hex id", code="invalid_field")
    user_id = raw.lower()
    if not call.user.may_act_for(user_id):
        raise Forbidden("you may only report on your own sessions")
    return user_id


def session_filter(call: Call) -> SessionFilter:
    """The validated filter of a reporting request; BadRequest naming the parameter, Forbidden for userID."""
    q: dict[str, str] = {k: v for k, v in call.query.items() if isinstance(v, str)}
    session_type = q.get("sessionType", "").lower() or None
    if session_type is not None and session_type not in SESSION_TYPES:
        raise BadRequest(f"field 'sessionType' must be one of {', '.join(SESSION_TYPES)}", code="invalid_field")
    started_from = parse_query_date("startDateRange", q.get("startDateRange", ""))
    started_to = parse_query_date("endDateRange", q.get("endDateRange", ""), end_of_day=True)
    if started_from and started_to and started_from > started_to:
        raise BadRequest("field 'startDateRange' is after 'endDateRange'", code="invalid_field")
    return SessionFilter(
        host_id=_host(call, q.get("userID", "")),
        session_type=session_type,
        domain=q.get("domain") or None,
        country_code=q.get("countryCode") or None,
        country_name=q.get("countryName") or None,
        city_name=q.get("cityName") or None,
        started_from=started_from,
        started_to=started_to,
    )


def _ok(data: Any) -> Reply:
    return Reply(200, {"success": True, "data": data})


@endpoint(
    "GET", "/reporting/total-sessions-for-user", tag=TAG, query=QUERY, responses=RESPONSES,
    summary="Number of completed sessions that pass the filters", example={"success": True, "data": 35},
)  # fmt: skip
async def total_sessions(call: Call) -> Reply:
    return _ok(await call.services.store.sessions.total(session_filter(call)))


@endpoint(
    "GET", "/reporting/total-sessions-aggregation-for-user", tag=TAG, query=QUERY, responses=RESPONSES,
    summary="Completed sessions per UTC day of their start and per domain, oldest day first",
    example={"success": True, "data": [{"domainCounts": [{"domain": "altegon.com", "count": 5}],
                                        "date": "2025-10-12T00:00:00.000Z"}]},
)  # fmt: skip
async def total_sessions_aggregation(call: Call) -> Reply:
    return _ok(await call.services.store.sessions.per_day_by_domain(session_filter(call)))


@endpoint(
    "GET", "/reporting/total-sessions-statistics-for-user", tag=TAG, query=QUERY, responses=RESPONSES,
    summary="Completed sessions in total and per session type (every type listed, in a fixed order)",
    example={"success": True, "data": {"totalSessions": 35, "totalSessionsByType": [
        {"sessionType": "live", "totalSessions": 15}, {"sessionType": "webinar", "totalSessions": 20},
        {"sessionType": "conference", "totalSessions": 0}]}},
)  # fmt: skip
async def total_sessions_statistics(call: Call) -> Reply:
    counts = await call.services.store.sessions.by_type(session_filter(call))
    by_type = [{"sessionType": t, "totalSessions": counts.get(t, 0)} for t in SESSION_TYPES]
    return _ok({"totalSessions": sum(counts.values()), "totalSessionsByType": by_type})


@endpoint(
    "GET", "/reporting/total-sessions-by-location-for-user", tag=TAG, query=QUERY, responses=RESPONSES,
    summary='Completed sessions per city, region and country, most first ("Unknown" where not known)',
    example={"success": True, "data": [{"_id": {"city": "Lahore", "region": "Punjab", "country": "PK",
                                                "country_name": "Pakistan"}, "count": 12}]},
)  # fmt: skip
async def total_sessions_by_location(call: Call) -> Reply:
    return _ok(await call.services.store.sessions.by_location(session_filter(call)))


@endpoint(
    "GET", "/reporting/total-sessions-and-participants-count-by-location-for-user", tag=TAG, query=QUERY,
    responses=RESPONSES, summary="Completed sessions and their participants per city, most sessions first",
    example={"success": True, "data": [{"_id": "Lahore", "totalSessions": 10, "totalParticipants": 125}]},
)  # fmt: skip
async def total_sessions_and_participants_by_location(call: Call) -> Reply:
    return _ok(await call.services.store.sessions.by_city_with_participants(session_filter(call)))


ROUTES = (
    total_sessions,
    total_sessions_aggregation,
    total_sessions_statistics,
    total_sessions_by_location,
    total_sessions_and_participants_by_location,
)
