"""The RealtimeKit meetings' page index: pages newest first, time bounds, title search, writes, racing loads."""

from __future__ import annotations

import datetime as dt

from altegon_rt.store.rtk_meeting_index import MeetingIndex

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def at(minutes: int) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


def loaded(count: int) -> MeetingIndex:
    index = MeetingIndex()
    keys = [(at(i), f"id-{i:03d}", f"Meeting {i}") for i in range(count)]
    index.install("app", list(reversed(keys)), 0)
    return index


def test_pages_are_newest_first_and_count_every_match() -> None:
    index = loaded(45)
    assert index.page("app", None, None, None, 0, 20) == ([f"id-{i:03d}" for i in range(44, 24, -1)], 45)
    assert index.page("app", None, None, None, 40, 20) == ([f"id-{i:03d}" for i in range(4, -1, -1)], 45)
    assert index.page("app", None, None, None, 60, 20) == ([], 45)
    assert index.page("other", None, None, None, 0, 20) is None


def test_time_bounds_and_search() -> None:
    index = loaded(30)
    assert index.page("app", None, at(10), at(12), 0, 20) == (["id-012", "id-011", "id-010"], 3)
    assert index.page("app", "meeting 2", None, None, 0, 3) == (["id-029", "id-028", "id-027"], 11)
    assert index.page("app", "7", at(10), None, 0, 20) == (["id-027", "id-017"], 2)


def test_writes_keep_it_current_and_a_racing_load_is_dropped() -> None:
    index = loaded(3)
    index.written("app", (at(5), "id-new", "Fresh"))
    index.written("app", (at(1), "id-001", "Renamed"))
    assert index.page("app", None, None, None, 0, 10) == (["id-new", "id-002", "id-001", "id-000"], 4)
    assert index.page("app", "renamed", None, None, 0, 10) == (["id-001"], 1)
    racing = MeetingIndex()
    generation = racing.generation.get("app", 0)
    racing.written("app")  # a create while the keys were being read
    racing.install("app", [(at(0), "id-000", "x")], generation)
    assert racing.page("app", None, None, None, 0, 10) is None
