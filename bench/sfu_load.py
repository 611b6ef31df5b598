"""Load generator processes for bench/sfu.py: many BenchPeers on real UDP sockets, driven over a Pipe.

A worker is pinned to the load core and obeys commands from the orchestrator (one at a time, each answered):

* ``("create", {"count": n, "host": ip})``: n peers, each with its own UDP socket; answers what signalling needs
  (ufrag, password, fingerprint, host, port) per peer.
* ``("start", [(index, remote_dict, ssrc_or_None, payload_type), ...])``: the far side of each peer; a peer given
  an SSRC publishes.
* ``("connect", timeout_s)``: ICE + DTLS for every started peer; answers how many connected.
* ``("run", RunSpec dict)``: publishers send pre-made RTP (an 1100-byte VP8-like payload carrying the send time,
  protected by SRTP) at a steady rate; every peer drains its socket, answers STUN, sends consent checks, counts
  media by size and decrypts every Nth packet to measure latency. Answers the window's counts.
* ``("close", None)``: close every peer's socket. ``("exit", None)``: end the process.

Clocks: ``time.monotonic_ns`` (CLOCK_MONOTONIC, shared by every process on the machine).
"""

from __future__ import annotations

import contextlib
import os
import resource
import select
import socket
import struct
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

from sfu_peer import BenchPeer, Remote

from altegon_rt.rtc.dtls import DtlsRole

MAGIC = b"ALTGBNCH"
PAYLOAD_SIZE = 1100  # a VP8 packet of a ~1 Mbit/s stream: ~110 of these a second
CONSENT_S = 2.0  # our checks double as consent refresh (RFC 7675): well inside every server's timeout
RCVBUF = 4 * 1024 * 1024
_STAMP = struct.Struct("!8sQI")  # magic, send time (ns), publisher index
_RTP = struct.Struct("!BBHII")


@dataclass
class Slot:
    peer: BenchPeer
    sock: socket.socket
    ssrc: int | None = None
    payload_type: int = 96
    seq: int = 0
    template: bytearray = field(default_factory=bytearray)
    next_consent: float = 0.0

    @property
    def remote(self) -> tuple[str, int]:
        assert self.peer.remote is not None
        return self.peer.remote.address

    def send(self, datagrams: list[bytes]) -> None:
        for data in datagrams:
            with contextlib.suppress(OSError):  # the far side went away; the counts will show it
                self.sock.sendto(data, self.remote)


def _socket(host: str) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, 33, RCVBUF)  # SO_RCVBUFFORCE (root): above net.core.rmem_max
    except OSError:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF)
    sock.bind((host, 0))
    sock.setblocking(False)
    return sock


def _payload(index: int) -> bytearray:
    """A VP8 payload: descriptor (S=1, partition 0), an inter-frame header, our stamp, filler."""
    body = bytearray(b"\x10\x01\x00\x00")
    body += _STAMP.pack(MAGIC, 0, index)
    body += bytes(range(256)) * 5
    return body[:PAYLOAD_SIZE]


class Worker:
    def __init__(self) -> None:
        self.slots: list[Slot] = []
        self.buf = bytearray(65536)

    # --- setup ------------------------------------------------------------------------------------------

    def create(self, arg: dict[str, Any]) -> list[dict[str, Any]]:
        made = []
        for _ in range(arg["count"]):
            sock = _socket(arg["host"])
            peer = BenchPeer()
            self.slots.append(Slot(peer, sock))
            port = sock.getsockname()[1]
            made.append({"index": len(self.slots) - 1, "ufrag": peer.ufrag, "password": peer.password,
                         "fingerprint": peer.fingerprint, "host": arg["host"], "port": port})  # fmt: skip
        return made

    def start(self, arg: list[tuple[int, dict[str, Any], int | None, int]]) -> None:
        for index, remote, ssrc, payload_type in arg:
            slot = self.slots[index]
            slot.peer.start(Remote(remote["ufrag"], remote["password"], remote["fingerprint"],
                                   (remote["ip"], remote["port"]), DtlsRole(remote["dtls_role"]),
                                   remote["controlling"]))  # fmt: skip
            slot.ssrc, slot.payload_type = ssrc, payload_type
            if ssrc is not None:
                header = _RTP.pack(0x80, payload_type, 0, 0, ssrc)
                slot.template = bytearray(header) + _payload(index)

    def _started(self) -> list[Slot]:
        return [s for s in self.slots if s.peer.remote is not None]

    def connect(self, timeout_s: float) -> dict[str, Any]:
        """ICE then DTLS for every started peer, all at once, until connected or ``timeout_s``."""
        slots = self._started()
        poller, by_fd = self._poller(slots)
        deadline = time.monotonic() + timeout_s
        next_check = {id(s): 0.0 for s in slots}
        while time.monotonic() < deadline:
            pending = [s for s in slots if not s.peer.connected and not s.peer.failed]
            if not pending:
                break
            now = time.monotonic()
            for slot in pending:
                if now >= next_check[id(slot)] and not (slot.peer.ice_ok and slot.peer.remote.controlling):  # type: ignore[union-attr]
                    slot.send([slot.peer.binding_request()])
                    next_check[id(slot)] = now + 0.2
                if slot.peer.ice_ready:
                    slot.send(slot.peer.start_dtls())
                slot.send(slot.peer.dtls_timeout())
            for fd, _ in poller.poll(0.02):
                self._drain_setup(by_fd[fd])
        poller.close()
        connected = sum(s.peer.connected for s in slots)
        profiles = sorted({s.peer.profile for s in slots if s.peer.profile})
        states = {}
        for s in slots:
            if not s.peer.connected:
                dtls = s.peer.dtls.state.name if s.peer.dtls else None
                key = f"ice_ok={s.peer.ice_ok} checked={s.peer.checked} dtls={dtls}"
                states[key] = states.get(key, 0) + 1
        return {"connected": connected, "of": len(slots), "unconnected": states, "profiles": profiles}

    def _poller(self, slots: list[Slot]) -> tuple[select.epoll, dict[int, Slot]]:
        poller = select.epoll()
        by_fd = {}
        for slot in slots:
            poller.register(slot.sock.fileno(), select.EPOLLIN)
            by_fd[slot.sock.fileno()] = slot
        return poller, by_fd

    def _drain_setup(self, slot: Slot) -> None:
        while True:
            try:
                data = slot.sock.recv(65536)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            if data and 128 <= data[0] <= 191:
                continue  # early media or RTCP
            slot.send(slot.peer.receive(data, slot.remote))

    # --- the measured run --------------------------------------------------------------------------------

    def run(self, spec: dict[str, Any]) -> dict[str, Any]:
        return Run(self._started(), spec, self.buf).loop()

    def close(self) -> None:
        for slot in self.slots:
            slot.sock.close()
        self.slots = []


class Run:
    """One bounded load run: [t_start, t_measure) warms up, [t_measure, t_end) is counted."""

    def __init__(self, slots: list[Slot], spec: dict[str, Any], buf: bytearray) -> None:
        self.slots = slots
        self.publishers = [s for s in slots if s.ssrc is not None and s.peer.connected]
        self.t_start, self.t_measure, self.t_end = spec["t_start"], spec["t_measure"], spec["t_end"]
        self.interval = 1.0 / (spec["pps"] * len(self.publishers)) if self.publishers else 0.0
        self.sample_every = max(1, int(spec["sample_every"]))
        self.buf = buf
        self.view = memoryview(buf)
        self.measuring = False
        self.counter = 0
        self.stats: dict[str, Any] = {"sent": 0, "received": 0, "bytes": 0, "rtcp": 0, "other": 0, "bad": 0,
                                      "decrypt_errors": 0, "late_sends": 0, "latencies_us": []}  # fmt: skip

    def loop(self) -> dict[str, Any]:
        poller = select.epoll()
        by_fd = {}
        for slot in self.slots:
            poller.register(slot.sock.fileno(), select.EPOLLIN)
            by_fd[slot.sock.fileno()] = slot
            slot.next_consent = self.t_start + CONSENT_S * (len(by_fd) / len(self.slots))
        next_send = self.t_start
        turn = 0
        cpu_at_measure = 0.0
        now = time.monotonic()
        while now < self.t_end:
            if not self.measuring and now >= self.t_measure:
                self.measuring = True
                cpu_at_measure = _cpu_self()
            wait = min(max(next_send - now, 0.0), 0.005) if self.publishers else 0.01
            for fd, _ in poller.poll(wait):
                self._drain(by_fd[fd])
            now = time.monotonic()
            if self.publishers and now >= next_send:
                if now - next_send > 0.1:
                    self.stats["late_sends"] += 1
                    next_send = now
                while next_send <= now:
                    self._send_media(self.publishers[turn])
                    turn = (turn + 1) % len(self.publishers)
                    next_send += self.interval
            self._consent(now)
        self.stats["cpu_s"] = _cpu_self() - cpu_at_measure
        self.stats["window_s"] = self.t_end - self.t_measure
        poller.close()
        return self.stats

    def _consent(self, now: float) -> None:
        for slot in self.slots:
            if now >= slot.next_consent:
                slot.send([slot.peer.binding_request()])
                slot.next_consent = now + CONSENT_S

    def _send_media(self, slot: Slot) -> None:
        slot.seq = (slot.seq + 1) & 0xFFFF
        sent_ns = time.monotonic_ns()
        packet = slot.template
        struct.pack_into("!HI", packet, 2, slot.seq, (sent_ns * 9 // 100_000) & 0xFFFFFFFF)  # 90 kHz
        struct.pack_into("!Q", packet, 12 + 4 + 8, sent_ns)
        assert slot.peer.srtp_out is not None
        slot.send([slot.peer.srtp_out.protect(bytes(packet))])
        if self.measuring:
            self.stats["sent"] += 1

    def _drain(self, slot: Slot) -> None:
        sock, buf, stats = slot.sock, self.buf, self.stats
        while True:
            try:
                n = sock.recv_into(buf)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            if 128 <= buf[0] <= 191:
                if 192 <= buf[1] <= 223:
                    stats["rtcp"] += 1
                    continue
                if not self.measuring:
                    continue
                stats["received"] += 1
                stats["bytes"] += n
                self.counter += 1
                if self.counter % self.sample_every == 0:
                    self._sample(slot, bytes(self.view[:n]), time.monotonic_ns())
                continue
            stats["other"] += 1
            slot.send(slot.peer.receive(bytes(self.view[:n]), slot.remote))

    def _sample(self, slot: Slot, data: bytes, received_ns: int) -> None:
        try:
            assert slot.peer.srtp_in is not None
            plain = slot.peer.srtp_in.unprotect(data)
        except Exception:  # pylibsrtp raises its own errors; count them
            self.stats["decrypt_errors"] += 1
            return
        at = plain.find(MAGIC, 12, 12 + 256)
        if at < 0:
            self.stats["bad"] += 1
            return
        _, sent_ns, _ = _STAMP.unpack_from(plain, at)
        self.stats["latencies_us"].append((received_ns - sent_ns) / 1000)


def _cpu_self() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def serve(conn: Connection, cpu: int | None) -> None:
    """The worker process's main: obey ``conn`` until ``exit``."""
    if cpu is not None:
        os.sched_setaffinity(0, {cpu})
    worker = Worker()
    handlers = {"create": worker.create, "start": worker.start, "connect": worker.connect, "run": worker.run}
    while True:
        command, arg = conn.recv()
        try:
            if command == "exit":
                worker.close()
                conn.send(("ok", None))
                return
            if command == "close":
                worker.close()
                conn.send(("ok", None))
                continue
            conn.send(("ok", handlers[command](arg)))
        except Exception as exc:  # report to the orchestrator, which stops the run
            import traceback

            conn.send(("error", f"{command}: {exc!r}\n{traceback.format_exc()}"))
