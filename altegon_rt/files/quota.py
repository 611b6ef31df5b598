"""Per-user storage quota of recording blobs: the user's limit, and one writer per user at a time.

Shared by the storage routes (``api/storage.py``, uploads) and the recording server (``realtime/``, composed
MP4s), so that both count against the same limit and neither can overshoot it while the other writes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import trio

from altegon_rt.config import StorageQuotaSection
from altegon_rt.store import Store

_locks: dict[str, trio.Lock] = {}


@asynccontextmanager
async def user_lock(user_id: str) -> AsyncIterator[None]:
    """One blob write per user at a time in this process (one process per data dir), so quotas are exact."""
    lock = _locks.setdefault(user_id, trio.Lock())
    try:
        async with lock:
            yield
    finally:
        if not lock.locked() and lock.statistics().tasks_waiting == 0:
            _locks.pop(user_id, None)


async def storage_limit(store: Store, config: StorageQuotaSection, user_id: str) -> int:
    """The user's limit in bytes: their own (``storage_limits``) or the configured default."""
    limit = await store.storage_limits.get(user_id)
    return config.default_limit_bytes if limit is None else limit
