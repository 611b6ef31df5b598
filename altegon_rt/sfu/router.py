"""Router and its transports (mediasoup's object model): who produces, who consumes, and the RTP between.

Router → Transport → Producer / Consumer. ``close()`` is idempotent everywhere and cascades down: a router
closes its transports, a transport its producers and consumers, a producer its consumers (which tell their
observers ``producerclose``). A child hears of its parent's end through one private method
(``_transport_closed``, ``_producer_closed``), and its ``on_close`` callback makes every owner forget it.

The data plane is synchronous: a transport's ``on_rtp`` runs inside ``UdpServer.handle_datagram``, so nothing
here awaits. Everything to send (forwarded RTP, retransmissions, PLIs, DTLS close_notify) is appended to the
router's outbox; the UDP task flushes :meth:`Router.take_outgoing` after each datagram and tick (wire it as
``UdpServer(after_datagram=router.take_outgoing, on_closed=router.handle_transport_closed)``).
"""

from __future__ import annotations

import collections
import secrets
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any, NewType

from altegon_rt.rtc import ortc
from altegon_rt.rtc.dtls import Certificate
from altegon_rt.rtc.errors import LocalProtocolError, RemoteProtocolError
from altegon_rt.rtc.rtcp import (
    Fir,
    Nack,
    Pli,
    ReceiverReport,
    ReportBlock,
    RtcpPacket,
    SenderReport,
    build_compound,
    parse_compound,
)
from altegon_rt.rtc.rtp import HEADER_SIZE, read_ssrc
from altegon_rt.sfu.consumer import Consumer, ConsumerId
from altegon_rt.sfu.errors import InvalidStateError, UnsupportedError
from altegon_rt.sfu.observer import Observer
from altegon_rt.sfu.producer import Producer, ProducerId
from altegon_rt.sfu.transport import Outgoing, TransportId, WebRtcTransport

RouterId = NewType("RouterId", str)
Clock = Callable[[], float]
RTCP_INTERVAL_S = 1.0  # RFC 3550's 5 s minimum is reduced for a point-to-point leg with RTCP bandwidth to spare
MAX_REPORT_BLOCKS = 31


class Transport:
    """A router's WebRtcTransport: the sans-IO core plus the producers and consumers that use it.

    Created by :meth:`Router.create_webrtc_transport`. Signalling goes to :attr:`webrtc` (ICE and DTLS
    parameters, ``connect``); the UDP server registers :attr:`webrtc`.
    """

    def __init__(
        self,
        *,
        router: Router,
        certificate: Certificate,
        announced_ip: str,
        port: int,
        app_data: Mapping[str, Any] | None,
    ) -> None:
        self.webrtc = WebRtcTransport(
            certificate=certificate,
            announced_ip=announced_ip,
            port=port,
            on_rtp=self.receive_rtp,
            on_rtcp=self.receive_rtcp,
            on_connected=self._connected,
        )
        self.id: TransportId = self.webrtc.id
        self.app_data = dict(app_data or {})
        self.closed = False
        self.observer = Observer()
        self.stats: collections.Counter[str] = collections.Counter()
        self.producers: dict[ProducerId, Producer] = {}
        self.consumers: dict[ConsumerId, Consumer] = {}
        self._router = router
        self._producer_by_ssrc: dict[int, Producer] = {}
        self._consumer_by_ssrc: dict[int, Consumer] = {}
        self._next_consumer_mid = 0  # mediasoup's nextMidForConsumers
        self.rtcp_ssrc = secrets.randbits(32) or 1  # the sender SSRC of our receiver reports to this peer

    def produce(
        self, kind: str, rtp_parameters: Mapping[str, Any], app_data: Mapping[str, Any] | None = None
    ) -> Producer:
        """Start receiving a stream (mediasoup's ``transport.produce``).

        Raises:
            InvalidStateError: the transport is closed.
            UnsupportedError: a codec the router does not have, no SSRC, simulcast, or an SSRC already in use.
            ortc.InvalidRtpParameters: the parameters are malformed (the message names the field).
        """
        if self.closed:
            raise InvalidStateError("transport closed")
        if kind not in ("audio", "video"):
            raise UnsupportedError(f"invalid kind {kind!r}")
        params = ortc.validate_rtp_parameters(rtp_parameters)
        encodings = params["encodings"]
        if len(encodings) != 1:
            raise UnsupportedError(f"exactly one encoding is supported (no simulcast yet), got {len(encodings)}")
        if "ssrc" not in encodings[0]:
            raise UnsupportedError("the encoding needs an ssrc (matching by mid/rid is not supported yet)")
        caps = self._router.rtp_capabilities
        try:
            mapping = ortc.producer_rtp_mapping(params, caps)
            consumable = ortc.consumable_rtp_parameters(kind, params, caps, mapping)
        except ortc.UnsupportedError as exc:
            raise UnsupportedError(str(exc)) from exc
        producer = Producer(
            kind=kind,
            rtp_parameters=params,
            rtp_mapping=mapping,
            consumable_rtp_parameters=consumable,
            app_data=app_data,
            send_rtcp=self._send_rtcp,
            clock=self._router._clock,
            on_close=self._forget_producer,
        )
        taken = [ssrc for ssrc in producer.ssrcs if ssrc in self._producer_by_ssrc]
        if taken:
            raise UnsupportedError(f"ssrc {taken[0]} already in use on this transport")
        for ssrc in producer.ssrcs:
            self._producer_by_ssrc[ssrc] = producer
        self.producers[producer.id] = producer
        self._router.producers[producer.id] = producer
        return producer

    # --- the data plane -------------------------------------------------------------------------------------

    def receive_rtp(self, _webrtc: WebRtcTransport, data: bytes) -> None:
        """The WebRtcTransport's ``on_rtp``: a decrypted packet, matched to a producer by SSRC. Never raises."""
        if len(data) < HEADER_SIZE:
            self.stats["dropped_rtp_short"] += 1
            return
        ssrc = read_ssrc(data)
        producer = self._producer_by_ssrc.get(ssrc)
        if producer is None:
            self.stats["dropped_rtp_unknown_ssrc"] += 1
            return
        producer.receive_rtp(data, ssrc, _webrtc.now)

    def receive_rtcp(self, webrtc: WebRtcTransport, data: bytes) -> None:
        """The WebRtcTransport's ``on_rtcp``: SR from producers; NACK, PLI, FIR, RR for consumers. Never raises."""
        try:
            packets = parse_compound(data)
        except RemoteProtocolError:
            self.stats["dropped_rtcp_malformed"] += 1
            return
        for packet in packets:
            if isinstance(packet, Nack):
                consumer = self._consumer_by_ssrc.get(packet.media_ssrc)
                if consumer is not None:
                    consumer.handle_nack(packet.lost)
            elif isinstance(packet, Pli):
                consumer = self._consumer_by_ssrc.get(packet.media_ssrc)
                if consumer is not None:
                    consumer.request_key_frame()
            elif isinstance(packet, Fir):
                for ssrc, _seq in packet.entries:
                    consumer = self._consumer_by_ssrc.get(ssrc)
                    if consumer is not None:
                        consumer.request_key_frame()
            elif isinstance(packet, SenderReport):
                producer = self._producer_by_ssrc.get(packet.ssrc)
                if producer is not None and packet.ssrc == producer.ssrc:
                    producer.reception.sender_report(packet, webrtc.now)
                self._remote_reports(packet.reports)
            elif isinstance(packet, ReceiverReport):
                self._remote_reports(packet.reports)
            # REMB and transport-cc are not used yet.

    def _remote_reports(self, blocks: tuple[ReportBlock, ...]) -> None:
        for block in blocks:
            consumer = self._consumer_by_ssrc.get(block.ssrc)
            if consumer is not None:
                consumer.remote_report = block

    def send_reports(self, now: float) -> None:
        """RTCP for this peer: an SR per consumer we send it, an RR about every stream it sends us."""
        if not self.webrtc.connected:
            return
        packets: list[RtcpPacket] = []
        for consumer in self.consumers.values():
            report = consumer.sender_report(now)
            if report is not None:
                packets.append(report)
        blocks = [b for p in self.producers.values() if (b := p.reception.report_block(p.ssrc, now)) is not None]
        for start in range(0, len(blocks), MAX_REPORT_BLOCKS):
            packets.append(ReceiverReport(self.rtcp_ssrc, tuple(blocks[start : start + MAX_REPORT_BLOCKS])))
        if packets:
            self._send_rtcp(build_compound(packets))

    def _send_rtp(self, packet: bytes) -> None:
        try:
            sent = self.webrtc.send_rtp(packet)
        except LocalProtocolError:
            # SRTP refused (a header it cannot read): one bad packet must not stop the other consumers' sends.
            self.stats["rtp_protect_failed"] += 1
            return
        if sent is not None:
            self._router._outbox.append(sent)

    def _send_rtcp(self, packet: bytes) -> None:
        try:
            sent = self.webrtc.send_rtcp(packet)
        except LocalProtocolError:
            self.stats["rtcp_protect_failed"] += 1
            return
        if sent is not None:
            self._router._outbox.append(sent)

    # --- children and lifecycle -----------------------------------------------------------------------------

    def _take_consumer_mid(self) -> str:
        """The next MID for a consumer of this transport, unique on it ("0", "1", ...), as mediasoup gives.

        mediasoup-client puts it in the SDP of the consumer's m= section; without one it numbers sections
        itself from the receivers it has, which gives two consumers set up in one batch the same MID and
        makes the browser refuse the whole offer ("Duplicate a=mid value").
        """
        mid = str(self._next_consumer_mid)
        self._next_consumer_mid += 1
        return mid

    def _connected(self, _webrtc: WebRtcTransport) -> None:
        """SRTP is up: consumers resumed before now ask for a key frame again (as mediasoup's do on connect).

        A consumer is usually resumed while its transport still connects (mediasoup-client connects on the
        first consume), so the key frame its resume asked for arrived when nothing could be sent and was
        dropped; without a new one the peer would decode nothing until the sender's next key frame.
        """
        for consumer in self.consumers.values():
            consumer.transport_connected()

    def _add_consumer(self, consumer: Consumer) -> None:
        self.consumers[consumer.id] = consumer
        self._consumer_by_ssrc[consumer.ssrc] = consumer
        if consumer.rtx_ssrc is not None:
            self._consumer_by_ssrc[consumer.rtx_ssrc] = consumer

    def _forget_producer(self, producer: Producer) -> None:
        self.producers.pop(producer.id, None)
        for ssrc in producer.ssrcs:
            if self._producer_by_ssrc.get(ssrc) is producer:
                del self._producer_by_ssrc[ssrc]
        self._router.producers.pop(producer.id, None)

    def _forget_consumer(self, consumer: Consumer) -> None:
        self.consumers.pop(consumer.id, None)
        for ssrc in (consumer.ssrc, consumer.rtx_ssrc):
            if ssrc is not None and self._consumer_by_ssrc.get(ssrc) is consumer:
                del self._consumer_by_ssrc[ssrc]
        self._router.consumers.pop(consumer.id, None)

    def close(self, reason: str = "closed") -> None:
        """Close the transport, its producers (and so their consumers everywhere) and its consumers."""
        self._close("close", reason)

    def _router_closed(self) -> None:
        self._close("routerclose", "router closed")

    def _close(self, event: str, reason: str) -> None:
        if self.closed:
            return
        self.closed = True
        for producer in list(self.producers.values()):
            producer._transport_closed()
        for consumer in list(self.consumers.values()):
            consumer._transport_closed()
        self._router._outbox.extend(self.webrtc.close(reason))  # close_notify, flushed with the rest
        self._router.transports.pop(self.id, None)
        self.observer.emit("close", reason if event == "close" else "router closed")
        self.observer.close()


class Router:
    """One room's media: its codecs, transports, producers and consumers (mediasoup's Router).

    Args:
        media_codecs: mediasoup's ``mediaCodecs``; see :func:`altegon_rt.rtc.ortc.router_rtp_capabilities`.
        clock: monotonic seconds (only for rate limits); injectable so tests control time.
    """

    def __init__(self, media_codecs: list[Any], *, clock: Clock = time.monotonic) -> None:
        self.id = RouterId(str(uuid.uuid4()))
        self.rtp_capabilities = ortc.router_rtp_capabilities(media_codecs)
        self.closed = False
        self.observer = Observer()
        self.transports: dict[TransportId, Transport] = {}
        self.producers: dict[ProducerId, Producer] = {}
        self.consumers: dict[ConsumerId, Consumer] = {}
        self._clock = clock
        self._outbox: Outgoing = []
        self._next_reports = 0.0

    def create_webrtc_transport(
        self,
        *,
        certificate: Certificate,
        announced_ip: str,
        port: int,
        app_data: Mapping[str, Any] | None = None,
    ) -> Transport:
        """A new transport; register its :attr:`Transport.webrtc` with the UDP server."""
        if self.closed:
            raise InvalidStateError("router closed")
        transport = Transport(
            router=self, certificate=certificate, announced_ip=announced_ip, port=port, app_data=app_data
        )
        self.transports[transport.id] = transport
        return transport

    def consume(
        self,
        transport: Transport,
        producer_id: ProducerId | str,
        rtp_capabilities: Mapping[str, Any],
        *,
        paused: bool = True,
        app_data: Mapping[str, Any] | None = None,
    ) -> Consumer:
        """Send producer ``producer_id`` to ``transport``'s peer, whose device has ``rtp_capabilities``.

        Starts paused by default, as mediasoup advises: the client sets up its receiver, then asks to resume,
        so the key frame requested on resume is not lost before the peer can decode it.

        Raises:
            InvalidStateError: the router or transport is closed, or the transport is not this router's.
            UnsupportedError: no such producer, or the device cannot decode any of its codecs.
            ortc.InvalidRtpParameters: ``rtp_capabilities`` is malformed.
        """
        if self.closed or transport.closed:
            raise InvalidStateError("router or transport closed")
        if self.transports.get(transport.id) is not transport:
            raise InvalidStateError(f"transport {transport.id} does not belong to router {self.id}")
        producer = self.producers.get(ProducerId(producer_id))
        if producer is None:
            raise UnsupportedError(f"producer {producer_id} not found")
        if not ortc.can_consume(producer.consumable_rtp_parameters, rtp_capabilities):
            raise UnsupportedError(f"the device cannot consume producer {producer_id}: no common codec")
        try:
            params = ortc.consumer_rtp_parameters(producer.consumable_rtp_parameters, rtp_capabilities)
        except ortc.UnsupportedError as exc:
            raise UnsupportedError(str(exc)) from exc
        params["mid"] = transport._take_consumer_mid()
        consumer = Consumer(
            producer=producer,
            rtp_parameters=params,
            paused=paused,
            app_data=app_data,
            send_rtp=transport._send_rtp,
            initial_seq=secrets.randbelow(0x10000),
            on_close=transport._forget_consumer,
        )
        producer.consumers[consumer.id] = consumer
        transport._add_consumer(consumer)
        self.consumers[consumer.id] = consumer
        if not paused:
            producer.request_key_frame()
        return consumer

    def tick(self, now: float) -> None:
        """Timers (the UDP task's tick): sender and receiver reports every :data:`RTCP_INTERVAL_S`."""
        if self.closed or now < self._next_reports:
            return
        self._next_reports = now + RTCP_INTERVAL_S
        for transport in list(self.transports.values()):
            transport.send_reports(now)

    def take_outgoing(self) -> Outgoing:
        """Everything queued to send since the last call (for ``UdpServer(after_datagram=...)``)."""
        out, self._outbox = self._outbox, []
        return out

    def handle_transport_closed(self, webrtc: WebRtcTransport, reason: str) -> None:
        """For ``UdpServer(on_closed=...)``: a transport closed under us (consent expired, DTLS failed)."""
        transport = self.transports.get(webrtc.id)
        if transport is not None:
            transport.close(reason)

    def close(self) -> None:
        """Close every transport (and so everything). Idempotent."""
        if self.closed:
            return
        self.closed = True
        for transport in list(self.transports.values()):
            transport._router_closed()
        self.observer.emit("close")
        self.observer.close()
