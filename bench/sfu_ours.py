"""Our SFU's half of bench/sfu.py: the real ``altegon-rt serve`` and its mediasoup-style signalling.

Every publisher and subscriber is one python-socketio client on ``/sfu/socket.io/`` (docs/sfu-protocol.md):
createRoom/join, createWebRtcTransport, connectTransport (we are the DTLS client, as browsers usually are),
produce a VP8 stream, consume + resume. A room holds at most 200 peers, so a scenario of R rooms has R
publishers each with its own subscribers. The media goes through the load workers (bench/sfu_load.py).
"""

from __future__ import annotations

import os
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import socketio
from sfu_pool import Pool, Scenario

from altegon_rt.testing.process import ServerProcess

PATH = "/sfu/socket.io/"
WAIT_S = 30
SIGNAL_THREADS = 16
ROOT = Path(__file__).resolve().parent.parent

# What a VP8 camera without simulcast produces (mediasoup-client's shape), without RTX: the bench never loses.
FEEDBACK = [{"type": "goog-remb"}, {"type": "transport-cc"}, {"type": "ccm", "parameter": "fir"},
            {"type": "nack"}, {"type": "nack", "parameter": "pli"}]  # fmt: skip


VP8 = {"mimeType": "video/VP8", "payloadType": 96, "clockRate": 90000, "parameters": {}, "rtcpFeedback": FEEDBACK}


def rtp_parameters(ssrc: int) -> dict[str, Any]:
    return {
        "mid": "0",
        "codecs": [VP8],
        "headerExtensions": [],
        "encodings": [{"ssrc": ssrc, "dtx": False, "maxBitrate": 1_500_000}],
        "rtcp": {"cname": f"bench{ssrc}", "reducedSize": True},
    }


class Client:
    """One signalling connection (python-socketio, threaded)."""

    def __init__(self, url: str) -> None:
        self.sio = socketio.Client(reconnection=False)
        self.sio.connect(url, socketio_path=PATH, transports=["websocket"], wait_timeout=WAIT_S)

    def call(self, event: str, payload: Any = None) -> Any:
        ack = self.sio.call(event, payload, timeout=WAIT_S)
        if isinstance(ack, dict) and ack.get("success") is False:
            raise RuntimeError(f"{event}: {ack['error']}")
        return ack

    def close(self) -> None:
        self.sio.disconnect()


class OursSide:
    name = "ours"

    def __init__(self, server_cpu: int | None, load_cpu: int | None) -> None:
        self.tmp = tempfile.TemporaryDirectory(prefix="sfu-bench-")
        env = {"PYTHONPATH": str(ROOT)}
        if server_cpu is not None:
            os.sched_setaffinity(0, {server_cpu})  # the child inherits it, every thread included
        try:
            self.server = ServerProcess(Path(self.tmp.name), env=env)
        finally:
            if load_cpu is not None:
                os.sched_setaffinity(0, {load_cpu})
        self.pool = ThreadPoolExecutor(SIGNAL_THREADS)
        self.clients: list[Client] = []

    @property
    def pids(self) -> list[int]:
        return [self.server.proc.pid]

    def _connect(self, count: int) -> list[Client]:
        made = list(self.pool.map(lambda _: Client(self.server.url), range(count)))
        self.clients += made
        return made

    def setup(self, scenario: Scenario, pool: Pool) -> None:
        """Rooms with a connected publisher each and connected, resumed subscribers; media not yet sent."""
        publishers = self._connect(scenario.rooms)
        subscribers = self._connect(scenario.rooms * scenario.subscribers)
        rooms = [p.call("createRoom")["room_id"] for p in publishers]
        groups = [subscribers[i * scenario.subscribers : (i + 1) * scenario.subscribers] for i in range(len(rooms))]
        for room_id, publisher, group in zip(rooms, publishers, groups, strict=True):
            publisher.call("join", {"room_id": room_id, "name": "pub"})
            list(self.pool.map(lambda c, r=room_id: c.call("join", {"room_id": r, "name": "sub"}), group))
        send = list(self.pool.map(lambda c: c.call("createWebRtcTransport"), publishers))
        recv = list(self.pool.map(lambda c: c.call("createWebRtcTransport"), subscribers))
        pub_locals = pool.create_publishers(len(publishers), "127.0.0.1")
        sub_locals = pool.create_subscribers(len(subscribers), "127.0.0.1")
        pairs = list(zip(publishers + subscribers, send + recv, pub_locals + sub_locals, strict=True))

        def connect_transport(pair: tuple[Client, dict[str, Any], dict[str, Any]]) -> None:
            client, transport, local = pair
            dtls = {"role": "client", "fingerprints": [{"algorithm": "sha-256", "value": local["fingerprint"]}]}
            client.call("connectTransport", {"transportId": transport["id"], "dtlsParameters": dtls})

        list(self.pool.map(connect_transport, pairs))
        ssrcs = [0x1000 + i for i in range(len(publishers))]
        pool.start([(loc, _remote(t), s, 96) for loc, t, s in zip(pub_locals, send, ssrcs, strict=True)])
        pool.start([(loc, _remote(t), None, 0) for loc, t in zip(sub_locals, recv, strict=True)])
        pool.connect()
        producers = []
        for client, transport, ssrc in zip(publishers, send, ssrcs, strict=True):
            body = {"kind": "video", "rtpParameters": rtp_parameters(ssrc), "producerTransportId": transport["id"]}
            producers.append(client.call("produce", body)["id"])
        caps = publishers[0].call("getRouterRtpCapabilities")

        def consume(item: tuple[Client, dict[str, Any], str]) -> None:
            client, transport, producer_id = item
            body = {"consumerTransportId": transport["id"], "producerId": producer_id, "rtpCapabilities": caps}
            consumer = client.call("consume", body)
            client.call("resume", {"consumerId": consumer["id"]})

        per_room = scenario.subscribers
        items = [(c, t, producers[i // per_room]) for i, (c, t) in enumerate(zip(subscribers, recv, strict=True))]
        list(self.pool.map(consume, items))

    def teardown(self) -> None:
        list(self.pool.map(lambda c: c.close(), self.clients))
        self.clients = []

    def stop(self) -> None:
        self.teardown()
        self.pool.shutdown()
        self.server.terminate()
        self.tmp.cleanup()


def _remote(transport: dict[str, Any]) -> dict[str, Any]:
    candidate, ice = transport["iceCandidates"][0], transport["iceParameters"]
    fingerprint = next(f["value"] for f in transport["dtlsParameters"]["fingerprints"] if f["algorithm"] == "sha-256")
    return {"ufrag": ice["usernameFragment"], "password": ice["password"], "fingerprint": fingerprint,
            "ip": candidate["ip"], "port": candidate["port"], "dtls_role": "client", "controlling": True}  # fmt: skip
