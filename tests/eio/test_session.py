"""The Engine.IO session state machine and the heartbeat schedule, with time passed in."""

from __future__ import annotations

import json

from altegon_rt.eio.errors import HandshakeError
from altegon_rt.eio.handshake import RequestInfo, verify_request
from altegon_rt.eio.heartbeat import HeartbeatSchedule
from altegon_rt.eio.packets import Packet, PacketType
from altegon_rt.eio.session import (
    Closed,
    EngineSession,
    Message,
    Pong,
    ProbeReply,
    SessionLimits,
    State,
    Transport,
    Upgraded,
)

LIMITS = SessionLimits(ping_interval_s=25, ping_timeout_s=20, max_payload=1000, max_buffered_bytes=100)


def polling_session() -> EngineSession:
    return EngineSession("sid1", Transport.POLLING, LIMITS, now=0.0)


def test_handshake_announces_the_limits() -> None:
    session = polling_session()
    open_packet = session.handshake(["websocket"])
    assert open_packet[0] == "0"
    assert json.loads(open_packet[1:]) == {"sid": "sid1", "upgrades": ["websocket"], "pingInterval": 25000,
                                           "pingTimeout": 20000, "maxPayload": 1000}  # fmt: skip


def test_upgrade_sequence() -> None:
    session = polling_session()
    assert session.receive(Packet(PacketType.PING, "probe"), 1.0, on_probe_socket=True) == ProbeReply()
    assert session.state is State.UPGRADING
    assert session.transport is Transport.POLLING
    assert session.receive(Packet(PacketType.UPGRADE), 1.1, on_probe_socket=True) == Upgraded()
    assert session.transport is Transport.WEBSOCKET


def test_upgrade_without_probe_closes() -> None:
    session = polling_session()
    assert isinstance(session.receive(Packet(PacketType.UPGRADE), 1.0, on_probe_socket=True), Closed)
    assert session.closed


def test_failed_probe_falls_back_to_polling() -> None:
    session = polling_session()
    session.receive(Packet(PacketType.PING, "probe"), 1.0, on_probe_socket=True)
    session.upgrade_failed()
    assert session.state is State.POLLING


def test_messages_and_pings() -> None:
    session = EngineSession("s", Transport.WEBSOCKET, LIMITS, now=0.0)
    assert session.receive(Packet(PacketType.MESSAGE, "hi"), 1.0) == Message("hi")
    assert session.receive(Packet(PacketType.PONG), 1.0) is None  # unsolicited pong: ignored
    assert session.ping(25.0)
    assert session.take() == ["2"]
    assert not session.check_pong(44.9)
    assert session.receive(Packet(PacketType.PONG), 30.0) == Pong()
    assert not session.check_pong(50.0)
    session.ping(55.0)
    assert session.check_pong(75.0)
    assert session.closed_reason == "ping timeout"


def test_client_ping_is_a_protocol_error_in_v4() -> None:
    session = EngineSession("s", Transport.WEBSOCKET, LIMITS, now=0.0)
    assert session.receive(Packet(PacketType.PING), 1.0) == Closed("unexpected ping packet from the client")


def test_slow_client_is_closed_not_buffered() -> None:
    session = EngineSession("s", Transport.WEBSOCKET, LIMITS, now=0.0)
    assert session.send("4" + "x" * 60)
    assert not session.send("4" + "y" * 60)
    assert session.closed_reason == "send buffer full: client too slow"
    assert not session.send("4z")


def test_one_item_larger_than_the_budget_goes_through_an_empty_buffer() -> None:
    session = EngineSession("s", Transport.WEBSOCKET, LIMITS, now=0.0)
    assert session.send(b"x" * 500)
    assert session.take() == [b"x" * 500]


def test_polling_payload_encodes_binary_as_base64() -> None:
    session = polling_session()
    session.send("4a")
    session.send(b"\x01\x02")
    assert session.take_payload() == "4a\x1ebAQI="
    assert session.take_payload() == ""


def test_server_close_queues_the_close_packet() -> None:
    session = polling_session()
    session.server_close()
    assert session.closed
    assert session.take_payload() == "1"


def test_heartbeat_schedule_is_fifo() -> None:
    schedule = HeartbeatSchedule(25, 20)
    schedule.ping_later("a", 0)
    schedule.ping_later("b", 1)
    assert schedule.next_due() == 25
    assert schedule.due_pings(25.5) == ["a"]
    schedule.pong_deadline("a", 25.5)
    assert schedule.next_due() == 26
    assert schedule.due_pings(30) == ["b"]
    assert schedule.due_pong_checks(45.4) == []
    assert schedule.due_pong_checks(45.5) == ["a"]
    assert schedule.next_due() is None


def _request(method: str = "GET", **query: str) -> RequestInfo:
    return RequestInfo(method=method, query=query, headers={}, client="127.0.0.1")


def test_request_checks_follow_the_reference_order() -> None:
    known = {"p": Transport.POLLING, "w": Transport.WEBSOCKET}

    def verify(request: RequestInfo, websocket: bool = False) -> HandshakeError | None:
        return verify_request(request, websocket=websocket, session_transport=known.get)

    assert verify(_request(EIO="4", transport="polling")) is None
    assert verify(_request(EIO="4", transport="flash")) is HandshakeError.UNKNOWN_TRANSPORT
    assert verify(_request(EIO="3", transport="polling")) is HandshakeError.UNSUPPORTED_PROTOCOL_VERSION
    assert verify(_request("POST", EIO="4", transport="polling")) is HandshakeError.BAD_HANDSHAKE_METHOD
    assert verify(_request(EIO="4", transport="polling", sid="x")) is HandshakeError.UNKNOWN_SID
    assert verify(_request(EIO="4", transport="polling", sid="w")) is HandshakeError.BAD_REQUEST
    assert verify(_request(EIO="4", transport="websocket")) is HandshakeError.BAD_REQUEST
    assert verify(_request(EIO="4", transport="websocket", sid="p"), websocket=True) is None
    assert HandshakeError.FORBIDDEN.status == 403 and HandshakeError.BAD_REQUEST.status == 400
