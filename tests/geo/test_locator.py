"""GeoLocator on real MaxMind DB files written by tests/geo/mmdb_writer.py, read through maxminddb."""

from __future__ import annotations

import itertools
import time
from pathlib import Path
from typing import Any

import maxminddb
import pytest
import trio

from altegon_rt.config import GeoSection
from altegon_rt.errors import ConfigError
from altegon_rt.geo.locator import UNKNOWN_LOCATION, GeoLocator, Location, location_of, open_locator, routable
from tests.geo.mmdb_writer import city_record, write_mmdb

LONDON = Location("GB", "United Kingdom", "England", "London")
LAHORE = Location("PK", "Pakistan", "Punjab", "Lahore")
CITY_NETWORKS = {
    "81.2.69.0/24": city_record("GB", "United Kingdom", "England", "London", other_names={"de": "", "ja": ""}),
    "81.2.69.160/27": city_record("GB", "United Kingdom", "England", "Kings Lynn"),
    "2a02:d8::/32": city_record("PK", "Pakistan", "Punjab", "Lahore", continent=("AS", "Asia")),
    "89.160.20.0/24": city_record("SE", "Sweden"),  # a city database's country-only record
}


@pytest.fixture
def city_db(tmp_path: Path) -> Path:
    return write_mmdb(tmp_path / "GeoLite2-City.mmdb", CITY_NETWORKS)


@pytest.fixture
async def city(city_db: Path) -> Any:
    locator = GeoLocator.open(str(city_db))
    yield locator
    locator.close()


async def test_city_database_gives_the_four_fields(city: GeoLocator) -> None:
    assert city.configured and "GeoLite2-City (IPv6, built 2025-10-09)" in city.describe()
    assert await city.locate("81.2.69.142") == LONDON
    assert await city.locate("81.2.69.170") == Location("GB", "United Kingdom", "England", "Kings Lynn")
    assert await city.locate("2a02:d8::1") == LAHORE
    assert await city.locate(" 2A02:D8:0:0::99 ") == LAHORE  # written any way an address can be
    assert await city.locate("::ffff:81.2.69.142") == LONDON  # IPv4 as a dual-stack socket reports it
    assert await city.locate("89.160.20.5") == Location("SE", "Sweden", "Unknown", "Unknown")
    assert await city.locate("8.8.8.8") == UNKNOWN_LOCATION  # not in the database
    assert LONDON.as_fields() == {"countryCode": "GB", "countryName": "United Kingdom", "regionName": "England",
                                  "cityName": "London"}  # fmt: skip


@pytest.mark.parametrize(
    "ip",
    ["10.1.2.3", "192.168.0.1", "172.16.5.4", "127.0.0.1", "::1", "fe80::1", "fe80::1%eth0", "100.64.0.1",
     "169.254.1.1", "0.0.0.0", "::",  # noqa: S104 - addresses to locate, not to bind "224.0.0.1", "ff02::1", "192.0.2.1", "2001:db8::1", "::ffff:10.0.0.1",
     "unknown", "", "81.2.69.142:443", "81.2.69", "not an address", "1.2.3.4.5"],
)  # fmt: skip
async def test_private_loopback_and_invalid_addresses_are_unknown(tmp_path: Path, ip: str) -> None:
    # Even a database that claims every address cannot place an address that is not on the internet.
    everything = write_mmdb(tmp_path / "all.mmdb", {"0.0.0.0/1": city_record("US", "United States"),
                                                    "128.0.0.0/1": city_record("US", "United States"),
                                                    "::/1": city_record("US", "United States"),
                                                    "8000::/1": city_record("US", "United States")})  # fmt: skip
    locator = GeoLocator.open(str(everything))
    try:
        assert routable(ip) is None
        assert await locator.locate(ip) == UNKNOWN_LOCATION
        assert await locator.locate("81.2.69.142") == Location("US", "United States", "Unknown", "Unknown")
    finally:
        locator.close()


async def test_without_a_database_everything_is_unknown() -> None:
    locator = open_locator(GeoSection())
    assert not locator.configured and "no database configured" in locator.describe()
    assert await locator.locate("81.2.69.142") == UNKNOWN_LOCATION
    locator.close()


async def test_country_database_and_ipv4_only_files(tmp_path: Path) -> None:
    v4 = {k: {"country": v["country"], "continent": v["continent"]} for k, v in CITY_NETWORKS.items() if ":" not in k}
    path = write_mmdb(tmp_path / "country.mmdb", v4, ip_version=4, record_size=24, database_type="GeoLite2-Country")
    locator = open_locator(GeoSection(database=str(path)))
    try:
        assert await locator.locate("81.2.69.142") == Location("GB", "United Kingdom", "Unknown", "Unknown")
        assert await locator.locate("2a02:d8::1") == UNKNOWN_LOCATION  # IPv6 in an IPv4-only file
    finally:
        locator.close()


def test_location_of_odd_records() -> None:
    assert location_of(None) == location_of("text") == location_of({}) == UNKNOWN_LOCATION
    assert location_of({"country": {"iso_code": "gb", "names": {"de": "Vereinigtes Königreich"}}}) == Location(
        "GB", "Unknown", "Unknown", "Unknown"
    )  # English names only
    odd = {"country": "GB", "subdivisions": [], "city": {"names": {"en": "  "}}}
    assert location_of(odd) == UNKNOWN_LOCATION
    assert location_of({"city": {"names": {"en": "x" * 201}}, "subdivisions": [{"names": "x"}]}) == UNKNOWN_LOCATION
    # The country where the address is, never where its owner registered it.
    assert location_of({"registered_country": {"iso_code": "US", "names": {"en": "United States"}}}) == (
        UNKNOWN_LOCATION
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [(None, "cannot open .*No such file"), (b"", "not a MaxMind DB file"), (b"\x00" * 5000, "not a MaxMind DB file")],
)
def test_unusable_files_are_config_errors(tmp_path: Path, content: bytes | None, message: str) -> None:
    path = tmp_path / "bad.mmdb"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ConfigError, match=rf"geo\.database: .*{message}"):
        GeoLocator.open(str(path))


def test_truncated_file_is_a_config_error(tmp_path: Path, city_db: Path) -> None:
    whole = city_db.read_bytes()
    cut = tmp_path / "cut.mmdb"
    cut.write_bytes(whole[:100] + whole[whole.rindex(b"\xab\xcd\xefMaxMind.com") :])  # tree cut short
    with pytest.raises(ConfigError, match=r"geo\.database: .* is not a MaxMind DB file"):
        GeoLocator.open(str(cut))


class CountingReader:
    """Wraps a real reader, counting lookups and optionally sleeping in them (a page fault on a cold file)."""

    def __init__(self, reader: Any, delay_s: float = 0.0) -> None:
        self.reader, self.delay_s, self.calls = reader, delay_s, 0

    def get(self, address: Any) -> Any:
        self.calls += 1
        time.sleep(self.delay_s)
        return self.reader.get(address)

    def metadata(self) -> Any:
        return self.reader.metadata()

    def close(self) -> None:
        self.reader.close()


async def test_answers_are_cached_least_recently_used_first(city_db: Path) -> None:
    real = GeoLocator.open(str(city_db))
    counting = CountingReader(real._reader)
    locator = GeoLocator(counting, path=str(city_db), cache_entries=2)
    assert await locator.locate("81.2.69.1") == await locator.locate("81.2.69.1") == LONDON
    assert counting.calls == 1
    await locator.locate("8.8.8.8")  # "not in the database" is an answer worth keeping too
    await locator.locate("81.2.69.1")  # touched: now the most recent
    await locator.locate("2a02:d8::5")  # evicts 8.8.8.8, the least recently used
    assert counting.calls == 3
    await locator.locate("81.2.69.1")
    assert counting.calls == 3
    await locator.locate("8.8.8.8")
    assert counting.calls == 4
    await locator.locate("10.0.0.1")  # not routable: no lookup at all
    assert counting.calls == 4
    locator.close()
    assert await locator.locate("81.2.69.1") == UNKNOWN_LOCATION  # closed: answers Unknown, never fails


async def test_a_slow_lookup_does_not_block_the_event_loop(city_db: Path) -> None:
    """A miss runs in a worker thread: while one takes 200 ms (a cold page of the file), the loop keeps going."""
    locator = GeoLocator(CountingReader(GeoLocator.open(str(city_db))._reader, delay_s=0.2), path=str(city_db))
    ticks: list[float] = []

    async def tick() -> None:
        while True:
            ticks.append(trio.current_time())
            await trio.sleep(0.005)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(tick)
        started = trio.current_time()
        assert await locator.locate("81.2.69.1") == LONDON
        assert trio.current_time() - started >= 0.2
        nursery.cancel_scope.cancel()
    assert len(ticks) >= 10 and max(b - a for a, b in itertools.pairwise(ticks)) < 0.1
    locator.close()


async def test_a_damaged_record_is_unknown_and_logged(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = write_mmdb(tmp_path / "d.mmdb", {"81.2.69.0/24": {"country": {"iso_code": "GB"}}})
    with maxminddb.open_database(str(path)) as reader:
        meta = reader.metadata()
    data = bytearray(path.read_bytes())
    # The record's first control byte becomes an extended type that does not exist.
    start = meta.node_count * meta.record_size // 4 + 16
    data[start] = 0x00
    data[start + 1] = 0xFF
    (tmp_path / "d.mmdb").write_bytes(bytes(data))
    locator = GeoLocator.open(str(tmp_path / "d.mmdb"))
    assert await locator.locate("81.2.69.1") == UNKNOWN_LOCATION
    assert "geo: lookup of 81.2.69.1 failed" in caplog.text
    locator.close()
