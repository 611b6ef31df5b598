"""The JSON body reader and the schemas, bytes in / values out."""

from __future__ import annotations

import contextlib
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from altegon_rt.api.body import parse_json_body
from altegon_rt.api.schema import Field, Schema
from altegon_rt.errors import BadRequest


def test_strict_json_and_documented_typos() -> None:
    assert parse_json_body(b'{"a": 1}') == {"a": 1}
    assert parse_json_body(b'{"a": [1, 2,], "b": {"c": 3,},\n}') == {"a": [1, 2], "b": {"c": 3}}
    assert parse_json_body(b'{" endTime": 1756364334634 }') == {"endTime": 1756364334634}
    # A comma inside a string is text, not a trailing comma.
    assert parse_json_body(b'{"a": "x,}", "b": "\\",]",}') == {"a": "x,}", "b": '",]'}


@pytest.mark.parametrize("raw", [b"", b"  ", b"{", b"{,}", b"[,]", b'{"a":1,,}', b"NaN", b"\xff", b"{'a': 1}"])
def test_malformed_is_bad_request(raw: bytes) -> None:
    with pytest.raises(BadRequest):
        parse_json_body(raw)


def test_deep_nesting_is_bad_request_not_recursion_error() -> None:
    with pytest.raises(BadRequest, match="nested too deeply"):
        parse_json_body(b"[" * 50 + b"]" * 50)
    with pytest.raises(BadRequest):
        parse_json_body(b"[" * 100_000 + b"]" * 100_000)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6).map(str.strip), inner, max_size=4),
    max_leaves=15,
)


@given(json_values)
def test_valid_json_roundtrips(value: object) -> None:
    try:
        assert parse_json_body(json.dumps(value).encode()) == value
    except BadRequest as exc:
        assert "nested too deeply" in exc.message


@given(st.binary(max_size=200))
def test_garbage_bytes_only_raise_bad_request(raw: bytes) -> None:
    with contextlib.suppress(BadRequest):
        parse_json_body(raw)


@given(json_values, st.integers(min_value=0, max_value=40), st.sampled_from([b",", b"}", b"]", b'"', b"\\", b"\x00"]))
def test_mutated_json_only_raises_bad_request(value: object, cut: int, junk: bytes) -> None:
    raw = json.dumps(value).encode()
    mutated = raw[:cut] + junk + raw[cut:]
    with contextlib.suppress(BadRequest):
        parse_json_body(mutated)


SCHEMA = Schema(
    "T",
    (
        Field("email", "email"),
        Field("n", "integer", required=False, minimum=1, maximum=10),
        Field("flag", "boolean", required=False),
        Field("oid", "objectid", required=False),
        Field("rid", "id", required=False, max_length=20),
        Field("user", "string", aliases=("userName",), max_length=5),
    ),
)


def test_schema_cleans_and_checks() -> None:
    out = SCHEMA.validate({"email": " A@B.Co ", "n": 3.0, "flag": False, "oid": "0123456789ABCDEF01234567",
                           "rid": 755961800257348400, "userName": "bob", "extra": "ignored"})  # fmt: skip
    assert out == {"email": "a@b.co", "n": 3, "flag": False, "oid": "0123456789abcdef01234567",
                   "rid": "755961800257348400", "user": "bob"}  # fmt: skip


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"user": "x"}, "field 'email' is required"),
        ({"email": "a@b.co"}, "field 'user' is required"),
        ({"email": "a@b", "user": "x"}, "field 'email' is not a valid e-mail address"),
        ({"email": "a@b.co", "user": "toolong"}, "field 'user' is longer than 5 characters"),
        ({"email": "a@b.co", "user": "  "}, "field 'user' must not be empty"),
        ({"email": "a@b.co", "user": "a\x01"}, "field 'user' contains control characters"),
        ({"email": "a@b.co", "user": "x", "n": True}, "field 'n' must be a number"),
        ({"email": "a@b.co", "user": "x", "n": 1.5}, "field 'n' must be an integer"),
        ({"email": "a@b.co", "user": "x", "n": 11}, "field 'n' must be between 1 and 10"),
        ({"email": "a@b.co", "user": "x", "flag": "true"}, "field 'flag' must be a boolean"),
        ({"email": "a@b.co", "user": "x", "oid": "xyz"}, "field 'oid' must be a 24-character hex id"),
        ({"email": ["a@b.co"], "user": "x"}, "field 'email' must be a string"),
        ([1], "request body must be a JSON object"),
    ],
)
def test_schema_errors_name_the_field(body: object, message: str) -> None:
    with pytest.raises(BadRequest) as info:
        SCHEMA.validate(body)
    assert info.value.message == message


def test_json_schema_is_derived_from_fields() -> None:
    js = SCHEMA.json_schema()
    assert js["required"] == ["email", "user"]
    assert js["properties"]["oid"]["pattern"] == "^[0-9a-fA-F]{24}$"
    assert js["properties"]["n"] == {"type": "integer", "minimum": 1, "maximum": 10}
