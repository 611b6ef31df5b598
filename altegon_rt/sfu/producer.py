"""Producer (mediasoup's): one media stream a peer sends, mapped onto the router's payload types and SSRC.

Taps (:mod:`altegon_rt.sfu.tap`) get every forwarded packet after the consumers, in-process.

Incoming packets are rewritten once into the router's form (mapped payload type) and kept in a ring of the
last :data:`BUFFER_SIZE` packets, indexed by sequence number, so that a consumer's NACK is answered from here
without asking the sender (RFC 4585 §6.2.1). Each consumer then rewrites SSRC, sequence number and timestamp
in place and sends; the ring keeps the payload, and whoever uses an entry rewrites the whole header first.

RTX from the sender (RFC 4588) is unwrapped and treated as a late original: forwarded once, if the ring does
not already hold that sequence number. Key frame requests (PLI, RFC 4585 §6.3.1) are rate-limited to one per
:data:`KEY_FRAME_INTERVAL_S`, since every consumer that joins or resumes asks for one.
"""

from __future__ import annotations

import collections
import uuid
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, NewType

from altegon_rt.rtc import ortc
from altegon_rt.rtc.errors import ProtocolError
from altegon_rt.rtc.rtcp import Pli
from altegon_rt.rtc.rtp import RtpPacket, read_seq, read_timestamp, remap_extension_ids, rtx_unwrap
from altegon_rt.sfu.observer import Observer
from altegon_rt.sfu.reports import ReceptionStats

if TYPE_CHECKING:
    from altegon_rt.sfu.consumer import Consumer, ConsumerId
    from altegon_rt.sfu.tap import Tap

ProducerId = NewType("ProducerId", str)

BUFFER_SIZE = 1024  # a power of two: the slot is seq & (BUFFER_SIZE - 1); ~3 s of 720p video
_MASK = BUFFER_SIZE - 1
KEY_FRAME_INTERVAL_S = 0.5

# Extensions a producer's value must not reach consumers with: the mid is the *producer's* m-section (a
# browser demuxing by it would hand the packet to the wrong receiver, and the consumer's mid may differ in
# length, so it cannot be rewritten in place), and transport-wide sequence numbers belong to one transport
# (ours to write per consumer transport once transport-cc is implemented). Consumers then demux by SSRC.
_NOT_FORWARDED = frozenset({ortc.URI_MID, ortc.URI_TRANSPORT_CC})


def _extension_table(kind: str, params: ortc.RtpParameters, consumable: ortc.RtpParameters) -> bytes:
    """``table[producer id] = router id`` for the extensions we forward, 0 for the rest (removed)."""
    router_ids = {e["uri"]: e["id"] for e in consumable["headerExtensions"] if e["uri"] not in _NOT_FORWARDED}
    table = bytearray(256)
    for ext in params["headerExtensions"]:
        if ext["uri"] in router_ids and 1 <= ext["id"] <= 255:
            table[ext["id"]] = router_ids[ext["uri"]]
    return bytes(table)


class Producer:
    """Created by :meth:`altegon_rt.sfu.router.Transport.produce`; not constructed by hand.

    Args:
        rtp_parameters: the validated parameters (``ortc.validate_rtp_parameters``), one encoding with an ssrc.
        rtp_mapping: ``ortc.producer_rtp_mapping`` of them.
        send_rtcp: sends RTCP to the producing peer (through its transport, into the router's outbox).
        clock: monotonic seconds, for the key frame rate limit.
        on_close: tells the owner to forget this producer; called once, whichever way it closes.
    """

    def __init__(
        self,
        *,
        kind: str,
        rtp_parameters: ortc.RtpParameters,
        rtp_mapping: ortc.RtpMapping,
        consumable_rtp_parameters: ortc.RtpParameters,
        app_data: Mapping[str, Any] | None,
        send_rtcp: Callable[[bytes], None],
        clock: Callable[[], float],
        on_close: Callable[[Producer], None],
    ) -> None:
        self.id = ProducerId(str(uuid.uuid4()))
        self.kind = kind
        self.rtp_parameters = rtp_parameters
        self.rtp_mapping = rtp_mapping
        self.consumable_rtp_parameters = consumable_rtp_parameters
        self.app_data = dict(app_data or {})
        self.paused = False
        self.closed = False
        self.observer = Observer()
        self.stats: collections.Counter[str] = collections.Counter()
        self.consumers: dict[ConsumerId, Consumer] = {}
        self.taps: list[Tap] = []  # in-process readers (recorders, live streams): sfu/tap.py
        self._send_rtcp, self._clock, self._on_close = send_rtcp, clock, on_close
        encoding = rtp_parameters["encodings"][0]
        self.ssrc: int = encoding["ssrc"]
        self.rtx_ssrc: int | None = encoding.get("rtx", {}).get("ssrc")
        self.mapped_ssrc: int = rtp_mapping["encodings"][0]["mappedSsrc"]
        mapped = {c["payloadType"]: c["mappedPayloadType"] for c in rtp_mapping["codecs"]}
        media = [c for c in rtp_parameters["codecs"] if not ortc.is_rtx(c)]
        self.reception = ReceptionStats(media[0]["clockRate"])
        self._pt_map: dict[int, int] = {c["payloadType"]: mapped[c["payloadType"]] for c in media}
        # RTX payload type → the producer's media payload type it repairs (its ``apt``).
        self._rtx_apt: dict[int, int] = {
            c["payloadType"]: c["parameters"]["apt"] for c in rtp_parameters["codecs"] if ortc.is_rtx(c)
        }
        self._ext_table = _extension_table(kind, rtp_parameters, consumable_rtp_parameters)
        # The ring: three parallel lists rather than a tuple per packet, so storing costs no allocation.
        self._ring_seq: list[int] = [-1] * BUFFER_SIZE
        self._ring_ts: list[int] = [0] * BUFFER_SIZE
        self._ring_buf: list[bytearray | None] = [None] * BUFFER_SIZE
        self._last_key_frame_request = -KEY_FRAME_INTERVAL_S

    @property
    def ssrcs(self) -> tuple[int, ...]:
        """Every SSRC this producer receives on: the media stream and, if negotiated, its RTX."""
        return (self.ssrc,) if self.rtx_ssrc is None else (self.ssrc, self.rtx_ssrc)

    # --- the data plane -------------------------------------------------------------------------------------

    def receive_rtp(self, data: bytes, ssrc: int, now: float) -> None:
        """One decrypted RTP packet on one of :attr:`ssrcs` (the transport matched it), arrived at ``now``."""
        if ssrc != self.ssrc:
            self._receive_rtx(data, now)
            return
        mapped_pt = self._pt_map.get(data[1] & 0x7F)
        if mapped_pt is None:
            self.stats["dropped_payload_type"] += 1
            return
        buf = bytearray(data)  # the one copy: the ring keeps it, consumers rewrite its header in place
        buf[1] = (buf[1] & 0x80) | mapped_pt
        if buf[0] & 0x10:
            remap_extension_ids(buf, self._ext_table)
        seq, timestamp = read_seq(buf), read_timestamp(buf)
        slot = seq & _MASK
        self._ring_seq[slot], self._ring_ts[slot], self._ring_buf[slot] = seq, timestamp, buf
        self.reception.packet(seq, timestamp, now)
        if self.paused:
            return
        for consumer in self.consumers.values():
            consumer._forward(buf, seq, timestamp)
        if self.taps:
            for tap in self.taps:
                tap._receive(buf, seq, timestamp, now)

    def _receive_rtx(self, data: bytes, now: float) -> None:
        # Off the hot path (only repairs): parsing into objects is fine here.
        try:
            rtx = RtpPacket.parse(data)
            apt = self._rtx_apt.get(rtx.payload_type)
            if apt is None:
                self.stats["dropped_rtx_payload_type"] += 1
                return
            original = rtx_unwrap(rtx, payload_type=apt, ssrc=self.ssrc)
            data = bytes(original)
        except ProtocolError:
            self.stats["dropped_rtx_malformed"] += 1
            return
        if self._ring_seq[original.sequence_number & _MASK] == original.sequence_number:
            self.stats["rtx_duplicate"] += 1  # the original made it after all
            return
        self.stats["rtx_in"] += 1
        self.receive_rtp(data, self.ssrc, now)

    def buffered(self, seq: int) -> tuple[bytearray, int] | None:
        """The stored packet with sequence number ``seq`` and its original timestamp, if still in the ring.

        The header's SSRC, sequence number and timestamp are whatever the last user wrote: rewrite all three.
        """
        slot = seq & _MASK
        buf = self._ring_buf[slot]
        if buf is None or self._ring_seq[slot] != seq:
            return None
        return buf, self._ring_ts[slot]

    def request_key_frame(self, *, force: bool = False) -> bool:
        """Ask the sender for a key frame (PLI) unless one was asked for within the last 500 ms (or ``force``);
        whether sent."""
        if self.closed or self.kind != "video":
            return False
        now = self._clock()
        if not force and now - self._last_key_frame_request < KEY_FRAME_INTERVAL_S:
            self.stats["key_frame_request_limited"] += 1
            return False
        self._last_key_frame_request = now
        self.stats["pli_out"] += 1
        self._send_rtcp(bytes(Pli(0, self.ssrc)))
        return True

    # --- lifecycle ------------------------------------------------------------------------------------------

    def pause(self) -> None:
        if self.closed or self.paused:
            return
        self.paused = True
        self.observer.emit("pause")
        for consumer in list(self.consumers.values()):
            consumer._producer_paused(True)

    def resume(self) -> None:
        if self.closed or not self.paused:
            return
        self.paused = False
        self.observer.emit("resume")
        for consumer in list(self.consumers.values()):
            consumer._producer_paused(False)

    def close(self, reason: str = "closed") -> None:
        """Close this producer and every consumer of it (they see ``producerclose``). Idempotent."""
        self._close("close", reason)

    def _transport_closed(self) -> None:
        """The transport we came in on closed: the one way a parent's end reaches us."""
        self._close("transportclose", "transport closed")

    def _close(self, event: str, reason: str) -> None:
        if self.closed:
            return
        self.closed = True
        for consumer in list(self.consumers.values()):
            consumer._producer_closed()
        self.consumers.clear()
        for tap in list(self.taps):
            tap._producer_closed()
        self.taps.clear()
        self._ring_buf = [None] * BUFFER_SIZE
        self.observer.emit("transportclose" if event == "transportclose" else "close", reason)
        self.observer.close()
        self._on_close(self)
