"""Tap: an in-process reader of one Producer's stream, handing whole coded frames to its owner.

A consumer without a transport: the Producer calls :meth:`Tap._receive` with every packet it forwards (after
its real consumers, which it does not slow down when there is no tap), and the tap depacketizes it
(:mod:`altegon_rt.rtc.depacketize`) and calls ``on_frame(frame, kind, arrival)`` with each complete frame. It
asks the sender for a key frame (PLI, through the producer's rate limit) when it starts, on every loss,
and while it waits for one, since a recording or live stream cannot start or go on mid-GOP. The packet is
read where it lies: the tap copies only the payload, and never writes to the shared buffer.
"""

from __future__ import annotations

import collections
import logging
import uuid
from collections.abc import Callable
from typing import NewType

from altegon_rt.rtc import ortc
from altegon_rt.rtc.depacketize import Codec, DepacketizeError, Depacketizer, Frame, Loss, rtp_payload
from altegon_rt.sfu.producer import Producer

log = logging.getLogger(__name__)

TapId = NewType("TapId", str)
OnFrame = Callable[[Frame, str, float], None]  # frame, kind, arrival time (the UDP task's monotonic seconds)
REORDER_WINDOW = {"video": 96, "audio": 16}  # packets: ~0.3 s of 720p video, ~0.3 s of Opus


def codecs_by_payload_type(producer: Producer) -> dict[int, Codec]:
    """The router's payload types of the producer's codecs that we can depacketize."""
    out = {}
    for codec in producer.consumable_rtp_parameters["codecs"]:
        if ortc.is_rtx(codec):
            continue
        try:
            out[codec["payloadType"]] = Codec.from_mime_type(codec["mimeType"])
        except DepacketizeError:
            continue
    return out


class Tap:
    """Attach with :meth:`attach`; ``close()`` detaches (idempotent). ``on_close`` runs once, however it ends."""

    def __init__(self, producer: Producer, on_frame: OnFrame, on_close: Callable[[Tap], None] | None = None) -> None:
        self.id = TapId(str(uuid.uuid4()))
        self.producer = producer
        self.kind = producer.kind
        self.closed = False
        self.stats: collections.Counter[str] = collections.Counter()
        self._on_frame, self._on_close = on_frame, on_close
        self._codecs = codecs_by_payload_type(producer)
        self._depacketizers: dict[int, Depacketizer] = {}
        self._last_arrival = 0.0

    @property
    def codec(self) -> Codec | None:
        """The codec in use: the one of the last packet, else the producer's first we can read."""
        if self._depacketizers:
            return next(reversed(self._depacketizers.values())).codec
        return next(iter(self._codecs.values()), None)

    @classmethod
    def attach(cls, producer: Producer, on_frame: OnFrame, on_close: Callable[[Tap], None] | None = None) -> Tap:
        """A tap on ``producer``, receiving from its next packet on; asks for a key frame to start from."""
        tap = cls(producer, on_frame, on_close)
        if producer.closed:
            tap._producer_closed()
            return tap
        producer.taps.append(tap)
        producer.request_key_frame()
        return tap

    def _receive(self, buf: bytearray, seq: int, timestamp: int, now: float) -> None:
        """One forwarded packet (the producer's buffer, header in the router's form): never raises."""
        self.stats["packets"] += 1
        self._last_arrival = now
        codec = self._codecs.get(buf[1] & 0x7F)
        if codec is None:
            self.stats["dropped_payload_type"] += 1
            return
        try:
            _, _, marker, payload = rtp_payload(bytes(buf))
        except DepacketizeError:
            self.stats["malformed"] += 1
            return
        depacketizer = self._depacketizers.get(buf[1] & 0x7F)
        if depacketizer is None:
            depacketizer = Depacketizer(codec, reorder_window=REORDER_WINDOW.get(self.kind, 32))
            self._depacketizers[buf[1] & 0x7F] = depacketizer
        waiting = depacketizer.waiting_for_key
        self._deliver(depacketizer.receive(seq, timestamp, marker, payload), now)
        if waiting and depacketizer.waiting_for_key and self.kind == "video":
            self.producer.request_key_frame()  # still no key frame to start from (rate-limited by the producer)

    def _deliver(self, events: list[Frame | Loss], now: float) -> None:
        for event in events:
            if isinstance(event, Loss):
                self.stats["losses"] += 1
                if self.kind == "video":
                    self.producer.request_key_frame()
                continue
            self.stats["frames"] += 1
            try:
                self._on_frame(event, self.kind, now)
            except Exception:
                self.stats["owner_errors"] += 1  # the owner's problem must not reach the UDP task
                log.exception("tap %s: the frame handler failed", self.id)

    def close(self) -> None:
        """Stop receiving. Idempotent."""
        if self.closed:
            return
        self.closed = True
        if self in self.producer.taps:
            self.producer.taps.remove(self)
        self._finish()

    def _producer_closed(self) -> None:
        """The producer closed: what the reorder buffer still holds is given out, then the tap closes."""
        if self.closed:
            return
        self.closed = True
        for depacketizer in self._depacketizers.values():
            self._deliver(depacketizer.flush(), self._last_arrival)
        self._finish()

    def _finish(self) -> None:
        if self._on_close is not None:
            callback, self._on_close = self._on_close, None
            callback(self)
