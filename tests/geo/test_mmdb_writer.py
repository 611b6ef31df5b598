"""The test MaxMind DB writer against MaxMind's own readers (C and pure Python): the files we test with are real.

Every field encoding is decoded by maxminddb's decoder; whole files are read by both readers for every
record size and IP version; a hypothesis fuzz builds random trees and checks each lookup against a
longest-prefix match done here.
"""

from __future__ import annotations

import ipaddress
import struct
from pathlib import Path
from typing import Any

import maxminddb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from maxminddb.decoder import Decoder

from tests.geo.mmdb_writer import (
    DataSection,
    Float32,
    Int32,
    Uint16,
    Uint64,
    Uint128,
    build_mmdb,
    city_record,
    control,
    pointer,
    write_mmdb,
)

MODES = pytest.mark.parametrize("mode", [maxminddb.MODE_MMAP_EXT, maxminddb.MODE_MMAP], ids=["c", "python"])


def decode(encoded: bytes) -> Any:
    value, end = Decoder(encoded).decode(0)
    assert end == len(encoded)
    return value


@pytest.mark.parametrize(
    "value",
    [
        "", "a", "é ü 日本", "x" * 28, "x" * 29, "x" * 284, "x" * 285, "x" * 65820, "x" * 65821, "x" * 70_000,
        0, 1, 255, 256, 2**32 - 1, 2**32, 2**64 - 1, 2**64, 2**128 - 1, Uint16(0), Uint16(65535), Uint64(7),
        Uint128(0), -1, -(2**31), Int32(0), Int32(5), Int32(2**31 - 1),
        True, False, 0.0, -2.5, 1e300, Float32(0.5), b"", b"\x00\xff" * 40,
        [], [1, "two", [3.0]], {}, {"a": {"b": [True, {"c": "d"}]}}, {"k": "v" * 300},
    ],
)  # fmt: skip
def test_each_value_decodes_as_written(value: Any) -> None:
    assert decode(DataSection().encode(value, 0)) == value


def test_values_that_do_not_fit_are_refused() -> None:
    for bad in (Uint16(65536), Int32(2**31), -(2**31) - 1, 2**128):
        with pytest.raises(ValueError, match="does not fit"):
            DataSection().encode(bad, 0)
    with pytest.raises(TypeError, match="map keys must be strings"):
        DataSection().encode({1: "x"}, 0)
    with pytest.raises(TypeError, match="no MaxMind DB type"):
        DataSection().encode(object(), 0)


def test_control_bytes_of_extended_types_and_long_sizes() -> None:
    assert control(2, 3) == bytes([0x43])  # utf8, size 3
    assert control(11, 2) == bytes([0x02, 0x04])  # array: type 0 in the control byte, then 11 - 7
    assert control(2, 29) == bytes([0x5D, 0x00])
    assert control(2, 285) == bytes([0x5E, 0x00, 0x00])
    assert control(2, 65821) == bytes([0x5F, 0x00, 0x00, 0x00])


@pytest.mark.parametrize(
    ("target", "length"),
    [(0, 2), (2047, 2), (2048, 3), (526335, 3), (526336, 4), (526336 + 2**27 - 1, 4), (526336 + 2**27, 5),
     (2**32 - 1, 5)],
)  # fmt: skip
def test_pointers_of_every_size_resolve(target: int, length: int) -> None:
    """A pointer read by the decoder gives back ``target``: the four sizes and their boundaries."""
    encoded = pointer(target)
    assert len(encoded) == length
    value, end = Decoder(encoded, pointer_test=True).decode(0)
    assert (value, end) == (target, length)


def test_repeated_strings_become_pointers_and_records_are_stored_once(tmp_path: Path) -> None:
    data = DataSection()
    first = data.add({"name": "United Kingdom"})
    size = len(data.data)
    second = data.add({"other": "United Kingdom"})
    # The second map refers to the first string: shorter than writing it again.
    assert len(data.data) - size < len({"other": "United Kingdom"}["other"]) + len("other") + 2
    assert data.add({"name": "United Kingdom"}) == first and second != first
    # Past 526336 bytes, pointers need their three-byte form; the reader still follows them.
    data.add("z" * 600_000)
    far = data.add({"far": "a string written beyond half a megabyte"})
    near = data.add({"again": "a string written beyond half a megabyte"})
    assert far > 526336 and near > far
    for offset, expected in ((first, {"name": "United Kingdom"}), (second, {"other": "United Kingdom"}),
                             (near, {"again": "a string written beyond half a megabyte"})):  # fmt: skip
        assert Decoder(bytes(data.data)).decode(offset)[0] == expected


NETWORKS = {
    "81.2.69.0/24": city_record("GB", "United Kingdom", "England", "London", other_names={"de": "", "fr": ""}),
    "81.2.69.160/27": city_record("GB", "United Kingdom", "England", "Kings Lynn"),
    "175.16.199.0/24": city_record("CN", "China", "Jilin Sheng", "Changchun", continent=("AS", "Asia")),
    "2a02:d8::/32": city_record("PK", "Pakistan", "Punjab", "Lahore", continent=("AS", "Asia")),
}


@MODES
@pytest.mark.parametrize("record_size", [24, 28, 32])
def test_whole_files_read_back_with_both_readers(tmp_path: Path, mode: int, record_size: int) -> None:
    path = write_mmdb(tmp_path / "city.mmdb", NETWORKS, record_size=record_size)
    with maxminddb.open_database(str(path), mode) as reader:
        meta = reader.metadata()
        assert (meta.record_size, meta.ip_version, meta.database_type) == (record_size, 6, "GeoLite2-City")
        assert meta.languages == ["en"] and meta.binary_format_major_version == 2
        assert reader.get("81.2.69.142")["city"]["names"] == {"en": "London", "de": "London (de)",
                                                             "fr": "London (fr)"}  # fmt: skip
        # The narrower network inside the broader one wins, with its own prefix length.
        record, prefix = reader.get_with_prefix_len("81.2.69.170")
        assert record["city"]["names"]["en"] == "Kings Lynn" and prefix == 27
        assert reader.get("2a02:d8::1")["subdivisions"][0]["names"]["en"] == "Punjab"
        assert reader.get("175.16.199.7")["country"]["iso_code"] == "CN"
        assert reader.get("8.8.8.8") is None and reader.get("2001:4860::8888") is None
        assert {str(n) for n, _ in reader} >= {"81.2.69.0/25", "81.2.69.160/27", "2a02:d8::/32"}


@MODES
def test_ipv4_only_database(tmp_path: Path, mode: int) -> None:
    v4 = {k: v for k, v in NETWORKS.items() if ":" not in k}
    path = write_mmdb(tmp_path / "country.mmdb", v4, ip_version=4, record_size=24, database_type="GeoLite2-Country")
    with maxminddb.open_database(str(path), mode) as reader:
        assert reader.metadata().ip_version == 4
        assert reader.get("81.2.69.1")["country"]["names"]["en"] == "United Kingdom"
        with pytest.raises(ValueError):
            reader.get("2a02:d8::1")
    with pytest.raises(ValueError, match="IPv4 database cannot hold"):
        build_mmdb({"2a02:d8::/32": {}}, ip_version=4)


def test_records_too_large_for_the_record_size_are_refused() -> None:
    # The /24's 18 MB record is written first, so the /25's starts past what 24 bits can point to.
    networks = {"11.0.0.0/24": ["y" * 9_000_000, "z" * 9_000_000], "11.0.1.0/25": "after it"}
    with pytest.raises(ValueError, match="does not fit in 24 bits"):
        build_mmdb(networks, record_size=24)
    assert len(build_mmdb(networks, record_size=28)) > 17_000_000


def _in_tree(value: Any) -> Any:
    """An address or network where an IPv6 tree keeps it: IPv4 under ``::/96``, as readers look it up."""
    if isinstance(value, ipaddress.IPv4Address):
        return ipaddress.IPv6Address(int(value))
    if isinstance(value, ipaddress.IPv4Network):
        return ipaddress.IPv6Network((int(value.network_address), value.prefixlen + 96))
    return value


def _reference(networks: list[tuple[Any, Any]], ip: Any) -> Any:
    """Longest-prefix match in the tree's address space: the answer a lookup must give."""
    best = None
    for network, value in networks:
        if _in_tree(ip) in network and (best is None or network.prefixlen > best[0]):
            best = (network.prefixlen, value)
    return None if best is None else best[1]


VALUES = st.recursive(
    st.one_of(st.text(max_size=40), st.integers(0, 2**64), st.integers(-(2**31), -1), st.booleans(),
              st.floats(allow_nan=False), st.binary(max_size=20)),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)  # fmt: skip
V4_NETS = st.builds(lambda a, p: ipaddress.ip_network((a, p), strict=False), st.integers(0, 2**32 - 1),
                    st.integers(1, 32))  # fmt: skip
V6_NETS = st.builds(lambda a, p: ipaddress.ip_network((a, p), strict=False), st.integers(0, 2**128 - 1),
                    st.integers(1, 128))  # fmt: skip


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    entries=st.dictionaries(st.one_of(V4_NETS, V6_NETS), VALUES, min_size=1, max_size=12),
    probes=st.lists(st.one_of(st.integers(0, 2**32 - 1).map(ipaddress.IPv4Address),
                              st.integers(0, 2**128 - 1).map(ipaddress.IPv6Address)), max_size=20),
    record_size=st.sampled_from([24, 28, 32]),
)  # fmt: skip
def test_fuzz_lookups_match_longest_prefix(
    tmp_path: Path, entries: dict[Any, Any], probes: list[Any], record_size: int
) -> None:
    # 10.0.0.0/8 and ::a00:0/104 are one place in the tree: keep one of them.
    by_place = {_in_tree(network): (network, value) for network, value in entries.items()}
    written = list(by_place.values())
    networks = [(place, value) for place, (_, value) in by_place.items()]
    probes = probes + [n.network_address for n, _ in written] + [n.broadcast_address for n, _ in written]
    path = write_mmdb(tmp_path / "fuzz.mmdb", [(str(n), v) for n, v in written], record_size=record_size)
    for mode in (maxminddb.MODE_MMAP_EXT, maxminddb.MODE_MMAP):
        with maxminddb.open_database(str(path), mode) as reader:
            for ip in probes:
                got = reader.get(ip)
                want = _reference(networks, ip)
                assert _normal(got) == _normal(want), (ip, mode)


def _normal(value: Any) -> Any:
    """Bytes come back as bytearray from the pure-Python reader; floats compared by their bits."""
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    if isinstance(value, float):
        return struct.pack(">d", value)
    if isinstance(value, dict):
        return {k: _normal(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_normal(v) for v in value]
    return value
