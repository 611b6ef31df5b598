"""The meeting-list cache: writes invalidate, racing reads are not kept, memory is bounded."""

from __future__ import annotations

import datetime as dt

import trio

from altegon_rt.api.jsonio import iso
from altegon_rt.store.meetings import HostListCache


def meetings(n: int) -> list[dict[str, object]]:
    return [{"_id": str(i)} for i in range(n)]


async def test_write_invalidates_its_host_only() -> None:
    cache = HostListCache()
    cache.put("a", cache.writes, meetings(2))
    cache.put("b", cache.writes, meetings(3))

    async def nothing() -> int:
        return 1

    assert await cache.write("a", nothing) == 1
    assert cache.get("a") is None and cache.get("b") == meetings(3)


async def test_read_that_raced_a_write_is_not_kept() -> None:
    cache = HostListCache()
    seen = cache.writes  # a read starts
    release = trio.Event()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(cache.write, "a", release.wait)
        await trio.testing.wait_all_tasks_blocked()
        release.set()
    cache.put("a", seen, meetings(1))  # the read ends after the write: its result may be old
    assert cache.get("a") is None
    cache.put("a", cache.writes, meetings(1))
    assert cache.get("a") == meetings(1)


async def test_list_read_during_a_write_is_dropped_when_the_write_ends() -> None:
    cache = HostListCache()
    release = trio.Event()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(cache.write, "a", release.wait)
        await trio.testing.wait_all_tasks_blocked()
        cache.put("a", cache.writes, meetings(1))  # read entirely inside the write
        release.set()
    assert cache.get("a") is None


def test_memory_is_bounded_by_meetings_held() -> None:
    cache = HostListCache(max_meetings=10)
    for host in "abcde":
        cache.put(host, cache.writes, meetings(3))
    # 15 meetings offered, 10 allowed: the least recently used hosts a and b went.
    assert [h for h in "abcde" if cache.get(h) is not None] == ["c", "d", "e"]
    cache.put("huge", cache.writes, meetings(11))
    assert cache.get("huge") is None


def test_iso_dates_match_the_documents_format() -> None:
    moment = dt.datetime(2025, 10, 14, 13, 8, 9, 559_123, tzinfo=dt.UTC)
    assert iso(moment) == "2025-10-14T13:08:09.559Z"
    assert iso(moment.replace(tzinfo=None)) == "2025-10-14T13:08:09.559Z"
    plus_two = moment.astimezone(dt.timezone(dt.timedelta(hours=2)))
    assert iso(plus_two) == "2025-10-14T13:08:09.559Z"
    assert iso(dt.datetime(2025, 1, 1, tzinfo=dt.UTC)) == "2025-01-01T00:00:00.000Z"
