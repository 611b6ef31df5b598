"""Client IP → country code, country, region and city, from a MaxMind DB file (GeoLite2-City or -Country).

The file is opened once with MaxMind's ``maxminddb`` reader and memory-mapped (its C reader when the wheel
has it, else the pure-Python one), so a lookup reads only the pages it touches. Records are expected in the
GeoIP2 shape (``country.iso_code``, ``country.names.en``, ``subdivisions[0].names.en``,
``city.names.en``), which GeoLite2, GeoIP2 and DB-IP's lite databases share. English names only: the
reports group by these strings, so one language keeps one place one row.

A lookup is microseconds of work, but the first touch of a page of the mapped file is a disk read, which
must not stall the event loop: answers are kept in a small LRU cache (used on the trio thread only), and
a miss is looked up in a worker thread. Addresses that are not globally routable (private, loopback,
link-local, carrier-grade NAT, documentation ranges) or not addresses at all are "Unknown" without a
lookup: a database has nothing true to say about them.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import maxminddb
import trio

from altegon_rt.config import GeoSection
from altegon_rt.errors import ConfigError

log = logging.getLogger(__name__)

UNKNOWN = "Unknown"
CACHE_ENTRIES = 4096
LOOKUP_THREADS = 2  # misses at once; a burst of new addresses must not take every worker thread
MAX_NAME_CHARS = 200  # a name longer than this is not a place name; a damaged file must not fill reports

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True, slots=True)
class Location:
    """Where an address is; each field is "Unknown" when the database does not say."""

    country_code: str = UNKNOWN
    country_name: str = UNKNOWN
    region_name: str = UNKNOWN
    city_name: str = UNKNOWN

    def as_fields(self) -> dict[str, str]:
        """The session document's ``location`` fields (``countryCode``, ``countryName``, ...)."""
        return {
            "countryCode": self.country_code,
            "countryName": self.country_name,
            "regionName": self.region_name,
            "cityName": self.city_name,
        }


UNKNOWN_LOCATION = Location()


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) and 0 < len(value.strip()) <= MAX_NAME_CHARS else UNKNOWN


def _english(entry: Any) -> str:
    names = entry.get("names") if isinstance(entry, dict) else None
    return _text(names.get("en")) if isinstance(names, dict) else UNKNOWN


def location_of(record: Any) -> Location:
    """The location in a GeoIP2-shaped record; fields it lacks (or has in an odd shape) are "Unknown".

    ``country`` is where the address is used; ``registered_country`` (where its owner registered it) is
    deliberately not a fallback, since it would put sessions in the wrong place. The region is the first,
    largest subdivision (a state or province), as the reports show one region per session.
    """
    if not isinstance(record, dict):
        return UNKNOWN_LOCATION
    country = record.get("country") if isinstance(record.get("country"), dict) else {}
    code = _text(country.get("iso_code"))
    subdivisions = record.get("subdivisions")
    region = subdivisions[0] if isinstance(subdivisions, list) and subdivisions else None
    return Location(
        country_code=code.upper() if code != UNKNOWN else code,
        country_name=_english(country),
        region_name=_english(region),
        city_name=_english(record.get("city")),
    )


def routable(ip: str) -> Address | None:
    """``ip`` as an address worth looking up, or None (not an address, or not globally routable).

    An IPv4-mapped IPv6 address (``::ffff:1.2.3.4``, how a dual-stack socket reports IPv4 clients) is
    looked up as the IPv4 address it carries.
    """
    try:
        address = ipaddress.ip_address(ip.strip())
    except (ValueError, AttributeError):
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address if address.is_global and not address.is_multicast else None


class GeoLocator:
    """Answers :meth:`locate`; built by :meth:`open` from a database file, or without one (all "Unknown")."""

    def __init__(self, reader: Any = None, *, path: str = "", cache_entries: int = CACHE_ENTRIES) -> None:
        self._reader = reader
        self.path = path
        self._cache: OrderedDict[Address, Location] = OrderedDict()
        self._cache_entries = cache_entries
        self._limiter = trio.CapacityLimiter(LOOKUP_THREADS)

    @classmethod
    def open(cls, path: str) -> GeoLocator:
        """Open the database at ``path`` (blocking: call it at start, or in a thread); ``ConfigError`` if unusable."""
        try:
            # MODE_AUTO: the C reader over a memory map when the wheel has it, else the pure-Python one, also mmap.
            reader = maxminddb.open_database(path, maxminddb.MODE_AUTO)
            metadata = reader.metadata()
        except OSError as exc:
            raise ConfigError(f"geo.database: cannot open {path}: {_reason(exc)}") from None
        except (RuntimeError, ValueError, TypeError) as exc:  # InvalidDatabaseError is a RuntimeError
            raise ConfigError(f"geo.database: {path} is not a MaxMind DB file ({_reason(exc)})") from None
        kind = str(metadata.database_type)
        if "city" not in kind.lower() and "country" not in kind.lower():
            log.warning("geo: %s is a %s database, which may hold no locations (use a City or Country one)",
                        path, kind)  # fmt: skip
        return cls(reader, path=path)

    @property
    def configured(self) -> bool:
        return self._reader is not None

    def describe(self) -> str:
        """One line for the log: what database, built when."""
        if self._reader is None:
            return "no database configured; session locations are Unknown"
        meta = self._reader.metadata()
        built = dt.datetime.fromtimestamp(meta.build_epoch, dt.UTC).date().isoformat()
        return f"{meta.database_type} (IPv{meta.ip_version}, built {built}) from {self.path}"

    def lookup(self, address: Address) -> Location:
        """The database's answer for one address (blocking; a damaged record is "Unknown", logged)."""
        reader = self._reader
        if reader is None:
            return UNKNOWN_LOCATION
        try:
            return location_of(reader.get(address))
        except ValueError:
            return UNKNOWN_LOCATION  # an IPv6 address in an IPv4-only database
        except RuntimeError as exc:  # InvalidDatabaseError: the file is damaged at this record
            log.warning("geo: lookup of %s failed: %s", address, _reason(exc))
            return UNKNOWN_LOCATION

    async def locate(self, ip: str) -> Location:
        """Where ``ip`` is; "Unknown" fields when no database is configured or it does not know."""
        address = routable(ip) if self._reader is not None else None
        if address is None:
            return UNKNOWN_LOCATION
        cached = self._cache.get(address)
        if cached is not None:
            self._cache.move_to_end(address)
            return cached
        location = await trio.to_thread.run_sync(self.lookup, address, limiter=self._limiter)
        self._cache[address] = location
        if len(self._cache) > self._cache_entries:
            self._cache.popitem(last=False)
        return location

    def close(self) -> None:
        """Unmap the file (after the last lookup: the server closes it once requests have stopped)."""
        reader, self._reader = self._reader, None
        if reader is not None:
            reader.close()
        self._cache.clear()


def open_locator(config: GeoSection) -> GeoLocator:
    """The locator the configuration asks for (blocking: the file is opened and checked now)."""
    return GeoLocator.open(config.database) if config.database else GeoLocator()


def _reason(exc: BaseException) -> str:
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
