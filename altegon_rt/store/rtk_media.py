"""RealtimeKit recordings, livestreams and livestream sessions (per app, UUID ids, snake_case fields)."""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING, DESCENDING

from altegon_rt.store.base import now
from altegon_rt.store.rtk import ScopedRepository


class RtkRecordingRepository(ScopedRepository):
    COLLECTION = "rtk_recordings"
    INDEXES = [
        ([("app_id", ASCENDING), ("created_at", DESCENDING), ("_id", DESCENDING)], {"name": "app_created"}),
        ([("app_id", ASCENDING), ("meeting_id", ASCENDING), ("status", ASCENDING)], {"name": "meeting_status"}),
    ]


class RtkLivestreamRepository(ScopedRepository):
    """Meeting livestreams, and independent ones (``meeting_id`` None) with an RTMP ``stream_key``, found
    across apps by its first characters (``key_prefix``; the caller compares the whole key in constant time)."""

    COLLECTION = "rtk_livestreams"
    INDEXES = [
        ([("app_id", ASCENDING), ("created_at", DESCENDING), ("_id", DESCENDING)], {"name": "app_created"}),
        ([("app_id", ASCENDING), ("meeting_id", ASCENDING)], {"name": "meeting"}),
        ([("key_prefix", ASCENDING)], {"name": "key_prefix"}),
    ]

    async def by_key_prefix(self, prefix: str) -> list[dict[str, Any]]:
        return await self._store.call(lambda: list(self._coll().find({"key_prefix": prefix}).limit(4)))

    async def end_stale_independent(self) -> int:
        """Independent livestreams left LIVE by a server that stopped without ending them: IDLE again."""
        result = await self._store.call(lambda: self._coll().update_many(
            {"meeting_id": None, "status": "LIVE"}, {"$set": {"status": "IDLE", "updated_at": now()}}))  # fmt: skip
        return int(result.modified_count)


class RtkLivestreamSessionRepository(ScopedRepository):
    COLLECTION = "rtk_livestream_sessions"
    INDEXES = [
        ([("app_id", ASCENDING), ("livestream_id", ASCENDING), ("created_at", DESCENDING)], {"name": "livestream"}),
    ]
