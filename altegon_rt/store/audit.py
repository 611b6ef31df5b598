"""The audit log: who did what to which object, when, from where, and how it ended."""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING, DESCENDING

from altegon_rt.store.base import Repository, now, shape

MAX_LIST = 1000


class AuditRepository(Repository):
    COLLECTION = "audit"
    INDEXES = [
        ([("at", DESCENDING)], {"name": "at"}),
        ([("actor", ASCENDING), ("at", DESCENDING)], {"name": "actor_at"}),
    ]

    async def record(self, entry: dict[str, Any]) -> None:
        doc = {**entry, "at": now()}
        await self._store.call(lambda: self._coll().insert_one(doc))

    async def recent(
        self, *, actor: str | None = None, action: str | None = None, limit: int = 100
    ) -> list[dict[str, Any]]:
        query: dict[str, Any] = {}
        if actor:
            query["actor"] = actor
        if action:
            query["action"] = action
        limit = max(1, min(limit, MAX_LIST))

        def _find() -> list[dict[str, Any]]:
            return [shape(d) for d in self._coll().find(query).sort("at", DESCENDING).limit(limit)]  # type: ignore[misc]

        return await self._store.call(_find)
