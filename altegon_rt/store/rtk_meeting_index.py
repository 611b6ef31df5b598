"""RealtimeKit meetings with an in-memory page index, so that paging through thousands of them stays quick.

The embedded database sorts a query's every match in memory before it skips: a page of an app with 10,000
meetings cost about half a second, whatever the page (measured with ``bench/rtk.py``). On embedded storage
this process is the only writer (the data dir is locked), so each app's meetings can be kept here as sorted
``(created_at, id, title)`` keys: a page is a slice of them (after the ``start_time`` / ``end_time`` bounds and
the title ``search``), and only the page's documents are read, by id. An app's keys are loaded by its first
list (one projection query) and kept up to date by every create and title change, which all go through this
class; a write racing the load makes the load be discarded. With a MongoDB URI another process may write, so
every list is a database query, as before. Meetings are never deleted.
"""

from __future__ import annotations

import bisect
import datetime as dt
from typing import Any

from altegon_rt.store.rtk import RtkMeetingRepository, title_search

MAX_INDEXED = 1_000_000  # keys over all apps (about 200 bytes each); beyond it the index starts over
Key = tuple[dt.datetime, str, str]  # created_at, id, title


class MeetingIndex:
    """Sorted keys of each loaded app, oldest first."""

    def __init__(self) -> None:
        self.apps: dict[str, list[Key]] = {}
        self.generation: dict[str, int] = {}  # bumped by every write of an app, to spot a racing load
        self.size = 0

    def install(self, app_id: str, keys: list[Key], generation: int) -> None:
        if self.generation.get(app_id, 0) != generation:
            return  # written meanwhile: the next list loads again
        if self.size + len(keys) > MAX_INDEXED:
            self.apps.clear()
            self.size = 0
        keys.sort(key=lambda k: (k[0], k[1]))
        self.apps[app_id] = keys
        self.size += len(keys)

    def written(self, app_id: str, key: Key | None = None) -> None:
        """A create (``key``) or a title change (``key`` with the new title) of one of ``app_id``'s meetings."""
        self.generation[app_id] = self.generation.get(app_id, 0) + 1
        keys = self.apps.get(app_id)
        if keys is None or key is None:
            return
        at = bisect.bisect_left(keys, (key[0], key[1]), key=lambda k: (k[0], k[1]))
        if at < len(keys) and keys[at][1] == key[1]:
            keys[at] = key
        else:
            keys.insert(at, key)
            self.size += 1

    def page(self, app_id: str, search: str | None, since: dt.datetime | None, until: dt.datetime | None,
             skip: int, limit: int) -> tuple[list[str], int] | None:  # fmt: skip
        """The ids of one page, newest first, and how many match; None when the app is not loaded."""
        keys = self.apps.get(app_id)
        if keys is None:
            return None
        low = 0 if since is None else bisect.bisect_left(keys, since, key=lambda k: k[0])
        high = len(keys) if until is None else bisect.bisect_right(keys, until, key=lambda k: k[0])
        window = keys[low:high]
        if search:
            needle = search.casefold()
            window = [k for k in window if needle in k[2].casefold()]
        total = len(window)
        end = total - skip
        return [k[1] for k in reversed(window[max(0, end - limit) : max(0, end)])], total


class IndexedMeetingRepository(RtkMeetingRepository):
    """:class:`RtkMeetingRepository` whose lists use a :class:`MeetingIndex` on embedded storage."""

    def __init__(self, store: Any) -> None:
        super().__init__(store)
        self.index: MeetingIndex | None = MeetingIndex() if store.kind == "embedded" else None

    async def create(self, app_id: str, fields: dict[str, Any], *, scope: dict[str, Any] | None = None) -> dict:
        doc = await super().create(app_id, fields, scope=scope)
        if self.index is not None:
            self.index.written(app_id, (doc["created_at"], doc["_id"], doc.get("title") or ""))
        return doc

    async def set_fields(
        self, app_id: str, object_id: str, fields: dict[str, Any], *, unset: tuple[str, ...] = (), **scope: Any
    ) -> dict[str, Any] | None:
        doc = await super().set_fields(app_id, object_id, fields, unset=unset, **scope)
        if self.index is not None:
            key = (doc["created_at"], doc["_id"], doc.get("title") or "") if doc is not None else None
            self.index.written(app_id, key)
        return doc

    async def list_page(self, app_id: str, search: str | None, since: dt.datetime | None, until: dt.datetime | None,
                        skip: int, limit: int) -> tuple[list[dict[str, Any]], int]:  # fmt: skip
        """One page of the app's meetings, newest first: created in ``[since, until]``, title containing ``search``."""
        if self.index is None:
            return await self.page(app_id, self._match(search, since, until), skip, limit)
        found = self.index.page(app_id, search, since, until, skip, limit)
        if found is None:
            await self._load(app_id)
            found = self.index.page(app_id, search, since, until, skip, limit)
        if found is None:  # a write raced the load: ask the database this time
            return await self.page(app_id, self._match(search, since, until), skip, limit)
        ids, total = found
        if not ids:
            return [], total

        def _fetch() -> list[dict[str, Any]]:
            return list(self._coll().find({"_id": {"$in": ids}, "app_id": app_id}))

        by_id = {d["_id"]: d for d in await self._store.call(_fetch)}
        return [by_id[i] for i in ids if i in by_id], total

    async def _load(self, app_id: str) -> None:
        assert self.index is not None
        generation = self.index.generation.get(app_id, 0)

        def _keys() -> list[Key]:
            cursor = self._coll().find({"app_id": app_id}, {"_id": 1, "created_at": 1, "title": 1})
            return [(d["created_at"], d["_id"], d.get("title") or "") for d in cursor]

        self.index.install(app_id, await self._store.call(_keys), generation)

    @staticmethod
    def _match(search: str | None, since: dt.datetime | None, until: dt.datetime | None) -> dict[str, Any]:
        match: dict[str, Any] = title_search(search) if search else {}
        if since or until:
            # Stored times have millisecond precision, so ">= t" is "> t - 1 ms" (and "<= t" is "< t + 1 ms"):
            # the embedded database answers $gte/$lte on an equal date as false.
            ms = dt.timedelta(milliseconds=1)
            match["created_at"] = {**({"$gt": since - ms} if since else {}), **({"$lt": until + ms} if until else {})}
        return match
