"""RealtimeKit sessions: one document per session of a meeting, one per peer that joined it, and its chat.

A session (``rtk_sessions``) runs from the first join of a meeting's room until the keep-alive time after the
last peer left (``altegon_rt/rtk/sessions.py`` decides; this module only stores). Each join is a session
participant (``rtk_session_peers``): the RealtimeKit participant, the socket (``peer_id``), join and leave
times and the media counters the SFU had for it. Chat (``rtk_session_chat``) is kept only for meetings with
``persist_chat``. Everything is scoped by ``app_id``, like the rest of ``store/rtk.py``.
"""

from __future__ import annotations

import re
from typing import Any

from pymongo import ASCENDING, DESCENDING

from altegon_rt.store.base import Repository, now
from altegon_rt.store.rtk import ScopedRepository, new_uuid

MAX_CHAT_LINES = 50_000


class _SortedRepository(ScopedRepository):
    """Pages in an order the caller picks (the lists' ``sort_by`` / ``sort_order``)."""

    async def sorted_page(
        self, app_id: str, match: dict[str, Any], sort: list[tuple[str, int]], skip: int, limit: int
    ) -> tuple[list[dict[str, Any]], int]:
        query = {"app_id": app_id, **match}

        def _find() -> tuple[list[dict[str, Any]], int]:
            total = self._coll().count_documents(query)
            if skip >= total:
                return [], total
            return list(self._coll().find(query).sort(sort).skip(skip).limit(limit)), total

        return await self._store.call(_find)


class RtkSessionRepository(_SortedRepository):
    COLLECTION = "rtk_sessions"
    SORT = [("started_at", DESCENDING), ("_id", DESCENDING)]
    INDEXES = [
        ([("app_id", ASCENDING), ("started_at", DESCENDING), ("_id", DESCENDING)], {"name": "app_started"}),
        ([("app_id", ASCENDING), ("associated_id", ASCENDING), ("started_at", DESCENDING)], {"name": "app_meeting"}),
    ]

    async def start(self, doc: dict[str, Any]) -> None:
        stamp = now()
        await self._store.call(lambda: self._coll().insert_one({**doc, "created_at": stamp, "updated_at": stamp}))

    async def end_orphans(self) -> int:
        """Sessions still LIVE from a previous run of the server (it stopped while they ran): ENDED now."""
        stamp = now()
        change = {"$set": {"status": "ENDED", "ended_at": stamp, "updated_at": stamp, "live_participants": 0}}
        result = await self._store.call(lambda: self._coll().update_many({"status": "LIVE"}, change))
        return int(result.modified_count)


class RtkSessionPeerRepository(_SortedRepository):
    COLLECTION = "rtk_session_peers"
    SORT = [("joined_at", ASCENDING), ("_id", ASCENDING)]
    INDEXES = [
        ([("session_id", ASCENDING), ("joined_at", ASCENDING)], {"name": "session_joined"}),
        ([("app_id", ASCENDING), ("peer_id", ASCENDING)], {"name": "app_peer"}),
    ]

    async def add(self, doc: dict[str, Any]) -> None:
        stamp = now()
        await self._store.call(lambda: self._coll().insert_one({**doc, "created_at": stamp, "updated_at": stamp}))

    async def left_session(self, record_id: str, fields: dict[str, Any]) -> None:
        change = {"$set": {**fields, "updated_at": now()}}
        await self._store.call(lambda: self._coll().update_one({"_id": record_id}, change))

    async def close_orphans(self) -> None:
        """Peers of sessions ended by :meth:`RtkSessionRepository.end_orphans` get a leave time."""
        stamp = now()
        change = {"$set": {"left_at": stamp, "updated_at": stamp}}
        await self._store.call(lambda: self._coll().update_many({"left_at": None}, change))

    async def by_peer(self, app_id: str, peer_id: str) -> dict[str, Any] | None:
        return await self._store.call(lambda: self._coll().find_one({"app_id": app_id, "peer_id": peer_id}))

    async def for_participant(self, app_id: str, session_id: str, participant_id: str) -> dict[str, Any] | None:
        """A session participant by its own id, or the latest join of the RealtimeKit participant of that id."""
        query = {"app_id": app_id, "session_id": session_id, "$or": [{"_id": participant_id},
                                                                      {"participant_id": participant_id}]}  # fmt: skip

        def _find() -> dict[str, Any] | None:
            found = list(self._coll().find(query).sort("joined_at", DESCENDING).limit(1))
            return found[0] if found else None

        return await self._store.call(_find)


class RtkChatRepository(Repository):
    COLLECTION = "rtk_session_chat"
    INDEXES = [([("session_id", ASCENDING), ("created_at", ASCENDING), ("_id", ASCENDING)], {"name": "session_time"})]

    async def add(self, doc: dict[str, Any]) -> None:
        await self._store.call(lambda: self._coll().insert_one({"_id": new_uuid(), **doc}))

    async def for_session(self, session_id: str, limit: int = MAX_CHAT_LINES) -> list[dict[str, Any]]:
        def _find() -> list[dict[str, Any]]:
            cursor = self._coll().find({"session_id": session_id}).sort([("created_at", ASCENDING), ("_id", 1)])
            return list(cursor.limit(limit))

        return await self._store.call(_find)

    async def count(self, session_id: str) -> int:
        return int(await self._store.call(lambda: self._coll().count_documents({"session_id": session_id})))


def name_search(field: str, text: str) -> dict[str, Any]:
    """A case-insensitive substring match on ``field`` (the text is a literal, not a pattern)."""
    return {field: {"$regex": re.escape(text), "$options": "i"}}
