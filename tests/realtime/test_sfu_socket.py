"""The SFU socket on the real server: mediasoup-style signalling with python-socketio clients, and media from
one WebRtcPeer to another over real UDP through the server's UdpServer (ICE, DTLS-SRTP, RTP forwarding)."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from altegon_rt.rtc.rtp import RtpPacket
from altegon_rt.testing.process import ServerProcess
from altegon_rt.testing.webrtc_peer import WebRtcPeer
from tests.realtime.test_meet import Peer
from tests.sfu.test_router import CHROME_VP8, VP8_SSRC, media

PATH = "/sfu/socket.io/"
WAIT = 10


class SfuClient(Peer):
    """One python-socketio client on /sfu/socket.io/ recording every event it receives, in order."""

    def __init__(self, url: str) -> None:
        super().__init__(url, None, path=PATH)


@contextmanager
def clients(url: str, count: int) -> Iterator[list[SfuClient]]:
    made: list[SfuClient] = []
    try:
        for _ in range(count):
            made.append(SfuClient(url))
        yield made
    finally:
        for client in made:
            client.close()


def error_code(ack: Any) -> str:
    assert isinstance(ack, dict) and ack.get("success") is False, ack
    return ack["error"]["code"]


class UdpPeer:
    """A WebRtcPeer on a real UDP socket, talking to the candidate a createWebRtcTransport ack gave."""

    def __init__(self, transport: dict[str, Any]) -> None:
        self.peer = WebRtcPeer(transport["iceParameters"], transport["dtlsParameters"])
        candidate = transport["iceCandidates"][0]
        self.server = (candidate["ip"], candidate["port"])
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.05)

    def send(self, datagrams: list[bytes]) -> None:
        for data in datagrams:
            self.sock.sendto(data, self.server)

    def pump(self, seconds: float = 0.05) -> None:
        """Receive (and answer) for ``seconds``."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                data, _ = self.sock.recvfrom(65535)
            except TimeoutError:
                continue
            self.send(self.peer.receive(data))

    def connect(self) -> None:
        """ICE (one check with USE-CANDIDATE) then the DTLS handshake, as the DTLS client."""
        self.send([self.peer.binding_request()])
        deadline = time.monotonic() + WAIT
        while self.peer.stun_successes == 0 and time.monotonic() < deadline:
            self.pump()
        self.send(self.peer.start_dtls())
        while not self.peer.connected and time.monotonic() < deadline:
            self.pump()
        assert self.peer.connected

    def close(self) -> None:
        self.sock.close()


@contextmanager
def room(url: str, count: int) -> Iterator[tuple[str, list[SfuClient]]]:
    """``count`` clients joined to a new room as P0, P1, ..."""
    with clients(url, count) as made:
        room_id = made[0].call("createRoom")["room_id"]
        for i, client in enumerate(made):
            client.call("join", {"room_id": room_id, "name": f"P{i}"})
        yield room_id, made


def test_media_flows_from_a_producer_to_a_consumer_through_the_server(server: ServerProcess) -> None:
    with clients(server.url, 2) as (alice, bob):
        room_id = alice.call("createRoom")["room_id"]
        joined = alice.call("join", {"room_id": room_id, "name": "Alice"})
        assert joined == {"room": {"room_id": room_id, "mode": "meeting",
                                   "peers": [{"id": alice.sid, "name": "Alice", "role": "host"}],
                                   "producers": []}, "chatHistory": []}  # fmt: skip
        bob.call("join", {"room_id": room_id, "name": "Bob"})
        assert alice.next("newPeer") == {"peerId": bob.sid, "name": "Bob", "role": "participant"}
        caps = alice.call("getRouterRtpCapabilities")
        assert [c["mimeType"] for c in caps["codecs"] if c["mimeType"] != "video/rtx"] == [
            "audio/opus", "video/VP8", "video/VP9", "video/H264"]  # fmt: skip
        send = alice.call("createWebRtcTransport")
        assert set(send) == {"id", "iceParameters", "iceCandidates", "dtlsParameters"}
        assert send["iceCandidates"][0]["ip"] == "127.0.0.1" and send["iceCandidates"][0]["port"] > 0
        a = UdpPeer(send)
        assert (
            alice.call("connectTransport", {"transportId": send["id"], "dtlsParameters": a.peer.dtls_parameters}) == {}
        )
        a.connect()
        body = {"kind": "video", "rtpParameters": CHROME_VP8, "producerTransportId": send["id"],
                "appData": {"type": "camera"}}  # fmt: skip
        produced = alice.call("produce", body)
        announced = bob.next("newProducer")
        assert announced == {"producerId": produced["id"], "peerId": alice.sid, "kind": "video",
                             "appData": {"type": "camera"}, "paused": False}  # fmt: skip
        assert alice.call("getProducers") == [] and bob.call("getProducers") == [announced]

        recv = bob.call("createWebRtcTransport")
        b = UdpPeer(recv)
        bob.call("connectTransport", {"transportId": recv["id"], "dtlsParameters": b.peer.dtls_parameters})
        b.connect()
        consumed = bob.call("consume", {"consumerTransportId": recv["id"], "producerId": produced["id"],
                                        "rtpCapabilities": bob.call("getRouterRtpCapabilities")})  # fmt: skip
        assert consumed["producerId"] == produced["id"] and consumed["kind"] == "video"
        assert consumed["rtpParameters"]["codecs"][0]["mimeType"] == "video/VP8"
        a.send([a.peer.protect_rtp(media(s)) for s in range(1, 4)])  # the consumer is paused: not forwarded
        b.pump(0.3)
        assert b.peer.received_rtp == []
        assert bob.call("resume", {"consumerId": consumed["id"]}) == {}
        for seq in range(4, 40):
            a.send([a.peer.protect_rtp(media(seq))])
            b.pump(0.02)
            if len(b.peer.received_rtp) >= 5:
                break
        got = [RtpPacket.parse(p) for p in b.peer.received_rtp]
        assert len(got) >= 5
        ssrc = consumed["rtpParameters"]["encodings"][0]["ssrc"]
        assert {p.ssrc for p in got} == {ssrc} and ssrc != VP8_SSRC
        assert got[0].payload == RtpPacket.parse(media(4)).payload
        a.pump(0.2)  # the resume asked Alice's stream for a key frame (RTCP PLI)
        assert a.peer.received_rtcp
        a.close()
        b.close()


def _produce(client: SfuClient) -> tuple[str, UdpPeer]:
    send = client.call("createWebRtcTransport")
    peer = UdpPeer(send)
    client.call("connectTransport", {"transportId": send["id"], "dtlsParameters": peer.peer.dtls_parameters})
    produced = client.call("produce", {"kind": "video", "rtpParameters": CHROME_VP8, "producerTransportId": send["id"]})
    return produced["id"], peer


def test_producer_closed_is_broadcast_and_owner_only(server: ServerProcess) -> None:
    with room(server.url, 2) as (_, (alice, bob)):
        producer_id, peer = _produce(alice)
        assert bob.next("newProducer")["producerId"] == producer_id
        assert error_code(bob.call("producerClosed", {"producerId": producer_id})) == "not_found"
        assert alice.call("producerClosed", {"producerId": producer_id}) == {}
        assert bob.next("producerClosed") == {"producerId": producer_id, "peerId": alice.sid}
        assert bob.call("getProducers") == []
        recv = bob.call("createWebRtcTransport")
        caps = bob.call("getRouterRtpCapabilities")
        ack = bob.call(
            "consume", {"consumerTransportId": recv["id"], "producerId": producer_id, "rtpCapabilities": caps}
        )
        assert error_code(ack) == "not_found"
        peer.close()


def test_leaving_closes_producers_and_the_last_one_out_closes_the_room(server: ServerProcess) -> None:
    with clients(server.url, 3) as (alice, bob, carol):
        room_id = alice.call("createRoom")["room_id"]
        alice.call("join", {"room_id": room_id, "name": "Alice"})
        bob.call("join", {"room_id": room_id, "name": "Bob"})
        producer_id, peer = _produce(alice)
        info = bob.call("getMyRoomInfo")
        assert info["peerId"] == bob.sid and [p["name"] for p in info["peers"]] == ["Alice", "Bob"]
        assert [p["producerId"] for p in info["producers"]] == [producer_id]
        assert alice.call("exitRoom") == {}
        assert bob.next("producerClosed") == {"producerId": producer_id, "peerId": alice.sid}
        assert bob.next("peerLeft") == {"peerId": alice.sid}
        assert error_code(alice.call("getMyRoomInfo")) == "not_joined"
        bob.close()  # a disconnect leaves too: the room is empty, its router closed, the id gone
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            ack = carol.call("join", {"room_id": room_id, "name": "Carol"})
            if error_code(ack) == "not_found":
                break
            time.sleep(0.05)  # bob's disconnect may still be in flight
        assert error_code(carol.call("join", {"room_id": room_id, "name": "Carol"})) == "not_found"
        peer.close()


def test_chat_is_broadcast_and_kept_for_later_joiners(server: ServerProcess) -> None:
    with room(server.url, 2) as (room_id, (alice, bob)):
        assert alice.call("sendMessage", {"message": "hello"}) == {}
        for client in (alice, bob):
            message = client.next("newMessage")
            assert message["message"] == "hello" and message["name"] == "P0" and message["room_id"] == room_id
            assert isinstance(message["timestamp"], int)
        with clients(server.url, 1) as (carol,):
            history = carol.call("join", {"room_id": room_id, "name": "Carol"})["chatHistory"]
            assert [(m["name"], m["message"]) for m in history] == [("P0", "hello")]
        assert error_code(alice.call("sendMessage", {})) == "invalid_field"


def test_screen_and_video_state_are_relayed_to_the_others(server: ServerProcess) -> None:
    with room(server.url, 2) as (_, (alice, bob)):
        assert alice.call("screen:shared", {"producerId": "p1"}) == {}
        assert bob.next("screen:shared") == {"producerId": "p1", "peerId": alice.sid, "name": "P0"}
        alice.call("videoPaused", {})
        assert bob.next("videoPaused") == {"peerId": alice.sid, "name": "P0"}
        assert alice.none_of("videoPaused")


def test_errors_are_acked_with_a_code_and_message(server: ServerProcess) -> None:
    with clients(server.url, 2) as (alice, bob):
        assert error_code(alice.call("getRouterRtpCapabilities")) == "not_joined"
        assert error_code(alice.call("produce", {"kind": "video"})) == "not_joined"
        ack = alice.call("join", {"room_id": "no-such-room", "name": "A"})
        assert error_code(ack) == "not_found" and "createRoom" in ack["error"]["message"]
        assert error_code(alice.call("join", "nope")) == "invalid_payload"
        room_id = alice.call("createRoom")["room_id"]
        alice.call("join", {"room_id": room_id, "name": "A"})
        assert error_code(alice.call("join", {"room_id": room_id, "name": "A"})) == "already_joined"
        bob.call("join", {"room_id": room_id, "name": "B"})
        send = alice.call("createWebRtcTransport")
        bad_dtls = alice.call("connectTransport", {"transportId": send["id"], "dtlsParameters": {"role": "client"}})
        assert error_code(bad_dtls) == "unsupported"
        assert (
            error_code(bob.call("connectTransport", {"transportId": send["id"], "dtlsParameters": {}})) == "not_found"
        )
        produce = {"kind": "video", "producerTransportId": send["id"]}
        assert error_code(alice.call("produce", produce)) == "invalid_field"
        no_codecs = alice.call("produce", {**produce, "rtpParameters": {"encodings": [{"ssrc": 5}]}})
        assert error_code(no_codecs) == "invalid_parameters" and "codecs" in no_codecs["error"]["message"]
        assert (
            error_code(alice.call("produce", {**produce, "kind": "data", "rtpParameters": CHROME_VP8})) == "unsupported"
        )
        assert error_code(bob.call("resume", {"consumerId": "nope"})) == "not_found"
        assert bob.none_of("newProducer")
