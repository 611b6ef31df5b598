"""AMF0: exact bytes of what encoders send, every type both ways, errors, and a hypothesis fuzz."""

from __future__ import annotations

import math
import struct
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from altegon_rt.rtmp import amf0
from altegon_rt.rtmp.errors import LocalProtocolError, RemoteProtocolError

# FFmpeg's connect command, as its rtmpproto.c writes it (trimmed to a few properties).
CONNECT = (
    b"\x02\x00\x07connect" + b"\x00" + struct.pack(">d", 1.0)
    + b"\x03" + b"\x00\x03app\x02\x00\x04live" + b"\x00\x04type\x02\x00\x0anonprivate"
    + b"\x00\x04fpad\x01\x00" + b"\x00\x00\x09"
)  # fmt: skip
ALL_TYPES = (
    b"\x00" + struct.pack(">d", -2.5) + b"\x01\x01" + b"\x02\x00\x02hi" + b"\x05" + b"\x06"
    + b"\x08\x00\x00\x00\x01" + b"\x00\x01k\x00" + struct.pack(">d", 7.0) + b"\x00\x00\x09"
    + b"\x0a\x00\x00\x00\x02\x05\x01\x00" + b"\x0b" + struct.pack(">dh", 1.5e12, 0)
    + b"\x0c\x00\x00\x00\x03abc" + b"\x03\x00\x01o\x03\x00\x00\x09\x00\x00\x09"
)  # fmt: skip


def test_connect_command_bytes_both_ways() -> None:
    values = amf0.decode(CONNECT)
    assert values == ["connect", 1.0, {"app": "live", "type": "nonprivate", "fpad": False}]
    assert amf0.encode(*values) == CONNECT


def test_every_type_round_trips() -> None:
    values = amf0.decode(ALL_TYPES)
    assert values == [-2.5, True, "hi", None, amf0.UNDEFINED, {"k": 7.0}, [None, False], amf0.Date(1.5e12),
                      "abc", {"o": {}}]  # fmt: skip
    assert isinstance(values[5], amf0.EcmaArray) and isinstance(values[8], amf0.LongString)
    assert amf0.encode(*values) == ALL_TYPES


def test_long_strings_and_ints() -> None:
    long = "x" * 70_000
    assert amf0.encode(long)[:5] == b"\x0c" + struct.pack(">I", 70_000)
    assert amf0.decode(amf0.encode(long)) == [long]
    assert amf0.encode(3) == b"\x00" + struct.pack(">d", 3.0)


def test_an_ecma_array_count_is_only_a_hint() -> None:
    wrong_count = b"\x08\x00\x00\x00\x09" + b"\x00\x01a\x05" + b"\x00\x00\x09"
    assert amf0.decode(wrong_count) == [{"a": None}]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\x00\x00\x00", "AMF0 value runs past the end of the message"),
        (b"\x02\x00\x05ab", "AMF0 value runs past the end of the message"),
        (b"\x07\x00\x01", "AMF0 type marker 0x07 is not supported"),
        (b"\x11\x00", "AMF0 type marker 0x11 is not supported"),
        (b"\x02\x00\x02\xff\xfe", "AMF0 string is not UTF-8"),
        (b"\x03\x00\x01a" * 20, "AMF0 values nested deeper than 16"),
        (b"\x0a\xff\xff\xff\xff", "AMF0 strict array of 4294967295 elements (at most 4096)"),
        (b"\x03\x00\x01a\x05", "AMF0 value runs past the end of the message"),
    ],
)
def test_malformed_values_are_remote_errors(data: bytes, message: str) -> None:
    with pytest.raises(RemoteProtocolError) as caught:
        amf0.decode(data)
    assert str(caught.value) == message


def test_unencodable_values_are_local_errors() -> None:
    with pytest.raises(LocalProtocolError, match="no AMF0 type for set"):
        amf0.encode({1, 2})


values = st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=False) | st.text(max_size=20) | st.just(amf0.UNDEFINED),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(min_size=1, max_size=8), inner, max_size=4)
    | st.dictionaries(st.text(min_size=1, max_size=8), inner, max_size=4).map(amf0.EcmaArray),
    max_leaves=20,
)  # fmt: skip


@given(st.lists(values, max_size=4))
def test_values_round_trip(items: list[Any]) -> None:
    assert amf0.decode(amf0.encode(*items)) == items


@given(st.binary(max_size=200))
def test_garbage_is_a_remote_error_or_values(data: bytes) -> None:
    try:
        decoded = amf0.decode(data)
    except RemoteProtocolError:
        return
    if not any(isinstance(v, float) and math.isnan(v) for v in decoded):
        assert isinstance(amf0.encode(*decoded), bytes)
