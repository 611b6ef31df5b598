"""Socket.IO packets: the protocol document's examples, binary reassembly, exact errors, and fuzzing."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from altegon_rt.eio.errors import RemoteProtocolError
from altegon_rt.sio.packets import MAX_ATTACHMENTS, Decoder, Packet, PacketType, encode

# (packet, encoded messages) pairs from the Socket.IO v5 protocol document.
EXAMPLES: list[tuple[Packet, list[str | bytes]]] = [
    (Packet(PacketType.CONNECT, "/", None), ["0"]),
    (Packet(PacketType.CONNECT, "/admin", {"token": "123"}), ['0/admin,{"token":"123"}']),
    (Packet(PacketType.CONNECT, "/", {"sid": "oSO0OpakmFNCc"}), ['0{"sid":"oSO0OpakmFNCc"}']),
    (Packet(PacketType.DISCONNECT, "/admin"), ["1/admin,"]),
    (Packet(PacketType.EVENT, "/", ["foo"]), ['2["foo"]']),
    (Packet(PacketType.EVENT, "/admin", ["bar"], 12), ['2/admin,12["bar"]']),
    (Packet(PacketType.ACK, "/admin", ["bar"], 13), ['3/admin,13["bar"]']),
    (Packet(PacketType.CONNECT_ERROR, "/", {"message": "Not authorized"}), ['4{"message":"Not authorized"}']),
    (Packet(PacketType.EVENT, "/", ["baz", b"\x01\x02\x03\x04"]),
     ['51-["baz",{"_placeholder":true,"num":0}]', b"\x01\x02\x03\x04"]),
    (Packet(PacketType.ACK, "/admin", [b"\x03"], 15), ['61-/admin,15[{"_placeholder":true,"num":0}]', b"\x03"]),
]  # fmt: skip


def feed_all(messages: list[str | bytes]) -> list[Packet]:
    decoder = Decoder()
    return [p for p in (decoder.feed(m) for m in messages) if p is not None]


@pytest.mark.parametrize(("packet", "wire"), EXAMPLES)
def test_protocol_document_examples(packet: Packet, wire: list[str | bytes]) -> None:
    assert encode(packet) == wire
    assert feed_all(wire) == [packet]


def test_unicode_is_sent_as_is() -> None:
    assert encode(Packet(PacketType.EVENT, "/", ["é", "💡"])) == ['2["é","💡"]']


def test_nested_binary_and_several_attachments() -> None:
    data: list[Any] = ["up", {"a": [b"1", {"b": b"22"}], "c": 3}, b"333"]
    wire = encode(Packet(PacketType.EVENT, "/", data, 7))
    holder = '{{"_placeholder":true,"num":{}}}'.format
    assert wire[0] == f'53-7["up",{{"a":[{holder(0)},{{"b":{holder(1)}}}],"c":3}},{holder(2)}]'
    assert wire[1:] == [b"1", b"22", b"333"]
    assert feed_all(wire) == [Packet(PacketType.EVENT, "/", data, 7)]


def test_decoder_is_resumable_across_packets() -> None:
    messages = encode(Packet(PacketType.EVENT, "/", ["a", b"x"])) + encode(Packet(PacketType.EVENT, "/", ["b"]))
    assert [p.data[0] for p in feed_all(messages)] == ["a", "b"]


@pytest.mark.parametrize(
    ("messages", "message"),
    [
        (["9"], "unknown packet type"),
        ([""], "unknown packet type"),
        (['2{"a":1}'], "invalid payload for EVENT"),
        (["2[]"], "invalid payload for EVENT"),
        (['2["connect"]'], "invalid payload for EVENT"),
        (['2["disconnecting"]'], "invalid payload for EVENT"),
        (["3[1]"], "invalid payload for ACK"),
        (['1"x"'], "invalid payload for DISCONNECT"),
        (["0[1]"], "invalid payload for CONNECT"),
        (["2[1,"], "invalid JSON in packet"),
        (['5x-["a"]'], "invalid attachment count"),
        (['50-["a"]'], f"attachment count must be 1 to {MAX_ATTACHMENTS}"),
        ([f'5{MAX_ATTACHMENTS + 1}-["a"]'], f"attachment count must be 1 to {MAX_ATTACHMENTS}"),
        (["2" + "9" * 40 + '["a"]'], "ack id too large"),
        (['29999999999999999["a"]'], "ack id too large"),
        ([b"\x01"], "binary message without a binary packet"),
        (['51-["a",{"_placeholder":true,"num":0}]', '2["b"]'], "text packet while binary attachments were expected"),
        (['51-["a",{"_placeholder":true,"num":3}]', b"x"], "placeholder refers to a missing attachment"),
        (["2/" + "n" * 300 + ',["a"]'], "namespace too long"),
        (["2" + "[" * 100_000], "invalid JSON in packet"),
    ],
)
def test_exact_errors(messages: list[str | bytes], message: str) -> None:
    with pytest.raises(RemoteProtocolError, match=f"^{message}$"):
        feed_all(messages)


def _decode_only_ours(messages: list[str | bytes]) -> None:
    with contextlib.suppress(RemoteProtocolError):
        feed_all(messages)


@given(st.lists(st.one_of(st.text(max_size=200), st.binary(max_size=50)), min_size=1, max_size=5))
def test_garbage_raises_only_protocol_errors(messages: list[str | bytes]) -> None:
    _decode_only_ours(messages)


@given(st.sampled_from(EXAMPLES), st.data())
def test_mutated_examples_raise_only_protocol_errors(
    example: tuple[Packet, list[str | bytes]], data: st.DataObject
) -> None:
    wire = list(example[1])
    index = data.draw(st.integers(0, len(wire) - 1))
    item = wire[index]
    position = data.draw(st.integers(0, len(item)))
    if isinstance(item, str):
        wire[index] = item[:position] + data.draw(st.text(max_size=4)) + item[position + 1 :]
    else:
        wire[index] = item[:position] + data.draw(st.binary(max_size=4)) + item[position + 1 :]
    _decode_only_ours(wire)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=20) | st.binary(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


@given(st.text(min_size=1, max_size=10).filter(lambda s: s not in {"connect", "disconnect"}),
       st.lists(json_values, max_size=4), st.one_of(st.none(), st.integers(0, 2**53 - 1)),
       st.sampled_from(["/", "/admin", "/a,b"]))  # fmt: skip
def test_any_event_round_trips(name: str, args: list[Any], ack_id: int | None, namespace: str) -> None:
    if namespace == "/a,b":
        return  # a comma cannot be part of a namespace on the wire
    packet = Packet(PacketType.EVENT, namespace, [name, *args], ack_id)
    if name in {"connect_error", "disconnecting", "newListener", "removeListener"}:
        return
    assert feed_all(encode(packet)) == [packet]
