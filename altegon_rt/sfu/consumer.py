"""Consumer (mediasoup's SimpleConsumer): one producer's stream sent to one peer on its own SSRC.

Sequence numbers: output = input + offset (mod 2^16). The offset is fixed at a *sync*, which happens on the
first packet after the consumer starts or becomes active again (consumer resumed, producer resumed), so that
the first packet after a sync continues at last sent + 1: the receiver sees neither a gap (those packets were
withheld on purpose, a gap would make it NACK them) nor a step back (it would drop them as old). A packet
older than the sync point arrives reordered from before the pause and is dropped, for the same reason.

Timestamps pass through with an offset that stays put across a pause: the sender's clock ran on, so the
gap in timestamps is the real time that passed, which is what jitter and lip-sync want. Only if a sync
would make the timestamp go backwards (the source restarted its clock) is the offset moved to last + 1.

A NACK (RFC 4585) is answered from the producer's ring, mapped back through the current offset and only for
sequence numbers sent since the last sync; RTX-wrapped (RFC 4588) on the consumer's RTX stream if it
negotiated one, else the packet as is.
"""

from __future__ import annotations

import collections
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any, NewType

from altegon_rt.rtc import ortc
from altegon_rt.rtc.errors import RemoteProtocolError
from altegon_rt.rtc.rtcp import ReportBlock, SenderReport
from altegon_rt.rtc.rtp import RtpPacket, rewrite_header, rtx_wrap
from altegon_rt.sfu.observer import Observer
from altegon_rt.sfu.producer import Producer
from altegon_rt.sfu.reports import sender_report

ConsumerId = NewType("ConsumerId", str)

MAX_RETRANSMISSIONS_PER_NACK = 256  # a NACK is small and a retransmission big: bound the amplification
_HALF16 = 0x8000
_HALF32 = 0x80000000


class Consumer:
    """Created by :meth:`altegon_rt.sfu.router.Router.consume`; not constructed by hand.

    Args:
        rtp_parameters: ``ortc.consumer_rtp_parameters``: one encoding on the consumer's SSRC (RTX on another).
        send_rtp: sends to the consuming peer (through its transport, into the router's outbox).
        initial_seq: the first output sequence number (RFC 3550 §5.1: random).
        on_close: tells the owners to forget this consumer; called once, whichever way it closes.
    """

    def __init__(
        self,
        *,
        producer: Producer,
        rtp_parameters: ortc.RtpParameters,
        paused: bool,
        app_data: Mapping[str, Any] | None,
        send_rtp: Callable[[bytes], None],
        initial_seq: int,
        on_close: Callable[[Consumer], None],
    ) -> None:
        self.id = ConsumerId(str(uuid.uuid4()))
        self.producer_id = producer.id
        self.kind = producer.kind
        self.rtp_parameters = rtp_parameters
        self.app_data = dict(app_data or {})
        self.paused = paused
        self.producer_paused = producer.paused
        self.closed = False
        self.observer = Observer()
        self.stats: collections.Counter[str] = collections.Counter()
        self._producer, self._send_rtp, self._on_close = producer, send_rtp, on_close
        encoding = rtp_parameters["encodings"][0]
        self.ssrc: int = encoding["ssrc"]
        self.rtx_ssrc: int | None = encoding.get("rtx", {}).get("ssrc")
        codecs = rtp_parameters["codecs"]
        self._payload_types = frozenset(c["payloadType"] for c in codecs if not ortc.is_rtx(c))
        self._rtx_pt: dict[int, int] = {c["parameters"]["apt"]: c["payloadType"] for c in codecs if ortc.is_rtx(c)}
        self._rtx_seq = initial_seq ^ 0x5555  # its own counter (RFC 4588 §4), unrelated to the media one
        self._active = not (paused or producer.paused)
        self._sync_needed = True
        self._synced = False
        self._next_seq = initial_seq & 0xFFFF
        self._seq_offset = 0
        self._ts_offset = 0
        self._base_in = 0  # the input seq of the last sync
        self._max_in = 0  # the newest input seq since
        self._last_ts = 0  # the newest output timestamp
        self.packets_sent = 0
        self.remote_report: ReportBlock | None = None  # the consuming peer's last report about this stream
        self.octets_sent = 0

    # --- the data plane -------------------------------------------------------------------------------------

    def _forward(self, buf: bytearray, seq: int, timestamp: int) -> None:
        """One packet from the producer, header in the router's form; rewritten in place and sent."""
        if not self._active:
            return
        if buf[1] & 0x7F not in self._payload_types:
            self.stats["dropped_payload_type"] += 1
            return
        if self._sync_needed:
            self._sync(seq, timestamp)
        else:
            ahead = (seq - self._max_in) & 0xFFFF
            if ahead < _HALF16:
                self._max_in = seq
            elif 0x10000 - ahead > (self._max_in - self._base_in) & 0xFFFF:
                self.stats["dropped_before_sync"] += 1  # reordered from before the sync: would go backwards
                return
        out_ts = (timestamp + self._ts_offset) & 0xFFFFFFFF
        if seq == self._max_in:
            self._last_ts = out_ts
        rewrite_header(buf, self.ssrc, seq + self._seq_offset, out_ts)
        self.packets_sent += 1
        self.octets_sent += len(buf) - 12  # RFC 3550: payload octets (header extensions counted, harmlessly)
        self._send_rtp(bytes(buf))  # pylibsrtp takes bytes only: the copy SRTP needs anyway

    def _sync(self, seq: int, timestamp: int) -> None:
        if self._synced:
            self._next_seq = (self._max_in + self._seq_offset + 1) & 0xFFFF
            if (timestamp + self._ts_offset - self._last_ts) & 0xFFFFFFFF >= _HALF32:
                self._ts_offset = (self._last_ts + 1 - timestamp) & 0xFFFFFFFF
        self._seq_offset = (self._next_seq - seq) & 0xFFFF
        self._base_in = self._max_in = seq
        self._sync_needed, self._synced = False, True

    def handle_nack(self, lost: Iterable[int]) -> None:
        """Resend what the peer reports lost (its sequence numbers), from the producer's ring."""
        if not self._active or not self._synced:
            return
        for count, seq in enumerate(lost):
            if count == MAX_RETRANSMISSIONS_PER_NACK:
                self.stats["nack_truncated"] += 1
                return
            self._retransmit(seq)

    def _retransmit(self, seq: int) -> None:
        in_seq = (seq - self._seq_offset) & 0xFFFF
        if (in_seq - self._base_in) & 0xFFFF > (self._max_in - self._base_in) & 0xFFFF:
            self.stats["nack_not_sent"] += 1  # before the last sync (another offset) or never sent
            return
        entry = self._producer.buffered(in_seq)
        if entry is None:
            self.stats["nack_missing"] += 1
            return
        buf, timestamp = entry
        rewrite_header(buf, self.ssrc, seq, timestamp + self._ts_offset)
        rtx_pt = self._rtx_pt.get(buf[1] & 0x7F)
        if self.rtx_ssrc is None or rtx_pt is None:
            packet = bytes(buf)
        else:
            try:
                original = RtpPacket.parse(bytes(buf))
            except RemoteProtocolError:
                # Forwarding only looks at the fixed header; wrapping needs the whole packet to parse.
                self.stats["nack_unparsable"] += 1
                return
            packet = bytes(rtx_wrap(original, ssrc=self.rtx_ssrc, sequence_number=self._rtx_seq, payload_type=rtx_pt))
            self._rtx_seq = (self._rtx_seq + 1) & 0xFFFF
        self.stats["retransmitted"] += 1
        self._send_rtp(packet)

    def sender_report(self, now: float) -> SenderReport | None:
        """Our SR for this stream, once media was sent and the producer's sender has reported its clock."""
        if not self._synced or self.closed:
            return None
        return sender_report(ssrc=self.ssrc, source=self._producer.reception, ts_offset=self._ts_offset,
                             packets=self.packets_sent, octets=self.octets_sent, now=now)  # fmt: skip

    def request_key_frame(self) -> None:
        """The peer sent PLI or FIR: pass it on to the producer (which rate-limits)."""
        if self._active:
            self._producer.request_key_frame()

    def transport_connected(self) -> None:
        """Our transport just connected: if sending, ask for the key frame the peer has not had yet.

        Past the producer's rate limit, which the request made on resume (dropped before we could send) would
        otherwise hit; a transport connects once, so this adds at most one request per consumer.
        """
        if self._active:
            self._producer.request_key_frame(force=True)

    # --- lifecycle ------------------------------------------------------------------------------------------

    def pause(self) -> None:
        if self.closed or self.paused:
            return
        self.paused = True
        self._set_active()
        self.observer.emit("pause")

    def resume(self) -> None:
        """Start sending; the stream continues without a gap, and the producer is asked for a key frame."""
        if self.closed or not self.paused:
            return
        self.paused = False
        self._set_active()
        self.observer.emit("resume")

    def _producer_paused(self, paused: bool) -> None:
        self.producer_paused = paused
        self._set_active()
        self.observer.emit("producerpause" if paused else "producerresume")

    def _set_active(self) -> None:
        active = not (self.closed or self.paused or self.producer_paused)
        if active and not self._active:
            self._sync_needed = True
            # A decoder cannot start mid-GOP: without a key frame the peer would show nothing until the next one.
            self._producer.request_key_frame()
        self._active = active

    def close(self, reason: str = "closed") -> None:
        """Stop for good. Idempotent."""
        self._close("close", reason)

    def _producer_closed(self) -> None:
        """The producer closed: the one way its end reaches us."""
        self._close("producerclose", "producer closed")

    def _transport_closed(self) -> None:
        """Our transport closed."""
        self._close("transportclose", "transport closed")

    def _close(self, event: str, reason: str) -> None:
        if self.closed:
            return
        self.closed, self._active = True, False
        self._producer.consumers.pop(self.id, None)
        if event == "producerclose":
            self.observer.emit("producerclose", reason)
        elif event == "transportclose":
            self.observer.emit("transportclose", reason)
        else:
            self.observer.emit("close", reason)
        self.observer.close()
        self._on_close(self)
