"""A small MaxMind DB writer, so tests read real ``.mmdb`` files without shipping MaxMind's data.

Follows the MaxMind DB File Format Specification 2.0: a binary search tree with one level per address bit
(24-, 28- or 32-bit records, two per node), 16 zero bytes, the data section, then the marker
``b"\\xab\\xcd\\xefMaxMind.com"`` and the metadata map. A record below ``node_count`` is the next node,
``node_count`` itself means "no data", and a larger one points into the data section at
``record - node_count - 16``. An IPv6 tree holds IPv4 networks under ``::/96``, where readers look them up.

The data section encodes maps, arrays, UTF-8 strings, bytes, doubles, floats, booleans, uint16/32/64/128 and
int32. Python values map to types by kind (``int`` becomes the smallest unsigned type that holds it, or
int32 when negative); wrap a value in :class:`Uint16` and friends to choose. Identical records are stored
once, and a string already written is referred to by a pointer, as MaxMind's own writer does, so readers'
pointer handling is exercised too.
"""

from __future__ import annotations

import ipaddress
import struct
import zlib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

METADATA_MARKER = b"\xab\xcd\xefMaxMind.com"
SEPARATOR = b"\x00" * 16

# Type numbers of the data section; 1-7 fit in the control byte, the rest are "extended" (7 less, in a byte).
POINTER, UTF8, DOUBLE, BYTES, UINT16, UINT32, MAP = 1, 2, 3, 4, 5, 6, 7
INT32, UINT64, UINT128, ARRAY, BOOLEAN, FLOAT = 8, 9, 10, 11, 14, 15


class Uint16(int):
    """An int to be written as uint16."""


class Uint32(int):
    """An int to be written as uint32."""


class Uint64(int):
    """An int to be written as uint64."""


class Uint128(int):
    """An int to be written as uint128."""


class Int32(int):
    """An int to be written as int32."""


class Float32(float):
    """A float to be written as a 4-byte float (readers give back the nearest double)."""


_UINT_BITS = {Uint16: (UINT16, 16), Uint32: (UINT32, 32), Uint64: (UINT64, 64), Uint128: (UINT128, 128)}


def control(kind: int, size: int) -> bytes:
    """The control byte(s) of a field: type and size, with the size's extension bytes."""
    if size < 29:
        low, extra = size, b""
    elif size < 29 + 256:
        low, extra = 29, (size - 29).to_bytes(1, "big")
    elif size < 285 + 65536:
        low, extra = 30, (size - 285).to_bytes(2, "big")
    elif size < 65821 + (1 << 24):
        low, extra = 31, (size - 65821).to_bytes(3, "big")
    else:
        raise ValueError(f"field too large for the format: {size}")
    if kind <= 7:
        return bytes([kind << 5 | low]) + extra
    return bytes([low, kind - 7]) + extra


def pointer(offset: int) -> bytes:
    """A pointer field to ``offset`` in the data section, in the shortest of its four sizes."""
    if offset < 2048:
        return bytes([POINTER << 5 | offset >> 8, offset & 0xFF])
    if offset < 526336:
        v = offset - 2048
        return bytes([POINTER << 5 | 1 << 3 | v >> 16]) + (v & 0xFFFF).to_bytes(2, "big")
    if offset < 526336 + (1 << 27):
        v = offset - 526336
        return bytes([POINTER << 5 | 2 << 3 | v >> 24]) + (v & 0xFFFFFF).to_bytes(3, "big")
    return bytes([POINTER << 5 | 3 << 3]) + offset.to_bytes(4, "big")


def _uint(kind: int, bits: int, value: int) -> bytes:
    if not 0 <= value < 1 << bits:
        raise ValueError(f"{value} does not fit in uint{bits}")
    payload = value.to_bytes((value.bit_length() + 7) // 8, "big")  # 0 is written with no bytes
    return control(kind, len(payload)) + payload


def _integer(value: int) -> bytes:
    for cls, (kind, bits) in _UINT_BITS.items():
        if isinstance(value, cls):
            return _uint(kind, bits, value)
    if isinstance(value, Int32) or value < 0:
        if not -(1 << 31) <= value < 1 << 31:
            raise ValueError(f"{int(value)} does not fit in int32")
        # Two's complement, leading zero bytes dropped (readers zero-extend): negatives keep all four.
        payload = (value & 0xFFFFFFFF).to_bytes(4, "big").lstrip(b"\x00")
        return control(INT32, len(payload)) + payload
    for kind, bits in ((UINT32, 32), (UINT64, 64), (UINT128, 128)):
        if value < 1 << bits:
            return _uint(kind, bits, value)
    raise ValueError(f"{value} does not fit in uint128")


def _canonical(value: Any) -> Any:
    """A hashable stand-in for ``value`` that tells apart everything encoded differently (True, 1, Uint16(1))."""
    if isinstance(value, Mapping):
        return ("map", tuple((k, _canonical(v)) for k, v in value.items()))
    if isinstance(value, list | tuple):
        return ("array", tuple(_canonical(v) for v in value))
    if isinstance(value, float):
        return (type(value).__name__, struct.pack(">d", value))  # 0.0 and -0.0 differ; NaN equals itself
    return (type(value).__name__, value)


class DataSection:
    """The data section being built; :meth:`add` gives each record's offset."""

    def __init__(self, *, share_strings: bool = True) -> None:
        self.data = bytearray()
        self._records: dict[Any, int] = {}
        self._strings: dict[str, int] = {}
        self._share_strings = share_strings

    def add(self, value: Any) -> int:
        """Store ``value`` (once, however often it is added); its offset in the data section."""
        key = _canonical(value)
        if key in self._records:
            return self._records[key]
        start = len(self.data)
        self.data += self.encode(value, start)
        self._records[key] = start
        return start

    def encode(self, value: Any, at: int) -> bytes:
        """``value`` encoded as if written at offset ``at`` (strings seen before become pointers)."""
        out = bytearray()
        self._encode(value, at, out)
        return bytes(out)

    def _encode(self, value: Any, at: int, out: bytearray) -> None:
        if isinstance(value, str):
            self._string(value, at, out)
        elif isinstance(value, bool):
            out += control(BOOLEAN, int(value))
        elif isinstance(value, int):
            out += _integer(value)
        elif isinstance(value, Float32):
            out += control(FLOAT, 4) + struct.pack(">f", value)
        elif isinstance(value, float):
            out += control(DOUBLE, 8) + struct.pack(">d", value)
        elif isinstance(value, bytes | bytearray):
            out += control(BYTES, len(value)) + bytes(value)
        elif isinstance(value, Mapping):
            out += control(MAP, len(value))
            for key, item in value.items():
                if not isinstance(key, str):
                    raise TypeError(f"map keys must be strings, not {type(key).__name__}")
                self._string(key, at, out)
                self._encode(item, at, out)
        elif isinstance(value, list | tuple):
            out += control(ARRAY, len(value))
            for item in value:
                self._encode(item, at, out)
        else:
            raise TypeError(f"no MaxMind DB type for {type(value).__name__}")

    def _string(self, text: str, at: int, out: bytearray) -> None:
        raw = text.encode("utf-8")
        here = at + len(out)
        earlier = self._strings.get(text) if self._share_strings else None
        if earlier is not None and len(pointer(earlier)) < len(raw) + 1:
            out += pointer(earlier)
            return
        out += control(UTF8, len(raw)) + raw
        if self._share_strings and earlier is None:
            self._strings[text] = here


class _Node:
    __slots__ = ("children",)

    def __init__(self, left: _Node | int | None = None, right: _Node | int | None = None) -> None:
        self.children: list[_Node | int | None] = [left, right]


def _bits(network: ipaddress.IPv4Network | ipaddress.IPv6Network, ip_version: int) -> tuple[int, int, int]:
    """(address as an integer, prefix length, tree depth) of ``network`` in a tree of ``ip_version``."""
    if ip_version == 4:
        if network.version != 4:
            raise ValueError(f"an IPv4 database cannot hold {network}")
        return int(network.network_address), network.prefixlen, 32
    if network.version == 4:
        return int(network.network_address), network.prefixlen + 96, 128  # ::a.b.c.d/96+n
    return int(network.network_address), network.prefixlen, 128


class SearchTree:
    """A binary trie of networks whose leaves are data-section offsets."""

    def __init__(self, ip_version: int) -> None:
        if ip_version not in (4, 6):
            raise ValueError("ip_version must be 4 or 6")
        self.ip_version = ip_version
        self.root = _Node()

    def insert(self, network: ipaddress.IPv4Network | ipaddress.IPv6Network, offset: int) -> None:
        """Map ``network`` to ``offset``; insert broader networks before the networks inside them."""
        address, prefix, depth = _bits(network, self.ip_version)
        if prefix == 0:
            raise ValueError("a network of prefix length 0 cannot be stored (the root is a node)")
        node = self.root
        for i in range(prefix - 1):
            bit = address >> (depth - 1 - i) & 1
            child = node.children[bit]
            if not isinstance(child, _Node):
                # An empty branch, or a broader network's leaf split in two so the narrower one fits inside.
                child = _Node(child, child)
                node.children[bit] = child
            node = child
        node.children[address >> (depth - prefix) & 1] = offset

    def numbered(self) -> list[_Node]:
        """Every node in breadth-first order: the root is node 0."""
        order, queue = [], [self.root]
        while queue:
            node = queue.pop(0)
            order.append(node)
            queue += [c for c in node.children if isinstance(c, _Node)]
        return order

    def to_bytes(self, record_size: int) -> tuple[bytes, int]:
        """The tree section and its node count."""
        nodes = self.numbered()
        number = {id(node): i for i, node in enumerate(nodes)}
        count = len(nodes)

        def record(child: _Node | int | None) -> int:
            if child is None:
                return count
            if isinstance(child, _Node):
                return number[id(child)]
            return count + 16 + child

        out = bytearray()
        for node in nodes:
            left, right = (record(c) for c in node.children)
            if max(left, right) >= 1 << record_size:
                raise ValueError(f"record {max(left, right)} does not fit in {record_size} bits")
            out += _node_bytes(left, right, record_size)
        return bytes(out), count


def _node_bytes(left: int, right: int, record_size: int) -> bytes:
    if record_size == 24:
        return left.to_bytes(3, "big") + right.to_bytes(3, "big")
    if record_size == 28:
        # The middle byte carries the top nibble of each record: left's high, right's low.
        middle = (left >> 24 & 0x0F) << 4 | right >> 24 & 0x0F
        return (left & 0xFFFFFF).to_bytes(3, "big") + bytes([middle]) + (right & 0xFFFFFF).to_bytes(3, "big")
    if record_size == 32:
        return left.to_bytes(4, "big") + right.to_bytes(4, "big")
    raise ValueError("record_size must be 24, 28 or 32")


def build_mmdb(
    networks: Mapping[str, Any] | Iterable[tuple[str, Any]],
    *,
    ip_version: int = 6,
    record_size: int = 28,
    database_type: str = "GeoLite2-City",
    languages: Iterable[str] = ("en",),
    description: Mapping[str, str] | None = None,
    build_epoch: int = 1_760_000_000,
) -> bytes:
    """A whole database file mapping each network (CIDR text) to its value."""
    pairs = list(networks.items() if isinstance(networks, Mapping) else networks)
    parsed = [(ipaddress.ip_network(cidr), value) for cidr, value in pairs]
    tree, data = SearchTree(ip_version), DataSection()
    # Broader first, so that a narrower network splits the broader one's leaf rather than being overwritten.
    for network, value in sorted(parsed, key=lambda p: _bits(p[0], ip_version)[1]):
        tree.insert(network, data.add(value))
    tree_bytes, node_count = tree.to_bytes(record_size)
    metadata = {
        "node_count": Uint32(node_count),
        "record_size": Uint16(record_size),
        "ip_version": Uint16(ip_version),
        "database_type": database_type,
        "languages": list(languages),
        "binary_format_major_version": Uint16(2),
        "binary_format_minor_version": Uint16(0),
        "build_epoch": Uint64(build_epoch),
        "description": dict(description or {"en": "Altegon RT test database"}),
    }
    meta = DataSection(share_strings=False).encode(metadata, 0)
    return tree_bytes + SEPARATOR + bytes(data.data) + METADATA_MARKER + meta


def write_mmdb(path: Path, networks: Mapping[str, Any] | Iterable[tuple[str, Any]], **options: Any) -> Path:
    """:func:`build_mmdb` written to ``path``."""
    path.write_bytes(build_mmdb(networks, **options))
    return path


def city_record(
    iso_code: str,
    country: str,
    region: str | None = None,
    city: str | None = None,
    *,
    continent: tuple[str, str] = ("EU", "Europe"),
    other_names: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """A record in the shape of GeoLite2-City (country-only when ``city`` and ``region`` are None).

    ``other_names`` adds the same names in other languages (e.g. ``{"de": ...}``) to every ``names`` map,
    as the real databases carry several languages.
    """

    def names(en: str) -> dict[str, str]:
        return {"en": en, **{lang: f"{en} ({lang})" for lang in (other_names or {})}}

    geo_id = Uint32(zlib.crc32(f"{iso_code}/{region}/{city}".encode()) % 10_000_000)
    record: dict[str, Any] = {
        "continent": {"code": continent[0], "geoname_id": Uint32(6255148), "names": names(continent[1])},
        "country": {"geoname_id": geo_id, "iso_code": iso_code, "names": names(country)},
        "registered_country": {"geoname_id": geo_id, "iso_code": iso_code, "names": names(country)},
    }
    if region is not None:
        record["subdivisions"] = [{"geoname_id": geo_id, "iso_code": "R1", "names": names(region)}]
    if city is not None:
        record["city"] = {"geoname_id": geo_id, "names": names(city)}
        record["location"] = {"accuracy_radius": Uint16(20), "latitude": 51.5, "longitude": -0.1,
                              "time_zone": "Europe/London"}  # fmt: skip
        record["postal"] = {"code": "SW1"}
    return record
