"""SfuRooms and SfuSocket without a process: a transport the UDP task reports closed (consent expiry) tells
the room its producers are gone; closed routers' last datagrams still reach the UDP task."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from altegon_rt.realtime.sfu import SfuSocket
from altegon_rt.realtime.sfu_rooms import SfuRooms
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
    def __init__(self, sid: str, principal: Any = None) -> None:
        self.sid = sid
        self.principal = principal
        self.rooms: set[str] = set()
        self.connected = True

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


def emitted(server: FakeServer, event: str) -> list[tuple[Any, str | None]]:
    return [(data, to) for name, data, to, _ in server.emitted if name == event]


async def produce(sfu: SfuSocket, sock: FakeSocket, app_data: dict[str, Any] | None = None) -> str:
    transport = await sfu.create_transport(sock)  # type: ignore[arg-type]
    body = {"kind": "video", "rtpParameters": CHROME_VP8, "producerTransportId": transport["id"],
            "appData": app_data or {"type": "camera"}}  # fmt: skip
    return (await sfu.produce(sock, body))["id"]  # type: ignore[arg-type]


async def webinar() -> tuple[FakeServer, SfuSocket, str, FakeSocket, FakeSocket]:
    server, _, sfu, _ = make()
    host, viewer = FakeSocket("h"), FakeSocket("v")
    created = await sfu.create_room(host, {"mode": "webinar"})  # type: ignore[arg-type]
    assert created["mode"] == "webinar" and len(created["hostKey"]) >= 20
    joined = await sfu.join(host, {"room_id": created["room_id"], "name": "Host"})  # type: ignore[arg-type]
    assert joined["room"]["peers"] == [{"id": "h", "name": "Host", "role": "host"}]
    await sfu.join(viewer, {"room_id": created["room_id"], "name": "Vi"})  # type: ignore[arg-type]
    return server, sfu, created["room_id"], host, viewer


async def test_a_webinar_viewer_publishes_only_once_the_host_approves() -> None:
    server, sfu, room_id, host, viewer = await webinar()
    assert (await sfu.room_info(viewer))["role"] == "viewer"  # type: ignore[arg-type]
    with pytest.raises(SocketError, match="viewers") as refused:
        await produce(sfu, viewer)
    assert refused.value.code == "forbidden"
    with pytest.raises(SocketError, match="only the host") as not_host:
        await sfu.cohost_respond(viewer, {"peerId": "v", "accepted": True})  # type: ignore[arg-type]
    assert not_host.value.code == "forbidden"
    await sfu.cohost_request(viewer)  # type: ignore[arg-type]
    assert emitted(server, "cohost:request") == [({"peerId": "v", "name": "Vi"}, "h")]
    await sfu.cohost_respond(host, {"peerId": "v", "accepted": True})  # type: ignore[arg-type]
    assert emitted(server, "cohost:respond") == [({"accepted": True, "hostId": "h", "role": "cohost"}, "v")]
    assert emitted(server, "peerRoleChanged") == [({"peerId": "v", "role": "cohost"}, f"sfu:{room_id}")]
    producer_id = await produce(sfu, viewer)
    # Demoted again: its producers close for everybody.
    await sfu.cohost_respond(host, {"peerId": "v", "accepted": False})  # type: ignore[arg-type]
    assert (await sfu.room_info(viewer))["role"] == "viewer"  # type: ignore[arg-type]
    assert ({"producerId": producer_id, "peerId": "v"}, f"sfu:{room_id}") in emitted(server, "producerClosed")
    assert await sfu.get_producers(host) == []  # type: ignore[arg-type]


async def test_cohost_requests_need_a_webinar_a_viewer_and_a_host_present() -> None:
    _, sfu, _, host, viewer = await webinar()
    with pytest.raises(SocketError, match="host already"):
        await sfu.cohost_request(host)  # type: ignore[arg-type]
    with pytest.raises(SocketError, match="true or false"):
        await sfu.cohost_respond(host, {"peerId": "v", "accepted": "yes"})  # type: ignore[arg-type]
    with pytest.raises(SocketError, match="not a viewer"):
        await sfu.cohost_respond(host, {"peerId": "h", "accepted": True})  # type: ignore[arg-type]
    await sfu.exit_room(host)  # type: ignore[arg-type]
    with pytest.raises(SocketError, match="no host") as no_host:
        await sfu.cohost_request(viewer)  # type: ignore[arg-type]
    assert no_host.value.code == "no_host"
    _, _, meeting_sfu, _ = make()
    alice = FakeSocket("a")
    room_id = (await meeting_sfu.create_room(alice))["room_id"]
    await meeting_sfu.join(alice, {"room_id": room_id})  # type: ignore[arg-type]
    with pytest.raises(SocketError, match="meeting"):
        await meeting_sfu.cohost_request(alice)  # type: ignore[arg-type]
    with pytest.raises(SocketError, match="'mode'"):
        await meeting_sfu.create_room(alice, {"mode": "party"})  # type: ignore[arg-type]


async def test_the_host_key_and_the_same_signed_in_user_make_the_host_on_another_connection() -> None:
    _, _, sfu, _ = make()

    class User:
        user_id, is_admin = "u1", False

    creator = FakeSocket("c", User())
    created = await sfu.create_room(creator, {"mode": "webinar"})  # type: ignore[arg-type]
    room_id = created["room_id"]
    same_user, with_key, stranger = FakeSocket("s", User()), FakeSocket("k"), FakeSocket("x")
    await sfu.join(same_user, {"room_id": room_id})  # type: ignore[arg-type]
    await sfu.join(with_key, {"room_id": room_id, "hostKey": created["hostKey"]})  # type: ignore[arg-type]
    await sfu.join(stranger, {"room_id": room_id, "hostKey": "guess"})  # type: ignore[arg-type]
    roles = {p["id"]: p["role"] for p in (await sfu.room_info(stranger))["peers"]}  # type: ignore[arg-type]
    assert roles == {"s": "host", "k": "host", "x": "viewer"}


async def test_one_screen_share_per_room() -> None:
    _, _, sfu, _ = make()
    alice, bob = FakeSocket("a"), FakeSocket("b")
    room_id = (await sfu.create_room(alice))["room_id"]
    for sock in (alice, bob):
        await sfu.join(sock, {"room_id": room_id})  # type: ignore[arg-type]
    screen = await produce(sfu, alice, {"type": "screen"})
    await produce(sfu, bob, {"type": "camera"})  # cameras are not limited
    with pytest.raises(SocketError, match="sharing a screen") as busy:
        await produce(sfu, bob, {"type": "screen"})
    assert busy.value.code == "screen_busy"
    await sfu.close_producer(alice, {"producerId": screen})  # type: ignore[arg-type]
    await produce(sfu, bob, {"type": "screen"})


async def test_pausing_a_producer_tells_the_others_and_pauses_their_consumers() -> None:
    server, rooms, sfu, _ = make()
    alice, bob = FakeSocket("a"), FakeSocket("b")
    room_id = (await sfu.create_room(alice))["room_id"]
    for sock in (alice, bob):
        await sfu.join(sock, {"room_id": room_id})  # type: ignore[arg-type]
    producer_id = await produce(sfu, alice)
    with pytest.raises(SocketError, match="not one of yours"):
        await sfu.pause_producer(bob, {"producerId": producer_id})  # type: ignore[arg-type]
    await sfu.pause_producer(alice, {"producerId": producer_id})  # type: ignore[arg-type]
    await sfu.pause_producer(alice, {"producerId": producer_id})  # type: ignore[arg-type]  (told once)
    assert emitted(server, "producerPaused") == [({"producerId": producer_id, "peerId": "a"}, f"sfu:{room_id}")]
    assert (await sfu.get_producers(bob))[0]["paused"] is True  # type: ignore[arg-type]
    transport = await sfu.create_transport(bob)  # type: ignore[arg-type]
    body = {"consumerTransportId": transport["id"], "producerId": producer_id,
            "rtpCapabilities": rooms.rooms[room_id].router.rtp_capabilities}  # fmt: skip
    consumed = await sfu.consume(bob, body)  # type: ignore[arg-type]
    assert consumed["producerPaused"] is True
    await sfu.resume_producer(alice, {"producerId": producer_id})  # type: ignore[arg-type]
    assert emitted(server, "producerResumed") == [({"producerId": producer_id, "peerId": "a"}, f"sfu:{room_id}")]
    consumer = rooms.rooms[room_id].router.producers[producer_id].consumers[consumed["id"]]
    assert consumer.producer_paused is False and consumer.paused is True
    await sfu.resume(bob, {"consumerId": consumed["id"]})  # type: ignore[arg-type]
    assert consumer.paused is False
    await sfu.pause_consumer(bob, {"consumerId": consumed["id"]})  # type: ignore[arg-type]
    assert consumer.paused is True
    with pytest.raises(SocketError, match="not found"):
        await sfu.pause_consumer(alice, {"consumerId": consumed["id"]})  # type: ignore[arg-type]
