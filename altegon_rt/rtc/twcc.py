"""The feedback control information of transport-wide congestion control feedback (RTCP RTPFB FMT 15).

draft-holmer-rmcat-transport-wide-cc-extensions-01 §3.1. After the common feedback header comes
``base seq (16) | packet status count (16) | reference time (24, signed, 64 ms) | fb pkt count (8)``, then
16-bit packet status chunks until ``status count`` packets are covered, then one receive delta per received
packet, in 250 µs ticks. A status symbol says whether a packet arrived and how its delta is written:

- 0 not received (no delta), 1 received with a small delta (1 byte, 0-63.75 ms),
  2 received with a large or negative delta (2 bytes, signed), 3 reserved.

Chunks come in two kinds: run length (``0 | symbol (2) | run (13)``) and status vector
(``1 | size | symbols``: fourteen 1-bit symbols when size is 0, seven 2-bit symbols when it is 1).
:class:`~altegon_rt.rtc.rtcp.TransportWideCc` wraps these functions; they are separate to keep the codec,
whose bit twiddling is most of the work, readable on its own.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from typing import NamedTuple

from altegon_rt.rtc.errors import LocalProtocolError, RemoteProtocolError

NOT_RECEIVED, SMALL_DELTA, LARGE_DELTA, RESERVED = 0, 1, 2, 3
TICK_US = 250
MAX_RUN = 0x1FFF
MAX_STATUS_COUNT = 0xFFFF

_FCI_HEADER = struct.Struct("!HHI")
_U16 = struct.Struct("!H")
_I16 = struct.Struct("!h")


class TwccStatus(NamedTuple):
    """One packet's fate: ``delta_us`` is its arrival relative to the previous received packet (the first:
    to the reference time), or ``None`` when it was not received."""

    seq: int
    received: bool
    delta_us: int | None


def chunk_symbols(chunk: int) -> list[int]:
    """The status symbols one chunk stands for (a run-length chunk may stand for none or thousands)."""
    if not chunk & 0x8000:
        return [chunk >> 13 & 3] * (chunk & MAX_RUN)
    if not chunk & 0x4000:
        return [chunk >> (13 - i) & 1 for i in range(14)]
    return [chunk >> (12 - 2 * i) & 3 for i in range(7)]


def _symbols(status_count: int, chunks: Sequence[int]) -> list[int]:
    symbols: list[int] = []
    for chunk in chunks:
        symbols.extend(chunk_symbols(chunk))
    return symbols[:status_count]  # the last chunk may describe more packets than there are


def parse_twcc_fci(fci: bytes) -> tuple[int, int, int, int, tuple[int, ...], tuple[int, ...]]:
    """``(base_seq, status_count, reference_time, fb_count, chunks, deltas)`` as on the wire."""
    if len(fci) < _FCI_HEADER.size:
        raise RemoteProtocolError("TWCC feedback truncated")
    base_seq, status_count, word = _FCI_HEADER.unpack_from(fci)
    reference_time = word >> 8
    if reference_time & 0x800000:
        reference_time -= 1 << 24
    offset, covered, chunks = _FCI_HEADER.size, 0, []
    while covered < status_count:
        if offset + 2 > len(fci):
            raise RemoteProtocolError("TWCC packet chunks truncated")
        chunk = _U16.unpack_from(fci, offset)[0]
        chunks.append(chunk)
        covered += chunk & MAX_RUN if not chunk & 0x8000 else 14 if not chunk & 0x4000 else 7
        offset += 2
    deltas = []
    for symbol in _symbols(status_count, chunks):
        if symbol == SMALL_DELTA:
            if offset + 1 > len(fci):
                raise RemoteProtocolError("TWCC receive deltas truncated")
            deltas.append(fci[offset])
            offset += 1
        elif symbol == LARGE_DELTA:
            if offset + 2 > len(fci):
                raise RemoteProtocolError("TWCC receive deltas truncated")
            deltas.append(_I16.unpack_from(fci, offset)[0])
            offset += 2
        elif symbol == RESERVED:
            raise RemoteProtocolError("TWCC reserved packet status symbol")
    # Whatever follows the deltas is alignment (senders that pad without the P bit); nothing to read there.
    return base_seq, status_count, reference_time, word & 0xFF, tuple(chunks), tuple(deltas)


def twcc_statuses(base_seq: int, status_count: int, chunks: Sequence[int], deltas: Sequence[int]) -> list[TwccStatus]:
    """One :class:`TwccStatus` per packet from ``base_seq`` on, sequence numbers wrapping at 2^16."""
    statuses, next_delta = [], iter(deltas)
    for i, symbol in enumerate(_symbols(status_count, chunks)):
        seq = (base_seq + i) & 0xFFFF
        if symbol in (SMALL_DELTA, LARGE_DELTA):
            delta = next(next_delta, None)
            if delta is None:
                raise RemoteProtocolError("TWCC receive deltas truncated")
            statuses.append(TwccStatus(seq, True, delta * TICK_US))
        else:
            statuses.append(TwccStatus(seq, False, None))
    return statuses


def build_twcc_fci(base_seq: int, status_count: int, reference_time: int, fb_count: int,
                   chunks: Sequence[int], deltas: Sequence[int]) -> bytes:  # fmt: skip
    """The FCI bytes, unpadded (the RTCP writer pads the packet to a word)."""
    if not (0 <= base_seq <= 0xFFFF and 0 <= status_count <= MAX_STATUS_COUNT and 0 <= fb_count <= 255):
        raise LocalProtocolError("TWCC base seq and status count must be 16 bits, fb count 8 bits")
    if not -(1 << 23) <= reference_time < 1 << 23:
        raise LocalProtocolError("TWCC reference time must be 24 bits signed")
    if not all(0 <= c <= 0xFFFF for c in chunks):
        raise LocalProtocolError("TWCC chunks must be 16 bits")
    symbols = [s for s in _symbols(status_count, chunks) if s in (SMALL_DELTA, LARGE_DELTA)]
    if len(symbols) != len(deltas):
        raise LocalProtocolError("TWCC needs one delta per received packet")
    out = bytearray(_FCI_HEADER.pack(base_seq, status_count, (reference_time & 0xFFFFFF) << 8 | fb_count))
    for chunk in chunks:
        out += _U16.pack(chunk)
    for symbol, delta in zip(symbols, deltas, strict=True):
        if symbol == SMALL_DELTA and 0 <= delta <= 255:
            out.append(delta)
        elif symbol == LARGE_DELTA and -0x8000 <= delta <= 0x7FFF:
            out += _I16.pack(delta)
        else:
            raise LocalProtocolError(f"TWCC delta {delta} does not fit its status symbol")
    return bytes(out)


def encode_statuses(deltas: Sequence[int | None]) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """``(chunks, wire deltas)`` for packets given as deltas in 250 µs ticks, ``None`` for lost ones.

    Greedy, as libwebrtc: a run of 14 or more equal symbols (or a run to the end) becomes a run-length
    chunk; otherwise fourteen 1-bit symbols when no large delta is among them, else seven 2-bit symbols.
    """
    if len(deltas) > MAX_STATUS_COUNT:
        raise LocalProtocolError(f"at most {MAX_STATUS_COUNT} packets in one TWCC feedback")
    symbols = [_symbol(d) for d in deltas]
    chunks, i, n = [], 0, len(symbols)
    while i < n:
        run = 1
        while i + run < n and run < MAX_RUN and symbols[i + run] == symbols[i]:
            run += 1
        if run >= 14 or i + run == n:
            chunks.append(symbols[i] << 13 | run)
            i += run
        elif LARGE_DELTA not in symbols[i : i + 14]:
            window = symbols[i : i + 14] + [0] * 14
            chunks.append(0x8000 | sum(window[k] << (13 - k) for k in range(14)))
            i += 14
        else:
            window = symbols[i : i + 7] + [0] * 7
            chunks.append(0xC000 | sum(window[k] << (12 - 2 * k) for k in range(7)))
            i += 7
    return tuple(chunks), tuple(d for d in deltas if d is not None)


def _symbol(delta: int | None) -> int:
    if delta is None:
        return NOT_RECEIVED
    if 0 <= delta <= 255:
        return SMALL_DELTA
    if -0x8000 <= delta <= 0x7FFF:
        return LARGE_DELTA
    raise LocalProtocolError(f"TWCC delta {delta} out of range")
