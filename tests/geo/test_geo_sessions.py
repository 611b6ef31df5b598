"""Located sessions end to end: started from a client address, stored with its place, reported by location.

Sessions are started the way the realtime layer will start them (``realtime.sessions.start_session`` with
a ``GeoLocator`` on a real MaxMind DB file) into the shared server's database, and read back through the
reporting routes over HTTP. The server process itself loads the configured database at start, and an
unusable one stops ``serve`` and ``check-config`` with exit code 2.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import trio

from altegon_rt.geo.locator import GeoLocator
from altegon_rt.realtime.sessions import start_session
from altegon_rt.store.gateway import Store
from altegon_rt.testing.process import ServerProcess
from tests.api.test_reporting import BY_CITY, BY_LOCATION, TOTAL, open_store, report
from tests.conftest import User
from tests.geo.mmdb_writer import city_record, write_mmdb
from tests.test_lifecycle import run_cli

NETWORKS = {
    "81.2.69.0/24": city_record("GB", "United Kingdom", "England", "London"),
    "2a02:d8::/32": city_record("PK", "Pakistan", "Punjab", "Lahore", continent=("AS", "Asia")),
    "89.160.20.0/24": city_record("SE", "Sweden"),
}


@pytest.fixture
async def store(server: ServerProcess) -> AsyncIterator[Store]:
    async with trio.open_nursery() as nursery:
        yield await nursery.start(open_store, server)
        nursery.cancel_scope.cancel()


@pytest.fixture
def city_db(tmp_path: Path) -> Path:
    return write_mmdb(tmp_path / "GeoLite2-City.mmdb", NETWORKS)


async def test_sessions_started_from_addresses_are_reported_by_location(
    store: Store, client: httpx.AsyncClient, alice: User, city_db: Path
) -> None:
    locator = GeoLocator.open(str(city_db))
    started = dt.datetime(2025, 10, 12, 9, tzinfo=dt.UTC)
    addresses = ["81.2.69.142", "2a02:d8::1", "::ffff:81.2.69.7", "2a02:d8:1::9", "89.160.20.5", "10.0.0.1",
                 "not an address"]  # fmt: skip
    try:
        ids = [
            await start_session(store.sessions, locator.locate, host_id=alice.id, session_type="webinar",
                                domain="altegon.com", client_ip=ip, started_at=started)
            for ip in addresses
        ]  # fmt: skip
    finally:
        locator.close()
    first = await store.sessions.get(ids[0])
    assert first is not None and first["location"] == {
        "countryCode": "GB", "countryName": "United Kingdom", "regionName": "England", "cityName": "London"
    }  # fmt: skip
    unknown = await store.sessions.get(ids[-1])
    assert unknown is not None and set(unknown["location"].values()) == {None}  # "Unknown" is stored as null
    for session_id in ids:
        assert await store.sessions.end(session_id)

    assert await report(client, alice, TOTAL) == len(addresses)
    rows = await report(client, alice, BY_LOCATION)
    # Most sessions first, then by country code.
    assert rows == [
        {"_id": {"city": "London", "region": "England", "country": "GB", "country_name": "United Kingdom"}, "count": 2},
        {"_id": {"city": "Lahore", "region": "Punjab", "country": "PK", "country_name": "Pakistan"}, "count": 2},
        {"_id": {"city": "Unknown", "region": "Unknown", "country": "Unknown", "country_name": "Unknown"}, "count": 2},
        {"_id": {"city": "Unknown", "region": "Unknown", "country": "SE", "country_name": "Sweden"}, "count": 1},
    ]  # fmt: skip
    assert await report(client, alice, BY_LOCATION, countryCode="pk") == [rows[1]]
    assert await report(client, alice, TOTAL, cityName="London") == 2
    assert await report(client, alice, TOTAL, countryName="Unknown") == 2
    cities = {row["_id"]: row["totalSessions"] for row in await report(client, alice, BY_CITY)}
    assert cities == {"Unknown": 3, "London": 2, "Lahore": 2}


def test_server_loads_the_configured_database(tmp_path: Path, city_db: Path) -> None:
    server = ServerProcess(tmp_path / "data", env={"ALTEGON_GEO_DATABASE": str(city_db)})
    try:
        assert server.wait_for_log(rf"geo: GeoLite2-City \(IPv6, built 2025-10-09\) from {city_db}", 5)
        assert httpx.get(f"{server.url}/readyz", timeout=10).status_code == 200
    finally:
        assert server.terminate() == 0
    assert "Traceback" not in server.log_text()
    plain = ServerProcess(tmp_path / "data2")
    try:
        assert plain.wait_for_log("geo: no database configured; session locations are Unknown", 5)
    finally:
        assert plain.terminate() == 0


def test_unusable_database_is_a_config_error(tmp_path: Path, city_db: Path) -> None:
    assert run_cli("check-config", env={"ALTEGON_GEO_DATABASE": str(city_db)}).stdout.strip() == "config OK"
    missing = run_cli("check-config", env={"ALTEGON_GEO_DATABASE": str(tmp_path / "nope.mmdb")})
    assert missing.returncode == 2
    assert missing.stderr.strip() == f"altegon-rt: config error: geo.database: no such file {tmp_path / 'nope.mmdb'}"
    garbage = tmp_path / "garbage.mmdb"
    garbage.write_bytes(b"not a database" * 100)
    for command in (["check-config"], ["serve", "--data-dir", str(tmp_path / "d"), "--http-port", "0"]):
        result = run_cli(*command, env={"ALTEGON_GEO_DATABASE": str(garbage)})
        assert result.returncode == 2, result.stderr
        # serve logs its start first; the reason is the last line, and the only one check-config prints.
        last = result.stderr.strip().splitlines()[-1]
        assert last.startswith(f"altegon-rt: config error: geo.database: {garbage} is not a MaxMind DB file")
        assert command[0] == "serve" or len(result.stderr.strip().splitlines()) == 1
