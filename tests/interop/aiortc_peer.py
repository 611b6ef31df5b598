"""aiortc + pymediasoup (a Python port of mediasoup-client) as WebRTC peers of our SFU, over our signalling.

asyncio code, run as its own process by the trio test suite (``tests/interop/test_aiortc.py``):

    python -m tests.interop.aiortc_peer URL forward [--video-codec VP8|H264] [--consume-delay S] [--drop-every N]
    python -m tests.interop.aiortc_peer URL produce --room ROOM_ID

``forward``: peer A produces a sine tone (Opus) and a moving test pattern (VP8 or H264), peer B consumes both,
resumes, and counts the frames its decoders give; then A closes its video producer and B must see
``producerClosed`` and no more video (A's aiortc keeps sending it: pymediasoup cannot stop a sender, so the
server must drop it). With ``--drop-every``, B receives through a :class:`LossyRelay`. ``produce``: one peer
joins ``ROOM_ID`` and produces video until its standard input closes, for a test that consumes it with a peer
of another make. Each prints one JSON line per step (``{"step": ..., ...}``) on standard output; the test
asserts on them. Failures raise: a traceback and a non-zero exit status.

aiortc gets no ICE servers (its default asks a public STUN server) and, through :func:`loopback_only`, only
127.0.0.1 as its host address (see docs/decisions.md, "aiortc peers in the tests").
"""

from __future__ import annotations

import argparse
import array
import asyncio
import fractions
import json
import math
import sys
import time
from collections.abc import Callable
from typing import Any

import aioice.ice
import av
import socketio
from aiortc import MediaStreamTrack, RTCIceServer
from aiortc.mediastreams import AUDIO_PTIME, VIDEO_CLOCK_RATE, VIDEO_PTIME, MediaStreamError
from pymediasoup import AiortcHandler, Device
from pymediasoup.consumer import Consumer
from pymediasoup.models.transport import DtlsParameters
from pymediasoup.producer import Producer
from pymediasoup.rtp_parameters import RtpCapabilities, RtpParameters
from pymediasoup.transport import Transport

PATH = "/sfu/socket.io/"
WAIT_S = 10.0
WIDTH, HEIGHT = 320, 240
SAMPLE_RATE = 48000
TONE_HZ = 440
NO_ICE_SERVERS: list[RTCIceServer] = []


def loopback_only() -> None:
    """Make aioice gather 127.0.0.1 only.

    aioice has no setting for the interfaces it gathers on, and skips 127.0.0.1 on purpose; aiortc and
    pymediasoup pass nothing through either. Its one host-address lookup is replaced for this process, so
    the candidates are loopback ones and every packet stays on ``lo``, on any machine (one with no other
    interface included).
    """

    def addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
        return ["127.0.0.1"] if use_ipv4 else []

    aioice.ice.get_host_addresses = addresses


def report(step: str, **fields: Any) -> None:
    print(json.dumps({"step": step, **fields}), flush=True)


# --- media sources --------------------------------------------------------------------------------------


class ToneTrack(MediaStreamTrack):
    """A 440 Hz sine, 20 ms frames of 16-bit mono at 48 kHz, paced in real time."""

    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self._samples = int(AUDIO_PTIME * SAMPLE_RATE)
        self._pts = 0
        self._start: float | None = None

    async def recv(self) -> av.AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            self._start = time.monotonic()
        else:
            self._pts += self._samples
            await asyncio.sleep(max(0.0, self._start + self._pts / SAMPLE_RATE - time.monotonic()))
        step = 2 * math.pi * TONE_HZ / SAMPLE_RATE
        pcm = array.array("h", (int(8000 * math.sin(step * (self._pts + i))) for i in range(self._samples)))
        frame = av.AudioFrame(format="s16", layout="mono", samples=self._samples)
        frame.planes[0].update(pcm.tobytes())
        frame.sample_rate, frame.pts = SAMPLE_RATE, self._pts
        frame.time_base = fractions.Fraction(1, SAMPLE_RATE)
        return frame


class PatternTrack(MediaStreamTrack):
    """WIDTH x HEIGHT frames of a moving diagonal gradient at 30 fps, so that encoders have something to encode;
    ``chroma`` (U, V) tints it (grey by default), so that a test can tell two peers apart in a composed picture."""

    kind = "video"
    _RAMP = bytes(i % 256 for i in range(256 + WIDTH))

    def __init__(self, chroma: tuple[int, int] = (128, 128)) -> None:
        super().__init__()
        self.chroma = chroma
        self._pts = 0
        self._start: float | None = None

    async def recv(self) -> av.VideoFrame:
        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            self._start = time.monotonic()
        else:
            self._pts += int(VIDEO_PTIME * VIDEO_CLOCK_RATE)
            await asyncio.sleep(max(0.0, self._start + self._pts / VIDEO_CLOCK_RATE - time.monotonic()))
        frame = av.VideoFrame(WIDTH, HEIGHT, "yuv420p")
        luma, *chroma = frame.planes
        shift = self._pts // 3000  # one step a frame
        rows = (self._RAMP[(y + shift) % 256 :][: luma.line_size].ljust(luma.line_size) for y in range(HEIGHT))
        luma.update(b"".join(rows))
        for plane, value in zip(chroma, self.chroma, strict=True):
            plane.update(bytes([value]) * plane.buffer_size)
        frame.pts, frame.time_base = self._pts, fractions.Fraction(1, VIDEO_CLOCK_RATE)
        return frame


# --- a lossy path ---------------------------------------------------------------------------------------


class LossyRelay:
    """A UDP relay between one peer and the server that drops every ``drop_every``-th RTP packet the server
    sends on SSRC :attr:`drop_ssrc` and counts those on :attr:`rtx_ssrc`.

    SRTP leaves the RTP header in the clear (RFC 3711 §3.1), so SSRC and sequence number are readable here. The
    peer is told the relay's address as the server's candidate; the server sees the relay's other socket as the
    peer (a peer-reflexive address to ICE).
    """

    def __init__(self, server: tuple[str, int], drop_every: int) -> None:
        self.server, self.drop_every = server, drop_every
        self.drop_ssrc: int | None = None
        self.rtx_ssrc: int | None = None
        self.counts = {"forwarded": 0, "dropped": 0, "rtx": 0}
        self._peer: tuple[str, int] | None = None
        self._to_peer: asyncio.DatagramTransport | None = None
        self._to_server: asyncio.DatagramTransport | None = None

    async def start(self) -> tuple[str, int]:
        """Open both sockets; the address to give the peer."""
        loop = asyncio.get_running_loop()
        relay = self

        class FromPeer(asyncio.DatagramProtocol):
            def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
                relay._peer = addr
                if relay._to_server is not None:
                    relay._to_server.sendto(data)

        class FromServer(asyncio.DatagramProtocol):
            def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
                relay._from_server(data)

        self._to_peer, _ = await loop.create_datagram_endpoint(FromPeer, local_addr=("127.0.0.1", 0))
        self._to_server, _ = await loop.create_datagram_endpoint(FromServer, remote_addr=self.server)
        return self._to_peer.get_extra_info("sockname")[:2]

    def _from_server(self, data: bytes) -> None:
        if self._peer is None or self._to_peer is None:
            return
        is_rtp = len(data) >= 12 and 128 <= data[0] <= 191 and not 192 <= data[1] <= 223  # RFC 5761 §4
        ssrc = int.from_bytes(data[8:12], "big") if is_rtp else None
        if ssrc is not None and ssrc == self.rtx_ssrc:
            self.counts["rtx"] += 1
        if ssrc is not None and ssrc == self.drop_ssrc and int.from_bytes(data[2:4], "big") % self.drop_every == 0:
            self.counts["dropped"] += 1
            return
        self.counts["forwarded"] += 1
        self._to_peer.sendto(data, self._peer)

    def close(self) -> None:
        for transport in (self._to_peer, self._to_server):
            if transport is not None:
                transport.close()


# --- one peer: a socket and a mediasoup-client Device ----------------------------------------------------


class SfuError(Exception):
    """The server acked ``{success: false, error}``."""


class Peer:
    """A mediasoup-client style peer: python-socketio's AsyncClient for signalling, pymediasoup for media."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.sio = socketio.AsyncClient(reconnection=False)
        self.events: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        self.sio.on("*", self._on_event)
        self.device = Device(handlerFactory=AiortcHandler.createFactory(tracks=[]))
        self.send_transport: Transport | None = None
        self.recv_transport: Transport | None = None
        self.recv_relay: LossyRelay | None = None  # set before consuming: receive through it

    async def _on_event(self, event: str, *args: Any) -> None:
        await self.events.put((event, args[0] if len(args) == 1 else args))

    async def call(self, event: str, payload: Any = None) -> Any:
        ack = await self.sio.call(event, payload if payload is not None else {}, timeout=WAIT_S)
        if isinstance(ack, dict) and ack.get("success") is False:
            raise SfuError(f"{event}: {ack['error']}")
        return ack

    async def next_event(self, name: str, timeout_s: float = WAIT_S) -> Any:
        async with asyncio.timeout(timeout_s):
            while True:
                event, data = await self.events.get()
                if event == name:
                    return data

    async def connect(self, url: str, token: str | None = None) -> None:
        await self.sio.connect(url, socketio_path=PATH, transports=["websocket"], wait_timeout=WAIT_S,
                               auth={"token": token} if token else None)  # fmt: skip

    async def join(self, room_id: str) -> None:
        await self.call("join", {"room_id": room_id, "name": self.name})
        caps = await self.call("getRouterRtpCapabilities")
        await self.device.load(RtpCapabilities(**caps))

    async def _transport(self, create: Callable[..., Transport], relay: LossyRelay | None = None) -> Transport:
        info = await self.call("createWebRtcTransport")
        candidates = info["iceCandidates"]
        if relay is not None:
            relay.server = (candidates[0]["ip"], candidates[0]["port"])
            ip, port = await relay.start()
            candidates = [{**candidates[0], "ip": ip, "address": ip, "port": port}]
        transport = create(
            id=info["id"],
            iceParameters=info["iceParameters"],
            iceCandidates=candidates,
            dtlsParameters=info["dtlsParameters"],
            sctpParameters=None,
            iceServers=NO_ICE_SERVERS,
        )

        @transport.on("connect")
        async def on_connect(dtls: DtlsParameters) -> None:
            report("connect", peer=self.name, transport=transport.direction, dtlsRole=dtls.role)
            await self.call("connectTransport", {"transportId": transport.id, "dtlsParameters": dtls.model_dump()})

        return transport

    async def produce(self, track: MediaStreamTrack, mime_type: str | None = None) -> Producer:
        if self.send_transport is None:
            self.send_transport = await self._transport(self.device.createSendTransport)
            send_id = self.send_transport.id

            @self.send_transport.on("produce")
            async def on_produce(kind: str, rtp_parameters: RtpParameters, app_data: dict[str, Any]) -> str:
                body = {"kind": kind, "rtpParameters": rtp_parameters.model_dump(exclude_none=True),
                        "producerTransportId": send_id, "appData": app_data}  # fmt: skip
                return (await self.call("produce", body))["id"]

        codec = None
        if mime_type is not None:
            caps = self.device.rtpCapabilities
            codec = next(c for c in caps.codecs if c.mimeType.lower() == mime_type.lower())
        return await self.send_transport.produce(track=track, codec=codec, appData={"type": "camera"})

    async def consume(self, producer_id: str) -> Consumer:
        """Consume and resume (the server starts consumers paused)."""
        if self.recv_transport is None:
            self.recv_transport = await self._transport(self.device.createRecvTransport, self.recv_relay)
        caps = self.device.rtpCapabilities.model_dump(exclude_none=True)
        body = {"consumerTransportId": self.recv_transport.id, "producerId": producer_id, "rtpCapabilities": caps}
        info = await self.call("consume", body)
        kind = info["kind"]
        consumer = await self.recv_transport.consume(
            id=info["id"], producerId=info["producerId"], kind=kind,
            rtpParameters=RtpParameters(**info["rtpParameters"]),
        )  # fmt: skip
        if self.recv_relay is not None and kind == "video":
            encoding = consumer.rtpParameters.encodings[0]
            self.recv_relay.drop_ssrc = encoding.ssrc
            self.recv_relay.rtx_ssrc = encoding.rtx.ssrc if encoding.rtx is not None else None
        await self.call("resume", {"consumerId": consumer.id})
        return consumer

    async def close(self) -> None:
        for transport in (self.send_transport, self.recv_transport):
            if transport is not None:
                await transport.close()
        if self.recv_relay is not None:
            self.recv_relay.close()
        await self.sio.disconnect()


# --- scenarios ------------------------------------------------------------------------------------------


async def inbound_stats(consumer: Consumer) -> dict[str, Any]:
    """The receiver's inbound-rtp stats of the consumer's media SSRC (not its RTX one) as plain values."""
    ssrc = consumer.rtpParameters.encodings[0].ssrc
    for stats_report in await consumer.getStats():  # one RTCStatsReport per handler
        for stats in stats_report.values():
            if stats.type == "inbound-rtp" and stats.ssrc == ssrc:
                return {"packetsReceived": stats.packetsReceived, "packetsLost": stats.packetsLost,
                        "jitter": stats.jitter, "ssrc": stats.ssrc}  # fmt: skip
    return {}


async def count_frames(track: MediaStreamTrack, until: int, timeout_s: float) -> dict[str, Any]:
    """Pull decoded frames from a received track until ``until`` frames or the deadline."""
    seen: dict[str, Any] = {"frames": 0, "sizes": [], "sampleRates": [], "first_after_s": None}
    start = time.monotonic()
    try:
        async with asyncio.timeout(timeout_s):
            while seen["frames"] < until:
                frame = await track.recv()
                if seen["first_after_s"] is None:
                    seen["first_after_s"] = round(time.monotonic() - start, 3)
                seen["frames"] += 1
                if isinstance(frame, av.VideoFrame):
                    if [frame.width, frame.height] not in seen["sizes"]:
                        seen["sizes"].append([frame.width, frame.height])
                elif frame.sample_rate not in seen["sampleRates"]:
                    seen["sampleRates"].append(frame.sample_rate)
    except TimeoutError:
        pass
    return seen


async def forward(url: str, video_codec: str, consume_delay_s: float, drop_every: int) -> None:
    """A produces tone and pattern; B consumes both (``consume_delay_s`` later) and counts decoded frames; A closes
    its video producer; B sees it end. With ``drop_every``, B receives through a :class:`LossyRelay`."""
    a, b = Peer("A"), Peer("B")
    if drop_every:
        b.recv_relay = LossyRelay(("127.0.0.1", 0), drop_every)
    try:
        await a.connect(url)
        await b.connect(url)
        room_id = (await a.call("createRoom"))["room_id"]
        await a.join(room_id)
        await b.join(room_id)
        audio = await a.produce(ToneTrack())
        video = await a.produce(PatternTrack(), f"video/{video_codec}")
        report("produced", audio=audio.rtpParameters.codecs[0].mimeType, video=video.rtpParameters.codecs[0].mimeType,
               videoId=video.id, peerId=a.sio.get_sid())  # fmt: skip
        announced = {(await b.next_event("newProducer"))["producerId"] for _ in range(2)}
        assert announced == {audio.id, video.id}, announced
        await asyncio.sleep(consume_delay_s)
        consumers = {c.kind: c for c in [await b.consume(audio.id), await b.consume(video.id)]}
        report("consumed", video=consumers["video"].rtpParameters.codecs[0].mimeType,
               videoSsrc=consumers["video"].rtpParameters.encodings[0].ssrc,
               audioSsrc=consumers["audio"].rtpParameters.encodings[0].ssrc)  # fmt: skip
        video_seen, audio_seen = await asyncio.gather(
            count_frames(consumers["video"].track, 30, 15), count_frames(consumers["audio"].track, 50, 15)
        )
        report("frames", video=video_seen, audio=audio_seen, videoStats=await inbound_stats(consumers["video"]),
               audioStats=await inbound_stats(consumers["audio"]),
               relay=b.recv_relay.counts if b.recv_relay is not None else None)  # fmt: skip
        await producer_closed(a, b, video, consumers["video"])
    finally:
        await b.close()
        await a.close()


async def producer_closed(a: Peer, b: Peer, video: Producer, consumer: Consumer) -> None:
    """A closes its video producer: B is told, the server forgets B's consumer, and no more video arrives."""
    await a.call("producerClosed", {"producerId": video.id})
    await video.close()
    event = await b.next_event("producerClosed")
    await asyncio.sleep(0.5)  # packets in flight when the producer closed
    before = (await inbound_stats(consumer)).get("packetsReceived", 0)
    await asyncio.sleep(1.0)
    after = (await inbound_stats(consumer)).get("packetsReceived", 0)
    try:
        await b.call("resume", {"consumerId": consumer.id})
        resumed = "ok"
    except SfuError as exc:
        resumed = str(exc)
    await consumer.close()
    report("producerClosed", event=event, packetsBefore=before, packetsAfter=after, resumeAfterClose=resumed)


async def produce_only(url: str, room_id: str, token: str | None = None, audio: bool = False,
                       chroma: tuple[int, int] = (128, 128)) -> None:  # fmt: skip
    """Produce the pattern (tinted by ``chroma``) as VP8 (and with ``audio`` the tone as Opus) in ``room_id``
    until standard input closes; ``token``: a RealtimeKit participant token to connect with."""
    peer = Peer("aiortc")
    try:
        await peer.connect(url, token)
        await peer.join(room_id)
        video = await peer.produce(PatternTrack(chroma), "video/VP8")
        if audio:
            await peer.produce(ToneTrack())
        report("produced", producerId=video.id, peerId=peer.sio.get_sid())
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    finally:
        await peer.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    sub = parser.add_subparsers(dest="scenario", required=True)
    forward_args = sub.add_parser("forward")
    forward_args.add_argument("--video-codec", choices=["VP8", "H264"], default="VP8")
    forward_args.add_argument("--consume-delay", type=float, default=0.0, help="seconds B waits before consuming")
    forward_args.add_argument("--drop-every", type=int, default=0, help="drop every Nth video packet to B")
    produce_args = sub.add_parser("produce")
    produce_args.add_argument("--room", required=True)
    produce_args.add_argument("--token", help="a RealtimeKit participant token")
    produce_args.add_argument("--audio", action="store_true", help="also produce the tone as Opus")
    produce_args.add_argument("--chroma", default="128,128", help="U,V of the pattern (a tint)")
    args = parser.parse_args(argv)
    loopback_only()
    if args.scenario == "forward":
        asyncio.run(forward(args.url, args.video_codec, args.consume_delay, args.drop_every))
    else:
        u, v = (int(n) for n in args.chroma.split(","))
        asyncio.run(produce_only(args.url, args.room, args.token, args.audio, (u, v)))


if __name__ == "__main__":
    main()
