"""SfuRooms and SfuSocket without a process: a transport the UDP task reports closed (consent expiry) tells
the room its producers are gone; closed routers' last datagrams still reach the UDP task."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from altegon_rt.realtime.sfu import SfuRooms, SfuSocket
from altegon_rt.rtc.dtls import generate_certificate
from altegon_rt.sfu.transport import WebRtcTransport
from altegon_rt.sio.server import SocketError
from tests.sfu.test_router import CHROME_VP8


class FakeServer:
    def __init__(self) -> None:
        self.handlers: dict[str, Callable[..., Any]] = {}
        self.emitted: list[tuple[str, Any, str | None, str | None]] = []

    def on(self, event: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        def register(handler: Callable[..., Any]) -> Callable[..., Any]:
            self.handlers[event] = handler
            return handler

        return register

    def emit(self, event: str, data: Any, to: str | None = None, skip_sid: str | None = None) -> int:
        self.emitted.append((event, data, to, skip_sid))
        return 1


class FakeSocket:
    def __init__(self, sid: str) -> None:
        self.sid = sid
        self.rooms: set[str] = set()

    def join(self, room: str) -> None:
        self.rooms.add(room)

    def leave(self, room: str) -> None:
        self.rooms.discard(room)


def make() -> tuple[FakeServer, SfuRooms, SfuSocket, list[WebRtcTransport]]:
    server, rooms, registered = FakeServer(), SfuRooms(), []
    sfu = SfuSocket(server, rooms, register=registered.append, address=lambda: ("127.0.0.1", 40000),  # type: ignore[arg-type]
                    announced_ip="192.0.2.1", certificate=generate_certificate())  # fmt: skip
    return server, rooms, sfu, registered


async def test_a_transport_lost_under_us_closes_its_producers_for_the_others() -> None:
    server, rooms, sfu, registered = make()
    alice, bob = FakeSocket("a"), FakeSocket("b")
    room_id = (await sfu.create_room(alice))["room_id"]
    await sfu.join(alice, {"room_id": room_id, "name": "A"})  # type: ignore[arg-type]
    await sfu.join(bob, {"room_id": room_id, "name": "B"})  # type: ignore[arg-type]
    transport = await sfu.create_transport(alice)  # type: ignore[arg-type]
    assert [t.id for t in registered] == [transport["id"]]
    assert transport["iceCandidates"][0]["ip"] == "192.0.2.1" and transport["iceCandidates"][0]["port"] == 40000
    body = {"kind": "video", "rtpParameters": CHROME_VP8, "producerTransportId": transport["id"]}
    producer_id = (await sfu.produce(alice, body))["id"]  # type: ignore[arg-type]
    registered[0].close("consent expired")
    rooms.handle_transport_closed(registered[0], "consent expired")
    assert ("producerClosed", {"producerId": producer_id, "peerId": "a"}, f"sfu:{room_id}", "a") in server.emitted
    assert await sfu.get_producers(bob) == []  # type: ignore[arg-type]
    with pytest.raises(SocketError, match="not found"):
        await sfu.connect_transport(alice, {"transportId": transport["id"], "dtlsParameters": {}})  # type: ignore[arg-type]


async def test_the_last_one_out_closes_the_router_and_its_datagrams_are_still_sent() -> None:
    _, rooms, sfu, _ = make()
    alice = FakeSocket("a")
    room_id = (await sfu.create_room(alice))["room_id"]
    await sfu.join(alice, {"room_id": room_id})  # type: ignore[arg-type]
    router = rooms.rooms[room_id].router
    router._outbox.append((b"close_notify", ("192.0.2.9", 5000)))
    await sfu.exit_room(alice)  # type: ignore[arg-type]
    assert router.closed and rooms.rooms == {} and alice.rooms == set()
    assert rooms.take_outgoing() == [(b"close_notify", ("192.0.2.9", 5000))]
    assert rooms.take_outgoing() == []
    with pytest.raises(SocketError, match="does not exist"):
        await sfu.join(alice, {"room_id": room_id})  # type: ignore[arg-type]
