"""Meetings: title, host, transcript and summary flags, the room they run in, their recordings.

Every write to the ``meetings`` collection goes through this class; that is what makes the host-list
cache below correct, so keep it that way.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

from pymongo import ASCENDING, DESCENDING

from altegon_rt.store.base import Repository, now, shape, to_oid

if TYPE_CHECKING:
    from altegon_rt.store.gateway import Store

MAX_LIST = 1000
CACHED_MEETINGS = 100_000  # bounds the cache's memory: about 300 bytes a meeting
T = TypeVar("T")


class HostListCache:
    """Hosts' meeting lists, newest first, for a database whose only writer is this process.

    Every write bumps a counter before and after it runs and drops its host's list; a list read is kept
    only if the counter did not move while the read ran, so a read racing any write can never leave a stale
    list behind. Least recently used hosts go first once more than ``max_meetings`` meetings are held.
    """

    def __init__(self, max_meetings: int = CACHED_MEETINGS) -> None:
        self._lists: OrderedDict[str, list[dict[str, Any]]] = OrderedDict()
        self._held = 0
        self._max = max_meetings
        self.writes = 0

    def get(self, host_id: str) -> list[dict[str, Any]] | None:
        found = self._lists.get(host_id)
        if found is not None:
            self._lists.move_to_end(host_id)
        return found

    def _drop(self, host_id: str) -> None:
        dropped = self._lists.pop(host_id, None)
        if dropped is not None:
            self._held -= len(dropped)

    def put(self, host_id: str, writes_seen: int, meetings: list[dict[str, Any]]) -> None:
        if writes_seen != self.writes or len(meetings) > self._max:
            return
        self._drop(host_id)
        self._lists[host_id] = meetings
        self._held += len(meetings)
        while self._held > self._max:
            _, evicted = self._lists.popitem(last=False)
            self._held -= len(evicted)

    async def write(self, host_id: str, run: Callable[[], Awaitable[T]]) -> T:
        self.writes += 1
        self._drop(host_id)
        try:
            return await run()
        finally:
            self.writes += 1
            self._drop(host_id)


class MeetingRepository(Repository):
    COLLECTION = "meetings"
    INDEXES = [([("hostId", ASCENDING), ("createdAt", DESCENDING)], {"name": "host_created"})]

    def __init__(self, store: Store) -> None:
        super().__init__(store)
        # Only with the embedded database is this process the only writer; MongoDB may be shared.
        self._cache = HostListCache() if store.kind == "embedded" else None

    async def create(self, title: str, host_id: str, transcript_enabled: bool) -> str:
        stamp = now()
        doc = {
            "title": title,
            "hostId": host_id,
            "transcriptEnabled": transcript_enabled,
            "summaryGenerated": False,
            "recordingIds": [],
            "createdAt": stamp,
            "updatedAt": stamp,
        }

        async def insert() -> Any:
            return await self._store.call(lambda: self._coll().insert_one(doc))

        result = await (self._cache.write(host_id, insert) if self._cache else insert())
        return str(result.inserted_id)

    async def get(self, meeting_id: str) -> dict[str, Any] | None:
        oid = to_oid(meeting_id)
        if oid is None:
            return None
        return shape(await self._store.call(lambda: self._coll().find_one({"_id": oid})))

    async def update(self, meeting: dict[str, Any], fields: dict[str, Any], recording_id: str | None) -> bool:
        """Set ``fields`` on ``meeting`` (as read by :meth:`get`) and add ``recording_id``; False if it is gone."""
        oid = to_oid(meeting["_id"])
        change: dict[str, Any] = {"$set": {**fields, "updatedAt": now()}}
        if recording_id is not None:
            change["$addToSet"] = {"recordingIds": recording_id}

        async def apply() -> Any:
            return await self._store.call(lambda: self._coll().update_one({"_id": oid}, change))

        # hostId never changes, so the host read before the update is the one whose list this changes.
        result = await (self._cache.write(meeting["hostId"], apply) if self._cache else apply())
        return result.matched_count == 1

    async def list_for_host(self, host_id: str) -> list[dict[str, Any]]:
        """The host's meetings, newest first (at most 1000). Shared with other callers: do not modify."""
        if self._cache is not None and (cached := self._cache.get(host_id)) is not None:
            return cached
        writes_seen = self._cache.writes if self._cache else 0

        def _find() -> list[dict[str, Any]]:
            cursor = self._coll().find({"hostId": host_id}).sort("createdAt", DESCENDING).limit(MAX_LIST)
            return [shape(doc) for doc in cursor]  # type: ignore[misc]

        found = await self._store.call(_find)
        if self._cache is not None:
            self._cache.put(host_id, writes_seen, found)
        return found
