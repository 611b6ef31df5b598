"""Sessions: one document per live stream, webinar or conference that ran, for the reporting routes.

Owns the ``sessions`` collection. The realtime layer records a session with :meth:`SessionRepository.start`
(through ``realtime/sessions.py``, which adds the GeoIP location of the host's address),
counts who joins with :meth:`~SessionRepository.participant_joined` (or sets the count), and closes it with
:meth:`~SessionRepository.end`; a session is running while ``endedAt`` is null. Every document is built by
:func:`session_document`, which tests use too, so the stored shape cannot drift from what the reports read.

The reports are aggregation pipelines using only ``$match``, ``$group``, ``$sort``, ``$project``, ``$limit``
and the expressions ``$dateToString``, ``$ifNull``, ``$sum`` and ``$push``, which MongoDB and the embedded
SecantusDB both run. They count completed sessions only (``endedAt`` set), by their start time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pymongo import ASCENDING

from altegon_rt.store.base import Repository, now, shape, to_oid

SESSION_TYPES = ("live", "webinar", "conference")
UNKNOWN = "Unknown"
LOCATION_KEYS = ("countryCode", "countryName", "regionName", "cityName")
MAX_GROUPS = 10_000  # rows a report answers at most (days x domains, or locations)
MAX_PARTICIPANT_IDS = 10_000  # distinct ids kept per session; beyond it joins are counted without dedup


@dataclass(frozen=True, slots=True)
class SessionFilter:
    """What a report counts: ``None`` (or an empty value) means no filter on that field."""

    host_id: str | None = None
    session_type: str | None = None
    domain: str | None = None
    country_code: str | None = None
    country_name: str | None = None
    city_name: str | None = None
    started_from: dt.datetime | None = None
    started_to: dt.datetime | None = None


def _location(location: Mapping[str, Any] | None) -> dict[str, str | None]:
    """The four location fields, each a trimmed string or None when not known; country codes upper-case.

    "Unknown" (what the GeoIP locator answers for an address it cannot place) is stored as None too, so
    that an unknown place has one stored form whoever recorded it.
    """
    out: dict[str, str | None] = {}
    for key in LOCATION_KEYS:
        value = (location or {}).get(key)
        text = value.strip() if isinstance(value, str) else ""
        if text.lower() == UNKNOWN.lower():
            text = ""
        out[key] = (text.upper() if key == "countryCode" else text) or None
    return out


def session_document(
    host_id: str,
    session_type: str,
    domain: str | None,
    location: Mapping[str, Any] | None = None,
    *,
    started_at: dt.datetime | None = None,
    ended_at: dt.datetime | None = None,
    participants: int = 0,
    room_id: str | None = None,
) -> dict[str, Any]:
    """A session as stored: the one place its shape is defined."""
    if session_type not in SESSION_TYPES:
        raise ValueError(f"session type must be one of {SESSION_TYPES}, not {session_type!r}")
    stamp = now()
    return {
        "hostId": host_id,
        "sessionType": session_type,
        "domain": (domain or "").strip().lower() or None,
        "roomId": room_id,
        "location": _location(location),
        "participants": max(0, int(participants)),
        "participantIds": [],
        "startedAt": started_at or stamp,
        "endedAt": ended_at,
        "createdAt": stamp,
        "updatedAt": stamp,
    }


def _equals_or_unknown(value: str) -> Any:
    """A domain or location filter: what the reports show as "Unknown" is stored as null; that value matches both."""
    return {"$in": [value, None]} if value.lower() == UNKNOWN.lower() else value


def match_stage(f: SessionFilter) -> dict[str, Any]:
    """The ``$match`` of every report: completed sessions that pass the filter."""
    match: dict[str, Any] = {"endedAt": {"$ne": None}}
    if f.host_id:
        match["hostId"] = f.host_id
    if f.session_type:
        match["sessionType"] = f.session_type
    if f.domain:
        match["domain"] = _equals_or_unknown(f.domain.lower())
    if f.country_code:
        match["location.countryCode"] = _equals_or_unknown(f.country_code.upper())
    if f.country_name:
        match["location.countryName"] = _equals_or_unknown(f.country_name)
    if f.city_name:
        match["location.cityName"] = _equals_or_unknown(f.city_name)
    started: dict[str, dt.datetime] = {}
    if f.started_from is not None:
        started["$gte"] = f.started_from
    if f.started_to is not None:
        started["$lte"] = f.started_to
    if started:
        match["startedAt"] = started
    return {"$match": match}


def _or_unknown(field: str) -> dict[str, Any]:
    return {"$ifNull": [f"${field}", UNKNOWN]}


class SessionRepository(Repository):
    COLLECTION = "sessions"
    INDEXES = [
        ([("hostId", ASCENDING), ("startedAt", ASCENDING)], {"name": "host_started"}),
        ([("startedAt", ASCENDING)], {"name": "started"}),  # an admin's reports over every host
    ]

    # -- writes: the realtime layer ------------------------------------------------------------------------

    async def insert(self, doc: dict[str, Any]) -> str:
        """Store a document made by :func:`session_document`; its id."""
        result = await self._store.call(lambda: self._coll().insert_one(dict(doc)))
        return str(result.inserted_id)

    async def start(
        self, host_id: str, session_type: str, domain: str | None, location: Mapping[str, Any] | None = None,
        *, started_at: dt.datetime | None = None, room_id: str | None = None,
    ) -> str:  # fmt: skip
        """Record a session that starts now (or at ``started_at``); its id.

        ``location`` has the keys of :data:`LOCATION_KEYS`; the realtime layer passes what the GeoIP locator
        found for the host's address (``realtime/sessions.py``), missing or "Unknown" fields are stored as null.
        """
        return await self.insert(session_document(host_id, session_type, domain, location, started_at=started_at,
                                                  room_id=room_id))  # fmt: skip

    async def participant_joined(self, session_id: str, participant_id: str) -> bool:
        """Count a participant of a running session once, however often they rejoin; True if newly counted."""
        oid = to_oid(session_id)
        last_kept = f"participantIds.{MAX_PARTICIPANT_IDS - 1}"
        query = {"_id": oid, "endedAt": None, "participantIds": {"$ne": participant_id}, last_kept: {"$exists": False}}
        change = {"$push": {"participantIds": participant_id}, "$inc": {"participants": 1},
                  "$set": {"updatedAt": now()}}  # fmt: skip

        def _join() -> bool:
            if self._coll().update_one(query, change).modified_count == 1:
                return True
            # A very large session stops keeping ids (document size); it still counts joins.
            crowded = {
                "_id": oid,
                "endedAt": None,
                "participantIds": {"$ne": participant_id},
                last_kept: {"$exists": True},
            }
            bump = {"$inc": {"participants": 1}, "$set": {"updatedAt": now()}}
            return self._coll().update_one(crowded, bump).modified_count == 1

        return oid is not None and await self._store.call(_join)

    async def set_participants(self, session_id: str, count: int) -> bool:
        """Set the participant count of a session (for a caller that counts by itself); False if no such."""
        oid = to_oid(session_id)
        change = {"$set": {"participants": max(0, int(count)), "updatedAt": now()}}
        return oid is not None and await self._store.call(
            lambda: self._coll().update_one({"_id": oid}, change).matched_count == 1
        )

    async def end(self, session_id: str, ended_at: dt.datetime | None = None) -> bool:
        """Mark a running session completed; False if it is unknown or ended already."""
        oid = to_oid(session_id)
        change = {"$set": {"endedAt": ended_at or now(), "updatedAt": now()}}
        return oid is not None and await self._store.call(
            lambda: self._coll().update_one({"_id": oid, "endedAt": None}, change).modified_count == 1
        )

    async def get(self, session_id: str) -> dict[str, Any] | None:
        oid = to_oid(session_id)
        if oid is None:
            return None
        return shape(await self._store.call(lambda: self._coll().find_one({"_id": oid})))

    # -- reports --------------------------------------------------------------------------------------------

    async def _aggregate(self, pipeline: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return await self._store.call(lambda: list(self._coll().aggregate(pipeline)))

    async def total(self, f: SessionFilter) -> int:
        rows = await self._aggregate([match_stage(f), {"$group": {"_id": None, "count": {"$sum": 1}}}])
        return int(rows[0]["count"]) if rows else 0

    async def by_type(self, f: SessionFilter) -> dict[str, int]:
        """Completed sessions per session type."""
        rows = await self._aggregate([match_stage(f), {"$group": {"_id": "$sessionType", "count": {"$sum": 1}}}])
        return {str(row["_id"]): int(row["count"]) for row in rows}

    async def per_day_by_domain(self, f: SessionFilter) -> list[dict[str, Any]]:
        """``[{date: "YYYY-MM-DDT00:00:00.000Z", domainCounts: [{domain, count}]}]`` by UTC start day, oldest first."""
        day = {"$dateToString": {"format": "%Y-%m-%dT00:00:00.000Z", "date": "$startedAt"}}
        rows = await self._aggregate([
            match_stage(f),
            {"$group": {"_id": {"date": day, "domain": _or_unknown("domain")}, "count": {"$sum": 1}}},
            {"$sort": {"_id.date": 1, "_id.domain": 1}},
            {"$limit": MAX_GROUPS},
            {"$group": {"_id": "$_id.date", "domainCounts": {"$push": {"domain": "$_id.domain", "count": "$count"}}}},
            {"$sort": {"_id": 1}},
            {"$project": {"_id": 0, "date": "$_id", "domainCounts": 1}},
        ])  # fmt: skip
        # $push keeps the sorted order on MongoDB; sorting again makes it certain on any engine.
        return [
            {"domainCounts": sorted(row["domainCounts"], key=lambda d: (-d["count"], d["domain"])), "date": row["date"]}
            for row in rows
        ]

    async def by_location(self, f: SessionFilter) -> list[dict[str, Any]]:
        """``[{_id: {city, region, country, country_name}, count}]``, most sessions first."""
        key = {
            "city": _or_unknown("location.cityName"),
            "region": _or_unknown("location.regionName"),
            "country": _or_unknown("location.countryCode"),
            "country_name": _or_unknown("location.countryName"),
        }
        sort = {"count": -1, "_id.country": 1, "_id.region": 1, "_id.city": 1}
        return await self._aggregate([
            match_stage(f), {"$group": {"_id": key, "count": {"$sum": 1}}}, {"$sort": sort}, {"$limit": MAX_GROUPS},
        ])  # fmt: skip

    async def by_city_with_participants(self, f: SessionFilter) -> list[dict[str, Any]]:
        """``[{_id: city, totalSessions, totalParticipants}]``, most sessions first."""
        group = {"_id": _or_unknown("location.cityName"), "totalSessions": {"$sum": 1},
                 "totalParticipants": {"$sum": "$participants"}}  # fmt: skip
        return await self._aggregate([
            match_stage(f), {"$group": group}, {"$sort": {"totalSessions": -1, "_id": 1}}, {"$limit": MAX_GROUPS},
        ])  # fmt: skip
