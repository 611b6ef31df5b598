"""The SFU socket (``/sfu/socket.io/``): mediasoup-style signalling over our own Router (``altegon_rt.sfu``).

Events (Live Streaming document, "SFU (mediasoap) socket"; exact shapes in ``docs/sfu-protocol.md``):

- ``createRoom`` → ``{room_id}``; ``join`` {room_id, name} → ``{room, chatHistory}``; ``getMyRoomInfo``;
  ``exitRoom`` (and a disconnect) leave the room, and the last one out closes its Router.
- ``getRouterRtpCapabilities``, ``createWebRtcTransport``, ``connectTransport``, ``produce`` (the others get
  ``newProducer``), ``consume`` (the consumer starts paused), ``resume``, ``getProducers``, ``producerClosed``.
- ``sendMessage`` {message} → ``newMessage`` to the room, kept in a bounded chat history per room.
- ``videoPaused``, ``videoResumed``, ``screen:shared``, ``screen:stopped``: relayed to the others in the room.

Success acks are mediasoup's plain objects (what mediasoup-client's callbacks expect); a failure acks
``{success: false, error: {code, message}}`` like every other socket of ours, so ``if (res.error)`` works.

One Router per room, all sharing one :class:`UdpServer`; :class:`SfuRooms` is the registry the UDP task
drains (``after_datagram=rooms.take_outgoing``, ``on_closed=rooms.handle_transport_closed``). Another
subsystem may shape joins, produce, consume and chat through :attr:`SfuSocket.policy`
(:mod:`altegon_rt.realtime.sfu_policy`).
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

from altegon_rt.realtime.payloads import payload_object, required_text, text
from altegon_rt.realtime.sfu_policy import SfuPolicy
from altegon_rt.realtime.sfu_rooms import Role, RoomMode, SfuPeer, SfuRoom, SfuRooms, is_screen
from altegon_rt.rtc import ortc
from altegon_rt.rtc.dtls import Certificate
from altegon_rt.sfu.consumer import Consumer
from altegon_rt.sfu.errors import InvalidStateError, UnsupportedError
from altegon_rt.sfu.producer import Producer
from altegon_rt.sfu.router import Transport
from altegon_rt.sfu.transport import Address, WebRtcTransport
from altegon_rt.sio.server import SocketError, SocketServer
from altegon_rt.sio.socket import Socket

log = logging.getLogger(__name__)

MAX_PEERS_PER_ROOM = 200
MAX_TRANSPORTS_PER_PEER = 4
MAX_PRODUCERS_PER_PEER = 8
MAX_CONSUMERS_PER_PEER = 400
MAX_ID = 128
MAX_NAME = 200
MAX_MESSAGE = 5_000
RELAYED = ("videoPaused", "videoResumed", "screen:shared", "screen:stopped")


def _producer_info(peer: SfuPeer, producer: Producer) -> dict[str, Any]:
    return {"producerId": producer.id, "peerId": peer.id, "kind": producer.kind, "appData": producer.app_data,
            "paused": producer.paused}  # fmt: skip


@contextlib.contextmanager
def _sfu_errors() -> Iterator[None]:
    """The SFU's exceptions as socket errors (the message says what was wrong)."""
    try:
        yield
    except (ortc.InvalidRtpParameters, ValueError) as exc:
        raise SocketError("invalid_parameters", str(exc)) from None
    except (UnsupportedError, ortc.UnsupportedError) as exc:
        raise SocketError("unsupported", str(exc)) from None
    except InvalidStateError as exc:
        raise SocketError("invalid_state", str(exc)) from None


def _optional_object(body: dict[str, Any], name: str) -> dict[str, Any]:
    value = body.get(name)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise SocketError("invalid_field", f"field {name!r} must be an object")
    return value


def _required_object(body: dict[str, Any], name: str) -> dict[str, Any]:
    if name not in body:
        raise SocketError("invalid_field", f"field {name!r} is required")
    return _optional_object(body, name)


class SfuSocket:
    """The handlers of the SFU socket; see the module docstring.

    Args:
        server: the ``/sfu/socket.io/`` server.
        rooms: the registry the UDP server drains.
        address: returns the UDP server's bound address (``None`` until it runs).
        announced_ip: the address put in ICE candidates.
        certificate: the DTLS certificate of every transport.
    """

    def __init__(
        self,
        server: SocketServer,
        rooms: SfuRooms,
        *,
        register: Callable[[WebRtcTransport], None],
        address: Callable[[], Address | None],
        announced_ip: str,
        certificate: Certificate,
        screen_shares_per_room: int = 1,
        connect_timeout_s: float = 20.0,
    ) -> None:
        self.server = server
        self.rooms = rooms
        self._register = register
        self._address = address
        self._announced_ip = announced_ip
        self._certificate = certificate
        self._screen_shares = screen_shares_per_room
        self._connect_timeout_s = connect_timeout_s
        self.peers: dict[str, SfuPeer] = {}
        self.policy = SfuPolicy()
        rooms.on_transport_closed = self._transport_lost
        on = server.on
        on("createRoom")(self.create_room)
        on("join")(self.join)
        on("getRouterRtpCapabilities")(self.router_capabilities)
        on("createWebRtcTransport")(self.create_transport)
        on("connectTransport")(self.connect_transport)
        on("produce")(self.produce)
        on("consume")(self.consume)
        on("resume")(self.resume)
        on("resumeConsumer")(self.resume)
        on("pauseConsumer")(self.pause_consumer)
        on("pauseProducer")(self.pause_producer)
        on("resumeProducer")(self.resume_producer)
        on("getProducers")(self.get_producers)
        on("producerClosed")(self.close_producer)
        on("getMyRoomInfo")(self.room_info)
        on("sendMessage")(self.send_message)
        on("exitRoom")(self.exit_room)
        on("cohost:request")(self.cohost_request)
        on("cohost:respond")(self.cohost_respond)
        on("disconnect")(self.disconnected)
        for event in RELAYED:
            on(event)(self._relay(event))

    # -- rooms ------------------------------------------------------------------------------------------------
    async def create_room(self, sock: Socket, payload: Any = None) -> dict[str, Any]:
        body = payload if isinstance(payload, dict) else {}
        mode = text(body, "mode", max_length=16, required=False) or RoomMode.MEETING.value
        if mode not in RoomMode.__members__.values():
            raise SocketError("invalid_field", "field 'mode' must be 'meeting' or 'webinar'")
        user = getattr(sock.principal, "user_id", None)
        room_id, plan = self.rooms.create(RoomMode(mode), sock.sid, user)
        return {"room_id": room_id, "mode": plan.mode.value, "hostKey": plan.host_key}

    async def join(self, sock: Socket, payload: Any = None) -> dict[str, Any]:
        body = payload_object(payload)
        room_id = required_text(body, "room_id", max_length=MAX_ID)
        name = text(body, "name", max_length=MAX_NAME, required=False) or "Guest"
        host_key = text(body, "hostKey", max_length=MAX_ID, required=False) or None
        current = self.peers.get(sock.sid)
        if current is not None:
            raise SocketError("already_joined", f"this connection is in room {current.room_id}; exitRoom first")
        admission = await self.policy.admit(sock, room_id)
        name = admission.name or name
        if not sock.connected:  # gone while the policy looked things up (a connection's events run in order)
            raise SocketError("not_connected", "this connection left while joining")
        room = self.rooms.open(room_id, admission.open_as)
        if len(room.peers) >= MAX_PEERS_PER_ROOM:
            raise SocketError("room_full", f"room {room_id} has {MAX_PEERS_PER_ROOM} peers already")
        role = room.role_for(sock.sid, sock.principal, host_key)
        peer = room.peers[sock.sid] = self.peers[sock.sid] = SfuPeer(sock.sid, name, room_id, role)
        event = {"peerId": peer.id, "name": name, "role": role.value}
        self.server.emit("newPeer", event, to=_key(room_id), skip_sid=sock.sid)
        sock.join(_key(room_id))
        self.policy.joined(sock, room, peer)
        return {"room": self._room_state(room), "chatHistory": list(room.chat)}

    def _room_state(self, room: SfuRoom) -> dict[str, Any]:
        peers = [p.info() for p in room.peers.values()]
        producers = [_producer_info(p, pr) for p in room.peers.values() for pr in p.producers.values()]
        return {"room_id": room.id, "mode": room.plan.mode.value, "peers": peers, "producers": producers}

    def _joined(self, sock: Socket) -> tuple[SfuRoom, SfuPeer]:
        peer = self.peers.get(sock.sid)
        room = self.rooms.rooms.get(peer.room_id) if peer is not None else None
        if peer is None or room is None:
            raise SocketError("not_joined", "join a room first")
        return room, peer

    async def room_info(self, sock: Socket, payload: Any = None) -> dict[str, Any]:
        room, peer = self._joined(sock)
        return {**self._room_state(room), "peerId": peer.id, "name": peer.name, "role": peer.role.value}

    async def exit_room(self, sock: Socket, payload: Any = None) -> dict[str, Any]:
        room, _ = self._joined(sock)
        self._leave(sock.sid)
        sock.leave(_key(room.id))
        return {}

    async def disconnected(self, sock: Socket, reason: str) -> None:
        self._leave(sock.sid)

    def _leave(self, sid: str) -> None:
        peer = self.peers.pop(sid, None)
        if peer is None:
            return
        room = self.rooms.rooms.get(peer.room_id)
        if room is None:
            return
        room.peers.pop(sid, None)
        room.cohost_requests.discard(sid)
        self.policy.left(room, peer)
        for producer in list(peer.producers.values()):
            self._producer_gone(peer, producer)
        for transport in list(peer.transports.values()):
            transport.close("peer left")
        self.server.emit("peerLeft", {"peerId": sid}, to=_key(room.id), skip_sid=sid)
        if not room.peers:
            log.debug("sfu room %s: last peer left, closing its router", room.id)
            self.rooms.close(room)

    def _producer_gone(self, peer: SfuPeer, producer: Producer) -> None:
        """Close ``producer`` and tell the others in the room (their consumers of it close with it)."""
        peer.producers.pop(producer.id, None)
        producer.close()
        event = {"producerId": producer.id, "peerId": peer.id}
        self.server.emit("producerClosed", event, to=_key(peer.room_id), skip_sid=peer.id)

    def _transport_lost(self, transport: Transport) -> None:
        """A transport closed under us (consent expired, DTLS failed): its producers' consumers learn it."""
        for peer in self.peers.values():
            if peer.transports.pop(transport.id, None) is transport:
                for producer in list(transport.producers.values()):
                    self._producer_gone(peer, producer)
                return

    # -- transports -------------------------------------------------------------------------------------------
    async def router_capabilities(self, sock: Socket, payload: Any = None) -> dict[str, Any]:
        room, _ = self._joined(sock)
        return room.router.rtp_capabilities

    async def create_transport(self, sock: Socket, payload: Any = None) -> dict[str, Any]:
        room, peer = self._joined(sock)
        app_data = _optional_object(payload, "appData") if isinstance(payload, dict) else {}
        peer.transports = {k: t for k, t in peer.transports.items() if not t.closed}
        if len(peer.transports) >= MAX_TRANSPORTS_PER_PEER:
            raise SocketError("too_many_transports", f"at most {MAX_TRANSPORTS_PER_PEER} transports per peer")
        address = self._address()
        if address is None:
            raise SocketError("unavailable", "the SFU's UDP server is not running")
        with _sfu_errors():
            transport = room.router.create_webrtc_transport(
                certificate=self._certificate, announced_ip=self._announced_ip, port=address[1], app_data=app_data
            )
            self._register(transport.webrtc)
        peer.transports[transport.id] = transport
        webrtc = transport.webrtc
        return {"id": transport.id, "iceParameters": webrtc.ice_parameters.as_dict(),
                "iceCandidates": [c.as_dict() for c in webrtc.ice_candidates],
                "dtlsParameters": webrtc.dtls_parameters.as_dict()}  # fmt: skip

    def _transport(self, peer: SfuPeer, body: dict[str, Any], name: str) -> Transport:
        transport_id = required_text(body, name, max_length=MAX_ID)
        transport = peer.transports.get(transport_id)
        if transport is None or transport.closed:
            raise SocketError("not_found", f"transport {transport_id} not found")
        return transport

    async def connect_transport(self, sock: Socket, payload: Any = None) -> dict[str, Any]:
        _, peer = self._joined(sock)
        body = payload_object(payload)
        transport = self._transport(peer, body, "transportId")
        dtls = _required_object(body, "dtlsParameters")
        with _sfu_errors():
            transport.webrtc.connect(dtls, connect_timeout_s=self._connect_timeout_s)
        return {}

    # -- producers and consumers ------------------------------------------------------------------------------
    async def produce(self, sock: Socket, payload: Any = None) -> dict[str, Any]:
        room, peer = self._joined(sock)
        body = payload_object(payload)
        transport = self._transport(peer, body, "producerTransportId")
        kind = required_text(body, "kind", max_length=8)
        rtp_parameters = _required_object(body, "rtpParameters")
        app_data = _optional_object(body, "appData")
        if len(peer.producers) >= MAX_PRODUCERS_PER_PEER:
            raise SocketError("too_many_producers", f"at most {MAX_PRODUCERS_PER_PEER} producers per peer")
        self._check_may_produce(room, peer, kind, app_data)
        self.policy.check_produce(sock, room, peer, kind, app_data)
        with _sfu_errors():
            producer = transport.produce(kind, rtp_parameters, app_data)
        peer.producers[producer.id] = producer
        self.policy.produced(room, peer, producer)
        self.server.emit("newProducer", _producer_info(peer, producer), to=_key(peer.room_id), skip_sid=sock.sid)
        return {"id": producer.id}

    async def consume(self, sock: Socket, payload: Any = None) -> dict[str, Any]:
        room, peer = self._joined(sock)
        body = payload_object(payload)
        transport = self._transport(peer, body, "consumerTransportId")
        producer_id = required_text(body, "producerId", max_length=MAX_ID)
        capabilities = _required_object(body, "rtpCapabilities")
        peer.consumers = {k: c for k, c in peer.consumers.items() if not c.closed}
        if len(peer.consumers) >= MAX_CONSUMERS_PER_PEER:
            raise SocketError("too_many_consumers", f"at most {MAX_CONSUMERS_PER_PEER} consumers per peer")
        if producer_id not in room.router.producers:
            raise SocketError("not_found", f"producer {producer_id} not found in this room")
        self.policy.check_consume(sock, room, peer, producer_id)
        with _sfu_errors():
            consumer = room.router.consume(transport, producer_id, capabilities, paused=True)
        peer.consumers[consumer.id] = consumer
        self.policy.consumed(room, peer, consumer)
        return {"id": consumer.id, "producerId": producer_id, "kind": consumer.kind,
                "rtpParameters": consumer.rtp_parameters, "type": "simple",
                "producerPaused": consumer.producer_paused}  # fmt: skip

    def _check_may_produce(self, room: SfuRoom, peer: SfuPeer, kind: str, app_data: dict[str, Any]) -> None:
        if not peer.role.may_produce:
            raise SocketError("forbidden", "viewers of a webinar do not publish; ask the host (cohost:request)")
        if kind == "video" and is_screen(app_data):
            sharers = room.screen_sharers() - {peer.id}
            if len(sharers) >= self._screen_shares:
                raise SocketError("screen_busy", f"{len(sharers)} other peer(s) are sharing a screen in this room")

    def _consumer(self, sock: Socket, payload: Any) -> Consumer:
        _, peer = self._joined(sock)
        consumer_id = required_text(payload_object(payload), "consumerId", max_length=MAX_ID)
        consumer = peer.consumers.get(consumer_id)
        if consumer is None or consumer.closed:
            raise SocketError("not_found", f"consumer {consumer_id} not found")
        return consumer

    async def resume(self, sock: Socket, payload: Any = None) -> dict[str, Any]:
        self._consumer(sock, payload).resume()
        return {}

    async def pause_consumer(self, sock: Socket, payload: Any = None) -> dict[str, Any]:
        self._consumer(sock, payload).pause()
        return {}

    def _own_producer(self, sock: Socket, payload: Any) -> tuple[SfuPeer, Producer]:
        _, peer = self._joined(sock)
        producer_id = required_text(payload_object(payload), "producerId", max_length=MAX_ID)
        producer = peer.producers.get(producer_id)
        if producer is None or producer.closed:
            raise SocketError("not_found", f"producer {producer_id} is not one of yours")
        return peer, producer

    async def pause_producer(self, sock: Socket, payload: Any = None) -> dict[str, Any]:
        peer, producer = self._own_producer(sock, payload)
        if not producer.paused:
            producer.pause()
            event = {"producerId": producer.id, "peerId": peer.id}
            self.server.emit("producerPaused", event, to=_key(peer.room_id), skip_sid=peer.id)
        return {}

    async def resume_producer(self, sock: Socket, payload: Any = None) -> dict[str, Any]:
        peer, producer = self._own_producer(sock, payload)
        if producer.paused:
            producer.resume()
            event = {"producerId": producer.id, "peerId": peer.id}
            self.server.emit("producerResumed", event, to=_key(peer.room_id), skip_sid=peer.id)
        return {}

    async def get_producers(self, sock: Socket, payload: Any = None) -> list[dict[str, Any]]:
        room, peer = self._joined(sock)
        return [_producer_info(p, pr) for p in room.peers.values() if p is not peer for pr in p.producers.values()]

    async def close_producer(self, sock: Socket, payload: Any = None) -> dict[str, Any]:
        peer, producer = self._own_producer(sock, payload)
        self._producer_gone(peer, producer)
        return {}

    # -- co-hosts ---------------------------------------------------------------------------------------------
    async def cohost_request(self, sock: Socket, payload: Any = None) -> dict[str, Any]:
        """A webinar viewer asks to present: every host in the room gets ``cohost:request``."""
        room, peer = self._joined(sock)
        if room.plan.mode is not RoomMode.WEBINAR:
            raise SocketError("invalid_state", "everyone may publish in a meeting room")
        if peer.role is not Role.VIEWER:
            raise SocketError("invalid_state", f"you are {peer.role.value} already")
        hosts = room.hosts()
        if not hosts:
            raise SocketError("no_host", "no host is in the room to approve the request")
        room.cohost_requests.add(peer.id)
        for host in hosts:
            self.server.emit("cohost:request", {"peerId": peer.id, "name": peer.name}, to=host.id)
        return {}

    async def cohost_respond(self, sock: Socket, payload: Any = None) -> dict[str, Any]:
        """The host approves or refuses a request, or demotes a co-host (``accepted: false``)."""
        room, host = self._joined(sock)
        if host.role is not Role.HOST:
            raise SocketError("forbidden", "only the host approves co-hosts")
        body = payload_object(payload)
        target_id = required_text(body, "peerId", max_length=MAX_ID)
        accepted = body.get("accepted")
        if not isinstance(accepted, bool):
            raise SocketError("invalid_field", "field 'accepted' must be true or false")
        target = room.peers.get(target_id)
        if target is None or target.role is Role.HOST:
            raise SocketError("not_found", f"peer {target_id} is not a viewer or co-host of this room")
        room.cohost_requests.discard(target.id)
        new_role = Role.COHOST if accepted else Role.VIEWER
        self.server.emit("cohost:respond", {"accepted": accepted, "hostId": host.id, "role": new_role.value},
                         to=target.id)  # fmt: skip
        if target.role is not new_role:
            target.role = new_role
            if not new_role.may_produce:
                for producer in list(target.producers.values()):
                    self._producer_gone(target, producer)
            event = {"peerId": target.id, "role": new_role.value}
            self.server.emit("peerRoleChanged", event, to=_key(room.id))
        return {}

    # -- messages ---------------------------------------------------------------------------------------------
    async def send_message(self, sock: Socket, payload: Any = None) -> dict[str, Any]:
        room, peer = self._joined(sock)
        message = required_text(payload_object(payload), "message", max_length=MAX_MESSAGE)
        self.policy.check_message(sock, room, peer)
        entry = {"room_id": room.id, "peerId": peer.id, "name": peer.name, "message": message,
                 "timestamp": int(time.time() * 1000)}  # fmt: skip
        room.chat.append(entry)
        self.server.emit("newMessage", entry, to=_key(room.id))
        self.policy.message(room, peer, entry)
        return {}

    def _relay(self, event: str) -> Callable[[Socket, Any], Any]:
        async def relay(sock: Socket, payload: Any = None) -> dict[str, Any]:
            room, peer = self._joined(sock)
            body = payload if isinstance(payload, dict) else {}
            extra = {k: v for k, v in body.items() if k in ("producerId", "kind", "appData")}
            self.server.emit(event, {**extra, "peerId": peer.id, "name": peer.name}, to=_key(room.id),
                             skip_sid=sock.sid)  # fmt: skip
            return {}

        return relay


def _key(room_id: str) -> str:
    return f"sfu:{room_id}"
