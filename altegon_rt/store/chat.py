"""Chat messages of meetings (the Meet socket's ``chat.send-message``), oldest first."""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING, DESCENDING

from altegon_rt.store.base import Repository, now, shape

MAX_MESSAGES = 20_000


class ChatRepository(Repository):
    COLLECTION = "chat_messages"
    INDEXES = [([("meetingId", ASCENDING), ("createdAt", ASCENDING), ("_id", ASCENDING)], {"name": "meeting_time"})]

    async def add(self, *, meeting_id: str, sender: str, user_id: str | None, message: str, is_host: bool
                  ) -> dict[str, Any]:  # fmt: skip
        doc = {"meetingId": meeting_id, "sender": sender, "userId": user_id, "message": message, "isHost": is_host,
               "createdAt": now()}  # fmt: skip
        result = await self._store.call(lambda: self._coll().insert_one(doc))
        return {**doc, "_id": str(result.inserted_id)}

    async def for_meeting(self, meeting_id: str, limit: int = MAX_MESSAGES) -> list[dict[str, Any]]:
        def _find() -> list[dict[str, Any]]:
            cursor = self._coll().find({"meetingId": meeting_id}).sort([("createdAt", ASCENDING), ("_id", ASCENDING)])
            return [shape(doc) for doc in cursor.limit(limit)]  # type: ignore[misc]

        return await self._store.call(_find)

    async def recent(self, meeting_id: str, count: int) -> list[dict[str, Any]]:
        """The meeting's last ``count`` messages, oldest first."""

        def _find() -> list[dict[str, Any]]:
            newest = [("createdAt", DESCENDING), ("_id", DESCENDING)]
            cursor = self._coll().find({"meetingId": meeting_id}).sort(newest).limit(count)
            return [shape(doc) for doc in cursor][::-1]  # type: ignore[misc]

        return await self._store.call(_find)
