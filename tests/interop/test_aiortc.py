"""aiortc with pymediasoup (an independent WebRTC stack and mediasoup-client port) against the real server: audio
and video through the SFU with decoded frames counted on the far side, both DTLS roles, key frames for a late
consumer, the end of a closed producer; and aiortc as the producer for a consumer built from our own rtc cores.

The aiortc side runs in its own process (asyncio; ``tests/interop/aiortc_peer.py``) and reports JSON lines.
"""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import av
import pytest

from altegon_rt.rtc.rtp import RtpPacket
from altegon_rt.testing.process import ServerProcess
from tests.interop.aiortc_peer import HEIGHT, WIDTH
from tests.realtime.test_sfu_socket import WAIT, UdpPeer, room

ROOT = Path(__file__).resolve().parents[2]
PEER_TIMEOUT_S = 90  # two aiortc peers on a busy 2-core machine: normally 6 s


def peer_command(url: str, *args: str) -> list[str]:
    return [sys.executable, "-m", "tests.interop.aiortc_peer", url, *args]


def run_scenario(url: str, *args: str) -> dict[str, dict[str, Any]]:
    """Run one aiortc scenario to its end; its reports by step."""
    done = subprocess.run(
        peer_command(url, *args), cwd=ROOT, capture_output=True, text=True, timeout=PEER_TIMEOUT_S, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    steps: dict[str, dict[str, Any]] = {}
    for line in done.stdout.splitlines():
        report = json.loads(line)
        steps.setdefault(report["step"], report)
        steps[f"{report['step']}:{report.get('peer')}:{report.get('transport')}"] = report
    return steps


@pytest.mark.parametrize(("codec", "drop_every"), [("VP8", 0), ("H264", 0), ("VP8", 10)])
def test_aiortc_peers_send_and_receive_audio_and_video_through_the_sfu(
    server: ServerProcess, codec: str, drop_every: int
) -> None:
    """With ``drop_every``, B receives through a relay that drops every 10th video packet: B's NACKs must be
    answered with RTX retransmissions."""
    args = ["--video-codec", codec, "--consume-delay", "2", "--drop-every", str(drop_every)]
    steps = run_scenario(server.url, "forward", *args)
    # aiortc asks to be the DTLS server when it sends (we are the client) and the client when it receives.
    assert steps["connect:A:send"]["dtlsRole"] == "server"
    assert steps["connect:B:recv"]["dtlsRole"] == "client"
    assert steps["produced"]["audio"] == "audio/opus" and steps["produced"]["video"] == f"video/{codec}"
    assert steps["consumed"]["video"] == f"video/{codec}"
    frames = steps["frames"]
    video, audio = frames["video"], frames["audio"]
    assert video["frames"] == 30 and video["sizes"] == [[WIDTH, HEIGHT]], frames
    assert audio["frames"] == 50 and audio["sampleRates"] == [48000], frames
    # B consumed 2 s after A started: without the key frame asked for on resume its decoder would wait for one.
    assert video["first_after_s"] < 1.0, frames
    # aiortc gives a receiver's RTX stream the same stats id as its media stream, so with RTX the media one's
    # inbound-rtp stats are overwritten: checked on the lossless runs only.
    for kind in ("audio",) if drop_every else ("video", "audio"):
        stats = frames[f"{kind}Stats"]
        assert stats["ssrc"] == steps["consumed"][f"{kind}Ssrc"] and stats["packetsReceived"] >= 25, frames
    if drop_every:
        relay = frames["relay"]
        assert relay["dropped"] >= 3 and relay["rtx"] >= relay["dropped"] // 2, relay
    closed = steps["producerClosed"]
    assert closed["event"] == {"producerId": steps["produced"]["videoId"], "peerId": steps["produced"]["peerId"]}
    assert closed["packetsAfter"] == closed["packetsBefore"], closed  # no video after the producer closed
    assert "not_found" in closed["resumeAfterClose"]


@contextmanager
def aiortc_producer(url: str, room_id: str, *extra: str) -> Iterator[dict[str, Any]]:
    """An aiortc peer producing VP8 in ``room_id`` until the block ends; its ``produced`` report. ``extra``:
    more arguments of ``aiortc_peer produce`` (``--token``, ``--audio``)."""
    proc = subprocess.Popen(
        peer_command(url, "produce", "--room", room_id, *extra), cwd=ROOT, text=True,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    lines: queue.Queue[str] = queue.Queue()
    assert proc.stdout is not None and proc.stdin is not None
    stdout = proc.stdout

    def read_lines() -> None:
        for line in stdout:
            lines.put(line)

    threading.Thread(target=read_lines, daemon=True).start()
    try:
        report: dict[str, Any] = {}
        deadline = time.monotonic() + PEER_TIMEOUT_S
        while report.get("step") != "produced":
            try:
                report = json.loads(lines.get(timeout=max(0.0, deadline - time.monotonic())))
            except queue.Empty:
                proc.kill()
                raise AssertionError("the aiortc producer did not start: " + proc.communicate()[1]) from None
        yield report
    finally:
        proc.stdin.close()  # the peer leaves when its standard input closes
        try:
            status = proc.wait(WAIT)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
        assert status == 0, proc.communicate()[1]


class Vp8Frames:
    """Reassembles VP8 frames from RTP (RFC 7741 payload descriptor) and decodes them with PyAV's libvpx."""

    def __init__(self) -> None:
        self.decoder = av.CodecContext.create("vp8", "r")
        self.sizes: list[tuple[int, int]] = []
        self.undecodable = 0
        self._parts: list[bytes] | None = None  # None: waiting for the start of a frame

    def add(self, packet: RtpPacket) -> None:
        payload = packet.payload
        skip = 1
        if payload[0] & 0x80:  # X: an extension byte follows, saying which optional fields do
            ext = payload[1]
            skip = 2
            if ext & 0x80:  # I: picture id, 7 or 15 bits
                skip += 2 if payload[2] & 0x80 else 1
            skip += (1 if ext & 0x40 else 0) + (1 if ext & 0x30 else 0)  # L: TL0PICIDX; T/K: TID/KEYIDX
        if payload[0] & 0x17 == 0x10:  # S set and partition 0: a frame starts
            self._parts = []
        if self._parts is None:
            return
        self._parts.append(payload[skip:])
        if packet.marker:
            try:
                frames = self.decoder.decode(av.Packet(b"".join(self._parts)))
            except av.error.FFmpegError:
                self.undecodable += 1  # an inter frame before the first key frame
                frames = []
            self.sizes += [(frame.width, frame.height) for frame in frames]
            self._parts = None


def test_aiortc_produces_for_a_consumer_built_from_our_rtc_cores(server: ServerProcess) -> None:
    with room(server.url, 1) as (room_id, (bob,)), aiortc_producer(server.url, room_id) as produced:
        announced = bob.next("newProducer")
        assert announced["producerId"] == produced["producerId"] and announced["kind"] == "video"
        recv = bob.call("createWebRtcTransport")
        peer = UdpPeer(recv)
        try:
            bob.call("connectTransport", {"transportId": recv["id"], "dtlsParameters": peer.peer.dtls_parameters})
            peer.connect()
            caps = bob.call("getRouterRtpCapabilities")
            body = {"consumerTransportId": recv["id"], "producerId": produced["producerId"], "rtpCapabilities": caps}
            consumed = bob.call("consume", body)
            vp8_pt = consumed["rtpParameters"]["codecs"][0]["payloadType"]
            ssrc = consumed["rtpParameters"]["encodings"][0]["ssrc"]
            assert bob.call("resume", {"consumerId": consumed["id"]}) == {}
            frames = Vp8Frames()
            deadline = time.monotonic() + WAIT
            while len(frames.sizes) < 20 and time.monotonic() < deadline:
                peer.pump(0.05)
                for data in peer.peer.received_rtp:
                    packet = RtpPacket.parse(data)
                    assert packet.ssrc == ssrc, packet
                    if packet.payload_type == vp8_pt:
                        frames.add(packet)
                peer.peer.received_rtp.clear()
            assert len(frames.sizes) >= 20 and set(frames.sizes) == {(WIDTH, HEIGHT)}, frames.sizes
        finally:
            peer.close()
