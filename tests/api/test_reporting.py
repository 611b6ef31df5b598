"""Dashboard analytics: the five reporting routes over sessions recorded by the real SessionRepository.

Sessions are written into the shared server's database by a :class:`Store` of our own pointed at it (as an
external MongoDB), through the same repository and document builder the realtime layer uses.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio

from altegon_rt.api.schema import parse_query_date
from altegon_rt.config import StorageSection
from altegon_rt.errors import BadRequest
from altegon_rt.store import sessions
from altegon_rt.store.gateway import Store
from altegon_rt.store.sessions import session_document
from altegon_rt.testing.process import ServerProcess
from tests.api.test_admin import _admin_server
from tests.conftest import HIGH_LIMITS, User, assert_error, make_user

UTC = dt.UTC
TOTAL = "/reporting/total-sessions-for-user"
PER_DAY = "/reporting/total-sessions-aggregation-for-user"
STATS = "/reporting/total-sessions-statistics-for-user"
BY_LOCATION = "/reporting/total-sessions-by-location-for-user"
BY_CITY = "/reporting/total-sessions-and-participants-count-by-location-for-user"
ALL_ROUTES = (TOTAL, PER_DAY, STATS, BY_LOCATION, BY_CITY)
OCTOBER = {"startDateRange": "2025-10-01T00:00:00.000Z", "endDateRange": "2025-10-31T23:59:59.999Z"}
LAHORE = {"countryCode": "pk", "countryName": "Pakistan", "regionName": "Punjab", "cityName": "Lahore"}
KARACHI = {"countryCode": "PK", "countryName": "Pakistan", "regionName": "Sindh", "cityName": "Karachi"}


def at(day: int, hour: int = 10, minute: int = 0, ms: int = 0) -> dt.datetime:
    return dt.datetime(2025, 10, day, hour, minute, tzinfo=UTC) + dt.timedelta(milliseconds=ms)


async def open_store(server: ServerProcess, *, task_status: trio.TaskStatus[Store]) -> None:
    match = server.wait_for_log(r"embedded database listening on 127\.0\.0\.1:(\d+)", 5)
    assert match is not None
    uri = f"mongodb://127.0.0.1:{match.group(1)}/?directConnection=true"
    await Store(StorageSection(mongodb_uri=uri), Path("/nonexistent")).run(task_status=task_status)


@pytest.fixture
async def store(server: ServerProcess) -> AsyncIterator[Store]:
    async with trio.open_nursery() as nursery:
        yield await nursery.start(open_store, server)
        nursery.cancel_scope.cancel()


async def record(store: Store, host: User, kind: str = "live", domain: str = "altegon.com",
                 location: dict[str, Any] | None = None, *, start: dt.datetime, participants: int = 0,
                 ended: bool = True) -> str:  # fmt: skip
    """A session as the repository stores it, started at ``start`` and (by default) ended an hour later."""
    end = start + dt.timedelta(hours=1) if ended else None
    doc = session_document(host.id, kind, domain, location, started_at=start, ended_at=end, participants=participants)
    return await store.sessions.insert(doc)


async def report(client: httpx.AsyncClient, user: User | dict[str, str], route: str, **query: str) -> Any:
    headers = user.headers if isinstance(user, User) else user
    r = await client.get(route, params=query, headers=headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"success", "data"} and body["success"] is True
    return body["data"]


async def test_repository_writes_and_running_sessions(store: Store, client: httpx.AsyncClient, alice: User) -> None:
    repo = store.sessions
    session_id = await repo.start(alice.id, "webinar", " Altegon.COM ", {"countryCode": " pk ", "cityName": ""})
    doc = await repo.get(session_id)
    assert doc is not None and doc["hostId"] == alice.id and doc["sessionType"] == "webinar"
    assert doc["domain"] == "altegon.com" and doc["endedAt"] is None and doc["participants"] == 0
    assert doc["location"] == {"countryCode": "PK", "countryName": None, "regionName": None, "cityName": None}
    expected = session_document(alice.id, "webinar", "altegon.com")
    assert set(doc) == {"_id", *expected}
    assert [await repo.participant_joined(session_id, p) for p in ("u1", "u2", "u1")] == [True, True, False]
    # A running session is not reported.
    assert await report(client, alice, TOTAL) == 0
    assert await repo.end(session_id) is True
    assert await repo.end(session_id) is False
    assert await repo.participant_joined(session_id, "u3") is False  # ended: no more joins
    assert await repo.set_participants(session_id, 7) is True
    for bad in ("nope", "0123456789abcdef01234567"):
        assert not await repo.end(bad) and not await repo.participant_joined(bad, "u") and await repo.get(bad) is None
    assert await report(client, alice, TOTAL) == 1
    assert await report(client, alice, BY_CITY) == [{"_id": "Unknown", "totalSessions": 1, "totalParticipants": 7}]
    with pytest.raises(ValueError):
        session_document(alice.id, "party", "x")


async def test_participant_ids_are_capped(store: Store, alice: User, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sessions, "MAX_PARTICIPANT_IDS", 2)
    session_id = await store.sessions.start(alice.id, "conference", "altegon.com")
    joined = [await store.sessions.participant_joined(session_id, p) for p in ("u1", "u2", "u1", "u3", "u3", "u2")]
    # Past the cap, new ids are counted without being kept (so u3 twice); kept ones still are not recounted.
    assert joined == [True, True, False, True, True, False]
    doc = await store.sessions.get(session_id)
    assert doc is not None and doc["participantIds"] == ["u1", "u2"] and doc["participants"] == 4


async def seed_october(store: Store, user: User) -> None:
    """Seven completed sessions (and one running) for ``user`` in and around October 2025."""
    await record(store, user, "live", "altegon.com", LAHORE, start=at(12, 9), participants=10)
    await record(store, user, "live", "altegon.com", LAHORE, start=at(12, 23, 59, 59_999), participants=5)
    await record(store, user, "webinar", "example.org", LAHORE, start=at(12, 0), participants=100)
    await record(store, user, "webinar", "altegon.com", KARACHI, start=at(13), participants=40)
    await record(store, user, "conference", "altegon.com", None, start=at(18, 23), participants=3)
    await record(store, user, "live", "altegon.com", LAHORE, start=at(30, 12) - dt.timedelta(days=30))  # September
    await record(store, user, "live", "altegon.com", KARACHI, start=at(20), ended=False)  # still running


async def test_documented_samples(store: Store, client: httpx.AsyncClient, alice: User) -> None:
    await seed_october(store, alice)
    sample = {**OCTOBER, "sessionType": "", "userID": alice.id}
    assert await report(client, alice, TOTAL, **sample) == 5
    assert await report(client, alice, STATS, **sample) == {
        "totalSessions": 5,
        "totalSessionsByType": [{"sessionType": "live", "totalSessions": 2},
                                {"sessionType": "webinar", "totalSessions": 2},
                                {"sessionType": "conference", "totalSessions": 1}],
    }  # fmt: skip
    week = {"sessionType": "", "userID": alice.id, "startDateRange": "2025-10-12T00:00:00.000Z",
            "endDateRange": "2025-10-18T23:59:59.999Z"}  # fmt: skip
    assert await report(client, alice, PER_DAY, **week) == [
        {"domainCounts": [{"domain": "altegon.com", "count": 2}, {"domain": "example.org", "count": 1}],
         "date": "2025-10-12T00:00:00.000Z"},
        {"domainCounts": [{"domain": "altegon.com", "count": 1}], "date": "2025-10-13T00:00:00.000Z"},
        {"domainCounts": [{"domain": "altegon.com", "count": 1}], "date": "2025-10-18T00:00:00.000Z"},
    ]  # fmt: skip
    assert await report(client, alice, BY_LOCATION, **sample) == [
        {"_id": {"city": "Lahore", "region": "Punjab", "country": "PK", "country_name": "Pakistan"}, "count": 3},
        {"_id": {"city": "Karachi", "region": "Sindh", "country": "PK", "country_name": "Pakistan"}, "count": 1},
        {"_id": {"city": "Unknown", "region": "Unknown", "country": "Unknown", "country_name": "Unknown"},
         "count": 1},
    ]  # fmt: skip
    assert await report(client, alice, BY_CITY, **sample) == [
        {"_id": "Lahore", "totalSessions": 3, "totalParticipants": 115},
        {"_id": "Karachi", "totalSessions": 1, "totalParticipants": 40},
        {"_id": "Unknown", "totalSessions": 1, "totalParticipants": 3},
    ]
    # The documented query string, verbatim (percent-encoded dates, empty sessionType).
    raw = f"{PER_DAY}?sessionType=&userID={alice.id}&startDateRange=2025-10-12T00%3A00%3A00.000Z&endDateRange=" \
          "2025-10-12T23%3A59%3A59.999Z"  # fmt: skip
    r = await client.get(raw, headers=alice.headers)
    assert r.json()["data"][0]["date"] == "2025-10-12T00:00:00.000Z"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({}, 6),
        ({"sessionType": "webinar"}, 2),
        ({"sessionType": "LIVE"}, 3),
        ({"domain": "example.org"}, 1),
        ({"domain": "ALTEGON.com"}, 5),
        ({"countryCode": "pk"}, 5),
        ({"countryName": "Pakistan"}, 5),
        ({"cityName": "Karachi"}, 1),
        ({"cityName": "Lahore", "sessionType": "live"}, 3),
        ({"cityName": "Unknown"}, 1),
        ({"countryCode": "Unknown"}, 1),
        ({"cityName": "Atlantis"}, 0),
        ({"domain": "", "countryCode": "", "countryName": "", "cityName": "", "userID": ""}, 6),
    ],
)
async def test_every_filter(
    store: Store, client: httpx.AsyncClient, alice: User, query: dict[str, str], expected: int
) -> None:
    await seed_october(store, alice)
    assert await report(client, alice, TOTAL, **query) == expected
    stats = await report(client, alice, STATS, **query)
    assert stats["totalSessions"] == expected
    assert sum(row["count"] for row in await report(client, alice, BY_LOCATION, **query)) == expected
    assert sum(row["totalSessions"] for row in await report(client, alice, BY_CITY, **query)) == expected
    days = await report(client, alice, PER_DAY, **query)
    assert sum(d["count"] for day in days for d in day["domainCounts"]) == expected


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        ("2025-10-12T09:00:00.000Z", "", 4),  # the start is inclusive
        ("2025-10-12T09:00:00.001Z", "", 3),
        ("", "2025-10-12T09:00:00.000Z", 3),  # so is the end (with the September one)
        ("", "2025-10-12T08:59:59.999Z", 2),
        ("2025-10-12", "2025-10-12", 3),  # a bare end date includes its whole day, to the last millisecond
        ("2025-10-12T23:59:59.999Z", "2025-10-12T23:59:59.999Z", 1),
        ("1760227200000", "1760313599999", 3),  # epoch milliseconds: 2025-10-12 whole day
        ("2025-10-12T14:00:00+05:00", "2025-10-12T14:00:00 05:00", 1),  # offsets; an unencoded '+' is a space
        ("2025-10-13T00:00:00", "2025-10-31", 2),  # no offset: UTC
    ],
)
async def test_date_range_edges(
    store: Store, client: httpx.AsyncClient, alice: User, start: str, end: str, expected: int
) -> None:
    await seed_october(store, alice)
    assert await report(client, alice, TOTAL, startDateRange=start, endDateRange=end) == expected


async def test_days_are_utc_days_of_the_start(store: Store, client: httpx.AsyncClient, alice: User) -> None:
    await record(store, alice, "live", "", start=at(1, 5))  # no domain known: "Unknown"
    # Started 23:30 on the 1st, ended on the 2nd: counted on the 1st.
    await record(store, alice, "live", "a.com", start=at(1, 23, 30))
    await record(store, alice, "live", "b.com", start=at(2, 0))
    await record(store, alice, "live", "a.com", start=at(2, 0, 0, 1))
    await record(store, alice, "live", "a.com", start=at(2, 23, 59, 59_999))
    assert await report(client, alice, PER_DAY) == [
        {"domainCounts": [{"domain": "Unknown", "count": 1}, {"domain": "a.com", "count": 1}],
         "date": "2025-10-01T00:00:00.000Z"},
        {"domainCounts": [{"domain": "a.com", "count": 2}, {"domain": "b.com", "count": 1}],
         "date": "2025-10-02T00:00:00.000Z"},
    ]  # fmt: skip
    assert await report(client, alice, TOTAL, domain="unknown") == 1


async def test_nobody_else_is_counted(store: Store, client: httpx.AsyncClient, alice: User, bob: User) -> None:
    await seed_october(store, bob)
    await record(store, alice, "live", "altegon.com", LAHORE, start=at(12), participants=2)
    assert await report(client, alice, TOTAL) == 1
    assert await report(client, alice, TOTAL, userID=alice.id) == 1
    assert await report(client, alice, TOTAL, userId=alice.id.upper()) == 1  # the id's case and alias
    assert await report(client, alice, BY_CITY) == [{"_id": "Lahore", "totalSessions": 1, "totalParticipants": 2}]
    assert await report(client, bob, TOTAL) == 6
    for route in ALL_ROUTES:
        assert_error(await client.get(route, params={"userID": bob.id}, headers=alice.headers), 403, "forbidden")
        assert_error(await client.get(route), 401)


@pytest.mark.parametrize(
    ("query", "name"),
    [
        ({"startDateRange": "yesterday"}, "startDateRange"),
        ({"endDateRange": "2025-13-01"}, "endDateRange"),
        ({"startDateRange": "-5"}, "startDateRange"),
        ({"endDateRange": "99999999999999999999"}, "endDateRange"),
        ({"startDateRange": "1969-12-31T00:00:00Z"}, "startDateRange"),
        ({"startDateRange": "2025-10-02", "endDateRange": "2025-10-01T00:00:00Z"}, "startDateRange"),
        ({"sessionType": "party"}, "sessionType"),
        ({"userID": "not-an-id"}, "userID"),
        ({"domain": "x" * 300}, "domain"),
        ({"cityName": "a\x01b"}, "cityName"),
    ],
)
async def test_bad_filters_are_400_naming_the_parameter(
    client: httpx.AsyncClient, alice: User, query: dict[str, str], name: str
) -> None:
    for route in ALL_ROUTES:
        body = assert_error(await client.get(route, params=query, headers=alice.headers), 400, "invalid_field")
        assert f"'{name}'" in str(body["error"]["message"])  # type: ignore[index]


async def test_admin_reports_on_everyone(fresh_data_dir: Path) -> None:
    server, admin_token = _admin_server(fresh_data_dir, env=HIGH_LIMITS)
    admin = {"Authorization": f"Bearer {admin_token}"}
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as c, trio.open_nursery() as nursery:
            store = await nursery.start(open_store, server)
            users = [await make_user(c), await make_user(c)]
            await seed_october(store, users[0])
            await record(store, users[1], "conference", "other.net", KARACHI, start=at(5), participants=4)
            assert await report(c, admin, TOTAL) == 7
            assert await report(c, admin, TOTAL, userID="") == 7
            assert await report(c, admin, TOTAL, userID=users[1].id) == 1
            assert await report(c, admin, TOTAL, userID="0123456789abcdef01234567") == 0
            stats = await report(c, admin, STATS, **OCTOBER)
            assert stats["totalSessions"] == 6 and stats["totalSessionsByType"][2]["totalSessions"] == 2
            assert await report(c, users[1], BY_CITY) == [{"_id": "Karachi", "totalSessions": 1,
                                                           "totalParticipants": 4}]  # fmt: skip
            nursery.cancel_scope.cancel()
    finally:
        assert server.terminate() == 0


def test_parse_query_date_units() -> None:
    assert parse_query_date("d", "  ") is None
    assert parse_query_date("d", "0") == dt.datetime(1970, 1, 1, tzinfo=UTC)
    assert parse_query_date("d", "2025-10-31", end_of_day=True) == at(31, 23, 59, 59_999)
    assert parse_query_date("d", "2025-10-31T00:00:00Z", end_of_day=True) == at(31, 0)  # only a bare date
    assert parse_query_date("d", "9999-12-31", end_of_day=True) == dt.datetime(9999, 12, 31, 23, 59, 59, 999_000,
                                                                               tzinfo=UTC)  # fmt: skip
    assert parse_query_date("d", "2025-10-12T14:00:00 0500") == at(12, 9)
    for bad in ("12345678901234567", "١٢٣", "2025-10-12T14:00:00 5", "x"):
        with pytest.raises(BadRequest, match="'d'"):
            parse_query_date("d", bad)
