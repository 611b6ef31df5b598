"""UdpServer: routing by ufrag and by checked address, timers and consent, and the whole path over real loopback
UDP sockets with a browser stand-in (ICE, DTLS, SRTP both ways) while strangers spray garbage."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable

import pytest
import trio

from altegon_rt.rtc.dtls import DtlsRole, generate_certificate
from altegon_rt.rtc.rtp import RtpPacket
from altegon_rt.sfu.errors import InvalidStateError
from altegon_rt.sfu.transport import Address, WebRtcTransport
from altegon_rt.sfu.udp import UdpServer
from altegon_rt.testing.webrtc_peer import WebRtcPeer

CERT = generate_certificate()
PEER: Address = ("198.51.100.7", 50000)


def rtp(seq: int, ssrc: int = 0x11223344) -> bytes:
    return bytes(RtpPacket(96, seq, seq * 960, ssrc, payload=b"media" * 20))


def make_transport(port: int, got: list[bytes]) -> WebRtcTransport:
    return WebRtcTransport(certificate=CERT, announced_ip="127.0.0.1", port=port, on_rtp=lambda t, p: got.append(p))


def make_peer(transport: WebRtcTransport) -> WebRtcPeer:
    return WebRtcPeer(transport.ice_parameters.as_dict(), transport.dtls_parameters.as_dict())


# --- routing and timers without a socket -------------------------------------------------------------------


def test_stun_is_routed_by_ufrag_and_media_by_checked_address() -> None:
    server = UdpServer("127.0.0.1")
    got_a: list[bytes] = []
    a, b = make_transport(1, got_a), make_transport(1, [])
    server.register(a)
    server.register(b)
    peer_a, peer_b = make_peer(a), make_peer(b)
    assert server.handle_datagram(b"\x17\xfe\xfd" + bytes(20), PEER, 0.0) == []  # DTLS from nowhere
    assert server.stats["dropped_unrouted"] == 1

    (answer,) = server.handle_datagram(peer_a.binding_request(), PEER, 0.0)
    assert answer[1] == PEER and a.selected_address == PEER and b.selected_address is None
    # The same address then checks against b: STUN follows the ufrag, and media follows the latest check.
    server.handle_datagram(peer_b.binding_request(), PEER, 0.0)
    assert b.selected_address == PEER
    server.handle_datagram(bytes([0x80]) + bytes(30), PEER, 0.0)
    assert b.stats["dropped_srtp_before_dtls"] == 1 and a.stats["dropped_srtp_before_dtls"] == 0

    assert server.unregister(b) and not server.unregister(b)
    server.handle_datagram(bytes([0x80]) + bytes(30), PEER, 0.0)
    assert server.stats["dropped_unrouted"] == 2  # b's address left with it, a's mapping had moved to b


def test_register_refuses_duplicates_and_closed_transports() -> None:
    server = UdpServer("127.0.0.1")
    transport = make_transport(1, [])
    server.register(transport)
    with pytest.raises(InvalidStateError, match="already registered"):
        server.register(transport)
    closed = make_transport(1, [])
    closed.close()
    with pytest.raises(InvalidStateError, match="closed"):
        server.register(closed)


def test_consent_expiry_closes_and_reports_once() -> None:
    closed: list[tuple[WebRtcTransport, str]] = []
    server = UdpServer("127.0.0.1", on_closed=lambda t, reason: closed.append((t, reason)))
    transport = make_transport(1, [])
    server.register(transport)
    server.handle_datagram(make_peer(transport).binding_request(), PEER, 0.0)
    assert server.tick(10.0) == [] and closed == []
    server.tick(31.0)
    assert closed == [(transport, "ICE consent expired")] and server.transports == ()
    server.tick(32.0)
    assert len(closed) == 1
    assert server.handle_datagram(bytes([0x80]) + bytes(30), PEER, 32.0) == []


def test_a_transport_closed_by_its_owner_is_reported_on_the_next_tick() -> None:
    closed: list[str] = []
    server = UdpServer("127.0.0.1", on_closed=lambda t, reason: closed.append(reason))
    transport = make_transport(1, [])
    server.register(transport)
    transport.close("producer left")
    server.tick(0.0)
    assert closed == ["producer left"] and server.transports == ()


# --- over loopback ----------------------------------------------------------------------------------------


async def exchange(
    sock: trio.socket.SocketType, peer: WebRtcPeer, server: Address, first: list[bytes], done: Callable[[], bool]
) -> None:
    """Send ``first``, then answer whatever the server sends until ``done()``; bounded by the caller's deadline."""
    for datagram in first:
        await sock.sendto(datagram, server)
    while not done():
        data, _ = await sock.recvfrom(65535)
        for reply in peer.receive(data):
            await sock.sendto(reply, server)


async def peer_socket() -> trio.socket.SocketType:
    sock = trio.socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    await sock.bind(("127.0.0.1", 0))
    return sock


async def test_media_over_loopback_while_strangers_spray_garbage() -> None:
    closed: list[str] = []
    server = UdpServer("127.0.0.1", 0, on_closed=lambda t, reason: closed.append(reason))
    got: list[bytes] = []
    async with trio.open_nursery() as nursery:
        address = await nursery.start(server.run)
        assert address[0] == "127.0.0.1" and address[1] > 0
        transport = make_transport(address[1], got)
        server.register(transport)
        peer = make_peer(transport)
        transport.connect(peer.dtls_parameters)

        stranger, legit = await peer_socket(), await peer_socket()
        with stranger, legit:
            # Garbage, a badly signed check, a check for an unknown ufrag, and "RTP" from a stranger.
            spray = [os.urandom(n) for n in (1, 13, 200, 1500)]
            spray += [peer.binding_request(password=b"y" * 32), bytes([0x80]) + os.urandom(60)]
            spray += [make_peer(make_transport(1, [])).binding_request(), b"", bytes([0x16, 0xFE, 0xFD]) * 10]
            for datagram in spray:
                await stranger.sendto(datagram, address)

            with trio.fail_after(10):
                await exchange(legit, peer, address, [peer.binding_request()], lambda: peer.stun_successes == 1)
                await exchange(legit, peer, address, peer.start_dtls(), lambda: peer.connected)
                while not transport.connected:
                    await trio.sleep(0.01)  # the server handles our last flight after we consider ourselves done
                for seq in (1, 2, 3):
                    await legit.sendto(peer.protect_rtp(rtp(seq)), address)
                while len(got) < 3:
                    await trio.sleep(0.01)
                sent = transport.send_rtp(rtp(9, ssrc=0xCAFE))
                assert sent is not None
                await server.send([sent])
                await exchange(legit, peer, address, [], lambda: len(peer.received_rtp) == 1)

        assert got == [rtp(1), rtp(2), rtp(3)]
        assert peer.received_rtp == [rtp(9, ssrc=0xCAFE)]
        assert server.stats["dropped_unrouted"] >= 5 and closed == []
        assert transport.stats["stun_error_response"] >= 1  # the badly signed check reached it, and was refused
        nursery.cancel_scope.cancel()


async def test_dtls_retransmission_is_driven_by_the_tick() -> None:
    """The server as DTLS client: its first ClientHello is lost, the tick resends it, the handshake completes."""
    server = UdpServer("127.0.0.1", 0, tick_s=0.02)
    async with trio.open_nursery() as nursery:
        address = await nursery.start(server.run)
        transport = make_transport(address[1], [])
        server.register(transport)
        peer = WebRtcPeer(transport.ice_parameters.as_dict(), transport.dtls_parameters.as_dict(), DtlsRole.SERVER)
        transport.connect(peer.dtls_parameters)
        sock = await peer_socket()
        with sock, trio.fail_after(10):
            await sock.sendto(peer.binding_request(), address)
            lost = False
            while not (peer.connected and transport.connected):
                data: bytes | None = None
                with trio.move_on_after(0.05):  # once our last flight is out, only the server has work left
                    data, _ = await sock.recvfrom(65535)
                if data is None:
                    continue
                if data[0] >= 20 and not lost:
                    lost = True  # drop the first DTLS flight on the floor
                    continue
                for reply in peer.receive(data):
                    await sock.sendto(reply, address)
        assert transport.stats["dtls_retransmit"] >= 1
        nursery.cancel_scope.cancel()
