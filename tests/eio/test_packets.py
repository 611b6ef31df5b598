"""Engine.IO packets and polling payloads: round trips, exact errors, and garbage that must only ever raise ours."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from altegon_rt.eio.errors import RemoteProtocolError
from altegon_rt.eio.packets import (
    MAX_PACKETS_PER_PAYLOAD,
    Packet,
    PacketType,
    decode_payload,
    decode_polling_packet,
    decode_ws,
    encode_payload,
    encode_polling,
    encode_ws,
)

SAMPLES = [
    Packet(PacketType.OPEN, '{"sid":"abc"}'),
    Packet(PacketType.CLOSE),
    Packet(PacketType.PING, "probe"),
    Packet(PacketType.PONG),
    Packet(PacketType.MESSAGE, "hello é 💡"),
    Packet(PacketType.MESSAGE, b"\x00\x01\xff"),
    Packet(PacketType.UPGRADE),
    Packet(PacketType.NOOP),
]


@pytest.mark.parametrize("packet", SAMPLES)
def test_round_trips_over_both_transports(packet: Packet) -> None:
    assert decode_ws(encode_ws(packet)) == packet
    assert decode_polling_packet(encode_polling(packet)) == packet


def test_payload_matches_the_protocol_document_example() -> None:
    body = "4hello\x1ebAQIDBA==\x1e2"
    packets = decode_payload(body)
    assert packets == [Packet(PacketType.MESSAGE, "hello"), Packet(PacketType.MESSAGE, b"\x01\x02\x03\x04"),
                       Packet(PacketType.PING)]  # fmt: skip
    assert encode_payload([encode_polling(p) for p in packets]) == body


def test_binary_over_websocket_is_a_bare_frame() -> None:
    assert encode_ws(Packet(PacketType.MESSAGE, b"\x01")) == b"\x01"
    assert encode_ws(Packet(PacketType.MESSAGE, "x")) == "4x"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("", "empty payload"),
        ("4a\x1e", "empty packet"),
        ("9x", "unknown packet type"),
        ("b!!!", "invalid base64 in binary packet"),
    ],
)
def test_exact_errors(body: str, message: str) -> None:
    with pytest.raises(RemoteProtocolError, match=f"^{message}$"):
        decode_payload(body)


def test_packet_count_is_capped() -> None:
    decode_payload("\x1e".join(["6"] * MAX_PACKETS_PER_PAYLOAD))
    with pytest.raises(RemoteProtocolError, match="more than"):
        decode_payload("\x1e".join(["6"] * (MAX_PACKETS_PER_PAYLOAD + 1)))


def test_binary_control_packets_cannot_be_encoded() -> None:
    with pytest.raises(ValueError, match="only message packets"):
        encode_ws(Packet(PacketType.PING, b"x"))


@given(st.text(max_size=400))
def test_garbage_payloads_raise_only_protocol_errors(body: str) -> None:
    try:
        packets = decode_payload(body)
    except RemoteProtocolError:
        return
    assert 1 <= len(packets) <= MAX_PACKETS_PER_PAYLOAD


@given(st.one_of(st.text(max_size=200), st.binary(max_size=200)))
def test_garbage_frames_raise_only_protocol_errors(frame: str | bytes) -> None:
    try:
        packet = decode_ws(frame)
    except RemoteProtocolError:
        return
    assert decode_ws(encode_ws(packet)) == packet


@given(st.lists(st.sampled_from(SAMPLES), min_size=1, max_size=20), st.data())
def test_mutated_valid_payloads_raise_only_protocol_errors(packets: list[Packet], data: st.DataObject) -> None:
    body = encode_payload([encode_polling(p) for p in packets])
    assert decode_payload(body) == packets
    position = data.draw(st.integers(0, len(body)))
    mutated = body[:position] + data.draw(st.text(max_size=3)) + body[position + 1 :]
    with contextlib.suppress(RemoteProtocolError):
        decode_payload(mutated)
