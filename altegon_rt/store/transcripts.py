"""Transcript lines of meetings, stored encrypted: the repository sees only ciphertext."""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING

from altegon_rt.store.base import Repository, now, shape

MAX_LINES = 20_000


class TranscriptRepository(Repository):
    COLLECTION = "transcripts"
    INDEXES = [([("meetingId", ASCENDING), ("createdAt", ASCENDING), ("_id", ASCENDING)], {"name": "meeting_time"})]

    async def add(
        self, *, meeting_id: str, user_id: str, user_name: str, ciphertext: str, by_client: bool
    ) -> dict[str, Any]:
        doc = {
            "meetingId": meeting_id,
            "userId": user_id,
            "userName": user_name,
            "message": ciphertext,
            "isEncrypted": True,
            "clientEncrypted": by_client,
            "createdAt": now(),
        }
        result = await self._store.call(lambda: self._coll().insert_one(doc))
        return {**doc, "_id": str(result.inserted_id)}

    async def for_meeting(self, meeting_id: str, limit: int = MAX_LINES) -> list[dict[str, Any]]:
        """The meeting's lines, oldest first, still encrypted."""

        def _find() -> list[dict[str, Any]]:
            cursor = self._coll().find({"meetingId": meeting_id}).sort([("createdAt", ASCENDING), ("_id", ASCENDING)])
            return [shape(doc) for doc in cursor.limit(limit)]  # type: ignore[misc]

        return await self._store.call(_find)
