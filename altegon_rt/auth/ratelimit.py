"""Token-bucket rate limits keyed by (scope, key), e.g. ("login-ip", "127.0.0.1").

Pure: the caller passes the time in. Memory is bounded: buckets that have refilled completely carry no
information and are dropped, and the table never holds more than ``max_keys`` buckets (the least recently
touched go first).
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """Allows ``per_minute`` events per key with bursts of the same size."""

    def __init__(self, per_minute: int, max_keys: int = 100_000) -> None:
        self._capacity = float(per_minute)
        self._rate = per_minute / 60.0
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()
        self._max_keys = max_keys

    def hit(self, key: str, now: float) -> float:
        """Take one token for ``key``; 0.0 when allowed, else the seconds until a token is free."""
        bucket = self._buckets.pop(key, None)
        if bucket is None:
            bucket = _Bucket(self._capacity, now)
        else:
            elapsed = max(0.0, now - bucket.updated)
            bucket.tokens = min(self._capacity, bucket.tokens + elapsed * self._rate)
            bucket.updated = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            wait = 0.0
        else:
            wait = (1.0 - bucket.tokens) / self._rate
        self._buckets[key] = bucket
        self._evict(now)
        return wait

    def _evict(self, now: float) -> None:
        while len(self._buckets) > self._max_keys:
            self._buckets.popitem(last=False)
        # Drop a few refilled buckets from the old end on every hit: amortised O(1).
        for _ in range(2):
            if not self._buckets:
                return
            key, oldest = next(iter(self._buckets.items()))
            if oldest.tokens + (now - oldest.updated) * self._rate < self._capacity:
                return
            del self._buckets[key]

    def __len__(self) -> int:
        return len(self._buckets)


def retry_after(wait_s: float) -> int:
    return max(1, math.ceil(wait_s))
