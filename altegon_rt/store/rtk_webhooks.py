"""RealtimeKit webhooks and their delivery log.

A webhook belongs to an app; its ``secret`` signs every delivery (HMAC-SHA256, see ``altegon_rt/rtk/webhooks.py``).
The delivery log keeps one document per event and webhook, with every attempt's outcome, and is bounded: only
the newest :data:`altegon_rt.config.RtkSection.webhook_log_size` deliveries of each webhook are kept.
"""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING, DESCENDING

from altegon_rt.store.base import Repository, now
from altegon_rt.store.rtk import ScopedRepository


class RtkWebhookRepository(ScopedRepository):
    COLLECTION = "rtk_webhooks"
    INDEXES = [([("app_id", ASCENDING), ("events", ASCENDING)], {"name": "app_events"})]

    async def subscribed(self, app_id: str, event: str) -> list[dict[str, Any]]:
        """The app's enabled webhooks that asked for ``event``."""

        def _find() -> list[dict[str, Any]]:
            return list(self._coll().find({"app_id": app_id, "enabled": True, "events": event}).limit(100))

        return await self._store.call(_find)

    async def all_for(self, app_id: str) -> list[dict[str, Any]]:
        def _find() -> list[dict[str, Any]]:
            return list(self._coll().find({"app_id": app_id}).sort(self.SORT).limit(1000))

        return await self._store.call(_find)


class RtkDeliveryRepository(Repository):
    COLLECTION = "rtk_webhook_deliveries"
    DURABLE = False  # a log: losing its last lines in a crash loses nothing a user needs
    INDEXES = [([("webhook_id", ASCENDING), ("created_at", DESCENDING)], {"name": "webhook_created"})]

    async def record(self, delivery: dict[str, Any], keep: int) -> None:
        """Store one finished delivery and drop that webhook's deliveries beyond the newest ``keep``."""
        doc = {**delivery, "finished_at": now()}

        def _write() -> None:
            coll = self._coll()
            coll.insert_one(doc)
            query = {"webhook_id": doc["webhook_id"]}
            oldest_kept = list(
                coll.find(query, {"created_at": 1}).sort("created_at", DESCENDING).skip(keep - 1).limit(1)
            )
            if oldest_kept:
                coll.delete_many({**query, "created_at": {"$lt": oldest_kept[0]["created_at"]}})

        await self._store.call(_write)

    async def recent(self, webhook_id: str, limit: int = 100) -> list[dict[str, Any]]:
        def _find() -> list[dict[str, Any]]:
            return list(self._coll().find({"webhook_id": webhook_id}).sort("created_at", DESCENDING).limit(limit))

        return await self._store.call(_find)
