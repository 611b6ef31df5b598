"""RTP depacketization: packets of one stream in, whole coded frames out (sans-IO).

Payload formats:

- VP8, RFC 7741 §4.2: the payload descriptor (X, N, S, PID; PictureID, TL0PICIDX, TID/KEYIDX) is removed;
  a frame starts at S=1 with partition index 0; a key frame has the P bit of the VP8 frame tag clear (RFC 6386
  §9.1), and its 7-byte key-frame header after the tag gives the picture size.
- VP9, draft-ietf-payload-vp9-16 §4.2: the descriptor (I, P, L, F, B, E, V, Z; PictureID, layer indices,
  flexible-mode reference indices, the scalability structure) is removed; B starts and E ends a layer frame.
  Only spatial layer 0 is kept (what a single-layer sender such as Chrome without SVC sends is all layer 0);
  a key frame is a layer frame with P=0 on layer 0, and the scalability structure gives the picture size.
- H.264, RFC 6184 §5.6-5.8 (packetization-mode 0 and 1): single NAL unit packets, STAP-A and FU-A are turned
  into NAL units; the NAL units of one timestamp are one access unit, written in Annex B form (start codes).
  A key frame holds an IDR slice; the last SPS and PPS are put in front of an IDR access unit that lacks them.
- Opus, RFC 7587: one packet is one frame.

:class:`Depacketizer` puts packets in sequence-number order with a small reorder window, assembles frames
(a frame ends at the marker bit or when the timestamp changes), and reports losses: a frame that lost a packet
is dropped, and a video stream then drops frames until the next key frame (its owner should ask for one;
:class:`Loss` says so). Malformed input is counted and dropped; only :meth:`Depacketizer.receive_packet`
raises, :class:`DepacketizeError`, for what is not an RTP packet at all.
"""

from __future__ import annotations

import collections
import enum
import struct
from dataclasses import dataclass

from altegon_rt.rtc.errors import RemoteProtocolError

MAX_FRAME_BYTES = 8 * 1024 * 1024
ANNEX_B_START = b"\x00\x00\x00\x01"
_U16 = struct.Struct("!H")
_U16LE = struct.Struct("<H")
_HALF16 = 0x8000


class DepacketizeError(RemoteProtocolError):
    """A payload (or packet) that does not follow its payload format."""


class Codec(enum.StrEnum):
    VP8 = "vp8"
    VP9 = "vp9"
    H264 = "h264"
    OPUS = "opus"

    @classmethod
    def from_mime_type(cls, mime_type: str) -> Codec:
        """``video/VP8`` → :attr:`VP8` etc.; :class:`DepacketizeError` for a codec we cannot depacketize."""
        name = mime_type.split("/")[-1].lower()
        try:
            return cls(name)
        except ValueError:
            raise DepacketizeError(f"no depacketizer for {mime_type!r}") from None

    @property
    def is_video(self) -> bool:
        return self is not Codec.OPUS


@dataclass(frozen=True, slots=True)
class Frame:
    """One coded frame (VP8/VP9 frame, H.264 access unit in Annex B, Opus packet) and its RTP timestamp."""

    timestamp: int
    data: bytes
    keyframe: bool
    width: int = 0  # from a VP8/VP9 key frame's header, else 0
    height: int = 0


@dataclass(frozen=True, slots=True)
class Loss:
    """Packets were lost (``count`` of them, or more); video needs a key frame to go on."""

    count: int


Event = Frame | Loss


@dataclass(frozen=True, slots=True)
class Chunk:
    """What one packet's payload adds to its frame."""

    data: bytes
    begins: bool  # the packet starts a frame (or layer frame)
    keyframe: bool = False
    width: int = 0
    height: int = 0


# --- payload formats --------------------------------------------------------------------------------------------


def _need(payload: bytes, length: int, what: str) -> None:
    if len(payload) < length:
        raise DepacketizeError(f"{what}: payload too short ({len(payload)} bytes)")


def vp8_chunk(payload: bytes) -> Chunk:
    """RFC 7741 §4.2."""
    _need(payload, 1, "VP8")
    first, i = payload[0], 1
    if first & 0x80:  # X: extended control bits
        _need(payload, 2, "VP8")
        ext, i = payload[1], 2
        if ext & 0x80:  # I: PictureID, 7 or 15 bits (M)
            _need(payload, i + 1, "VP8 PictureID")
            i += 2 if payload[i] & 0x80 else 1
        if ext & 0x40:  # L: TL0PICIDX
            i += 1
        if ext & 0x30:  # T or K: TID/Y/KEYIDX
            i += 1
    _need(payload, i + 1, "VP8 descriptor")
    data = payload[i:]
    begins = bool(first & 0x10) and first & 0x07 == 0
    if not begins or data[0] & 0x01:
        return Chunk(data, begins)
    width = height = 0  # a key frame: 3-byte tag, start code 9d 01 2a, then 14-bit width and height
    if len(data) >= 10 and data[3:6] == b"\x9d\x01\x2a":
        width, height = _U16LE.unpack_from(data, 6)[0] & 0x3FFF, _U16LE.unpack_from(data, 8)[0] & 0x3FFF
    return Chunk(data, True, True, width, height)


def _vp9_scalability(payload: bytes, i: int) -> tuple[int, int, int]:
    """Skip the scalability structure at ``i``; ``(next index, width, height)`` of spatial layer 0."""
    _need(payload, i + 1, "VP9 SS")
    head, i = payload[i], i + 1
    layers = (head >> 5) + 1
    width = height = 0
    if head & 0x10:  # Y: resolutions
        _need(payload, i + 4 * layers, "VP9 SS resolutions")
        width, height = _U16.unpack_from(payload, i)[0], _U16.unpack_from(payload, i + 2)[0]
        i += 4 * layers
    if head & 0x08:  # G: picture group description
        _need(payload, i + 1, "VP9 SS N_G")
        groups, i = payload[i], i + 1
        for _ in range(groups):
            _need(payload, i + 1, "VP9 SS picture group")
            i += 1 + ((payload[i] >> 2) & 0x03)
    return i, width, height


def vp9_chunk(payload: bytes) -> Chunk | None:
    """draft-ietf-payload-vp9 §4.2; ``None`` for a packet of a spatial layer above 0 (not kept)."""
    _need(payload, 1, "VP9")
    first, i = payload[0], 1
    inter, layered, flexible = bool(first & 0x40), bool(first & 0x20), bool(first & 0x10)
    if first & 0x80:  # I: PictureID
        _need(payload, i + 1, "VP9 PictureID")
        i += 2 if payload[i] & 0x80 else 1
    spatial = 0
    if layered:
        _need(payload, i + 1, "VP9 layer indices")
        spatial = (payload[i] >> 1) & 0x07
        i += 1 if flexible else 2  # non-flexible mode adds TL0PICIDX
    if flexible and inter:  # up to three reference indices, N says another follows
        for _ in range(3):
            _need(payload, i + 1, "VP9 reference index")
            more, i = payload[i] & 0x01, i + 1
            if not more:
                break
    width = height = 0
    if first & 0x02:  # V: scalability structure
        i, width, height = _vp9_scalability(payload, i)
    _need(payload, i + 1, "VP9 descriptor")
    if spatial:
        return None
    begins = bool(first & 0x08)
    keyframe = begins and not inter
    return Chunk(payload[i:], begins, keyframe, width if keyframe else 0, height if keyframe else 0)


class H264Assembler:
    """RFC 6184 payloads → NAL units; remembers the last SPS and PPS."""

    def __init__(self) -> None:
        self.sps: bytes | None = None
        self.pps: bytes | None = None
        self._fu: bytearray | None = None

    def reset(self) -> None:
        self._fu = None

    def nal_units(self, payload: bytes) -> list[bytes]:
        """The complete NAL units this packet gives (an FU-A gives one at its end packet)."""
        _need(payload, 1, "H.264")
        kind = payload[0] & 0x1F
        if 1 <= kind <= 23:
            return [payload]
        if kind == 24:
            return self._stap_a(payload)
        if kind == 28:
            return self._fu_a(payload)
        raise DepacketizeError(f"H.264 packet type {kind} is not supported (packetization-mode 0 or 1 only)")

    @staticmethod
    def _stap_a(payload: bytes) -> list[bytes]:
        units, i = [], 1
        while i < len(payload):
            _need(payload, i + 2, "H.264 STAP-A size")
            size = _U16.unpack_from(payload, i)[0]
            if size == 0 or i + 2 + size > len(payload):
                raise DepacketizeError("H.264 STAP-A: a NAL unit overruns the packet")
            units.append(payload[i + 2 : i + 2 + size])
            i += 2 + size
        if not units:
            raise DepacketizeError("H.264 STAP-A without NAL units")
        return units

    def _fu_a(self, payload: bytes) -> list[bytes]:
        _need(payload, 3, "H.264 FU-A")
        indicator, header = payload[0], payload[1]
        if header & 0x80:  # S
            self._fu = bytearray([(indicator & 0xE0) | (header & 0x1F)])
        elif self._fu is None:
            raise DepacketizeError("H.264 FU-A continuation without its start")
        self._fu += payload[2:]
        if len(self._fu) > MAX_FRAME_BYTES:
            self._fu = None
            raise DepacketizeError("H.264 FU-A larger than the frame limit")
        if not header & 0x40:  # E
            return []
        unit, self._fu = bytes(self._fu), None
        return [unit]

    def chunk(self, payload: bytes) -> Chunk:
        units = self.nal_units(payload)
        keyframe = False
        for unit in units:
            kind = unit[0] & 0x1F
            if kind == 7:
                self.sps = unit
            elif kind == 8:
                self.pps = unit
            elif kind == 5:
                keyframe = True
        return Chunk(b"".join(ANNEX_B_START + u for u in units), False, keyframe)

    def access_unit(self, data: bytes, keyframe: bool) -> bytes:
        """An IDR access unit gets the last SPS/PPS in front if it has none of its own."""
        if not keyframe or self.sps is None or self.pps is None:
            return data
        kinds = {u[0] & 0x1F for u in split_annex_b(data) if u}
        prefix = b""
        if 7 not in kinds:
            prefix += ANNEX_B_START + self.sps
        if 8 not in kinds:
            prefix += ANNEX_B_START + self.pps
        return prefix + data


def split_annex_b(data: bytes) -> list[bytes]:
    """The NAL units of an Annex B byte stream (3- or 4-byte start codes; zeros before a start code dropped)."""
    starts: list[int] = []  # where each NAL unit's first byte is; found with bytes.find, not a byte loop
    i = data.find(b"\x00\x00\x01")
    while i >= 0:
        starts.append(i + 3)
        i = data.find(b"\x00\x00\x01", i + 3)
    units = []
    for index, start in enumerate(starts):
        end = starts[index + 1] - 3 if index + 1 < len(starts) else len(data)
        while end > start and data[end - 1] == 0:  # a 4-byte start code's first byte, or trailing zeros
            end -= 1
        if end > start:
            units.append(data[start:end])
    return units


def length_prefixed(annex_b: bytes) -> bytes:
    """An Annex B access unit as ISO/IEC 14496-15 wants it (MP4 samples, Matroska blocks): each NAL unit after a
    4-byte big-endian length, as an ``avcC`` with ``lengthSizeMinusOne = 3`` declares. Only for data known to be
    Annex B: a length-prefixed sample can start with a start code's bytes (a 256-511 byte unit: ``00 00 01 xx``).
    """
    return b"".join(len(u).to_bytes(4, "big") + u for u in split_annex_b(annex_b))


# --- ordering and assembly ---------------------------------------------------------------------------------------


def rtp_payload(packet: bytes) -> tuple[int, int, bool, bytes]:
    """``(seq, timestamp, marker, payload)`` of an RTP packet (RFC 3550 §5.1, CSRCs, extension, padding)."""
    if len(packet) < 12 or packet[0] >> 6 != 2:
        raise DepacketizeError("not an RTP packet")
    i = 12 + 4 * (packet[0] & 0x0F)
    if packet[0] & 0x10:
        if len(packet) < i + 4:
            raise DepacketizeError("RTP header extension overruns the packet")
        i += 4 + 4 * _U16.unpack_from(packet, i + 2)[0]
    end = len(packet)
    if packet[0] & 0x20 and end > 12:
        end -= packet[-1]
    if i > end:
        raise DepacketizeError("RTP header or padding overruns the packet")
    seq, timestamp = _U16.unpack_from(packet, 2)[0], struct.unpack_from("!I", packet, 4)[0]
    return seq, timestamp, bool(packet[1] & 0x80), packet[i:end]


class Depacketizer:
    """One stream's packets → :class:`Frame` and :class:`Loss` events; see the module docstring.

    Args:
        codec: the stream's payload format.
        reorder_window: packets held while waiting for a missing one before it is declared lost.
    """

    def __init__(self, codec: Codec, *, reorder_window: int = 64) -> None:
        self.codec = codec
        self.reorder_window = max(1, reorder_window)
        self.stats: collections.Counter[str] = collections.Counter()
        self._held: dict[int, tuple[int, bool, bytes]] = {}
        self._next: int | None = None
        self._h264 = H264Assembler() if codec is Codec.H264 else None
        self._ts: int | None = None
        self._parts: list[bytes] = []
        self._size = 0
        self._begun = False
        self._broken = False
        self._key = False
        self._dims = (0, 0)
        self.waiting_for_key = codec.is_video
        self._events: list[Event] = []

    def receive_packet(self, packet: bytes) -> list[Event]:
        """One whole RTP packet; :class:`DepacketizeError` if it is not one."""
        seq, timestamp, marker, payload = rtp_payload(packet)
        return self.receive(seq, timestamp, marker, payload)

    def receive(self, seq: int, timestamp: int, marker: bool, payload: bytes) -> list[Event]:
        """One packet's header fields and payload; the events it completes."""
        if self._next is None:
            self._next = seq
        behind = (self._next - seq) & 0xFFFF
        if 0 < behind < _HALF16:
            self.stats["late"] += 1  # older than what was already given out (or declared lost)
            return self._take()
        if seq in self._held:
            self.stats["duplicate"] += 1
            return self._take()
        self._held[seq] = (timestamp, marker, payload)
        self._drain()
        if len(self._held) > self.reorder_window:
            self._skip_gap()
            self._drain()
        return self._take()

    def flush(self) -> list[Event]:
        """The end of the stream: give out what is held, gaps counted as losses."""
        while self._held:
            self._skip_gap()
            self._drain()
        self._finish_frame()
        return self._take()

    def _take(self) -> list[Event]:
        events, self._events = self._events, []
        return events

    def _drain(self) -> None:
        assert self._next is not None
        while (entry := self._held.pop(self._next, None)) is not None:
            self._next = (self._next + 1) & 0xFFFF
            self._packet(*entry)

    def _skip_gap(self) -> None:
        assert self._next is not None
        nearest = min(self._held, key=lambda s: (s - self._next) & 0xFFFF)  # type: ignore[operator]
        lost = (nearest - self._next) & 0xFFFF
        self.stats["lost"] += lost
        self._next = nearest
        self._lost(lost)

    def _lost(self, count: int) -> None:
        if self._ts is not None:
            self._broken = True  # the frame in progress lost its tail (a lost head shows as a missing start)
        if self._h264 is not None:
            self._h264.reset()
        if self.codec.is_video:
            self.waiting_for_key = True
        self._events.append(Loss(count))

    def _packet(self, timestamp: int, marker: bool, payload: bytes) -> None:
        if self._ts is not None and timestamp != self._ts:
            self._finish_frame()
        if self._ts is None:
            self._ts = timestamp
        try:
            chunk = self._chunk(payload)
        except DepacketizeError:
            self.stats["malformed"] += 1
            self._broken = True
            chunk = None
        if chunk is not None:
            self._add(chunk)
        if marker or self.codec is Codec.OPUS:
            self._finish_frame()

    def _chunk(self, payload: bytes) -> Chunk | None:
        if self.codec is Codec.VP8:
            return vp8_chunk(payload)
        if self.codec is Codec.VP9:
            return vp9_chunk(payload)
        if self._h264 is not None:
            chunk = self._h264.chunk(payload)
            return Chunk(chunk.data, not self._parts, chunk.keyframe) if chunk.data else None
        if not payload:
            raise DepacketizeError("empty Opus packet")
        return Chunk(payload, True, True)

    def _add(self, chunk: Chunk) -> None:
        if not self._parts and not chunk.begins:
            self._broken = True  # the frame's first packet is missing
        if chunk.begins and self._parts and self.codec is Codec.VP8:
            self._broken = True  # a second start in one frame
        self._parts.append(chunk.data)
        self._size += len(chunk.data)
        self._key = self._key or chunk.keyframe
        if chunk.width and chunk.height:
            self._dims = (chunk.width, chunk.height)
        if self._size > MAX_FRAME_BYTES:
            self.stats["too_large"] += 1
            self._broken = True

    def _finish_frame(self) -> None:
        if self._ts is not None and self._parts and not self._broken:
            self._emit(self._ts, b"".join(self._parts))
        elif self._broken and self._parts:
            self.stats["frames_dropped"] += 1
        self._ts, self._parts, self._size = None, [], 0
        self._broken, self._key, self._dims = False, False, (0, 0)

    def _emit(self, timestamp: int, data: bytes) -> None:
        if self.waiting_for_key and not self._key:
            self.stats["frames_before_key"] += 1
            return
        self.waiting_for_key = False
        if self._h264 is not None:
            data = self._h264.access_unit(data, self._key)
        self.stats["frames"] += 1
        self._events.append(Frame(timestamp, data, self._key, *self._dims))
