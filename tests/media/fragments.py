"""Reading our fMP4 fragments back (``moof`` + ``mdat``, as ``media/fmp4.py`` writes them) the way a browser's
MSE does: per track, the decode time, each sample's duration and bytes; and H.264 samples' NAL framing."""

from __future__ import annotations

import struct
from dataclasses import dataclass

from altegon_rt.media.fmp4 import boxes


@dataclass(frozen=True)
class Run:
    track_id: int
    base_time: int  # tfdt, in the track's timescale
    durations: list[int]
    samples: list[bytes]

    @property
    def end_time(self) -> int:
        return self.base_time + sum(self.durations)


def read_fragments(data: bytes) -> list[Run]:
    """Every track run of every ``moof`` in ``data`` (a part or a segment), in order."""
    runs: list[Run] = []
    at = 0
    for kind, whole in boxes(data):
        if kind == b"moof":
            runs += [_read_traf(traf, data, at) for traf_kind, traf in boxes(whole[8:]) if traf_kind == b"traf"]
        at += len(whole)
    return runs


def _read_traf(traf: bytes, data: bytes, moof_at: int) -> Run:
    children = dict(boxes(traf[8:]))
    track_id = struct.unpack_from(">I", children[b"tfhd"], 12)[0]
    tfdt = children[b"tfdt"]
    base = struct.unpack_from(">Q" if tfdt[8] == 1 else ">I", tfdt, 12)[0]
    trun = children[b"trun"]
    flags = struct.unpack_from(">I", trun, 8)[0] & 0xFFFFFF
    assert flags == 0xF01, f"trun flags {flags:#x}: not what fmp4.py writes"
    count, offset = struct.unpack_from(">Ii", trun, 12)
    durations, samples = [], []
    position = moof_at + offset  # default-base-is-moof
    for i in range(count):
        duration, size, _, _ = struct.unpack_from(">IIIi", trun, 20 + 16 * i)
        durations.append(duration)
        samples.append(data[position : position + size])
        position += size
    return Run(track_id, base, durations, samples)


def nal_types(sample: bytes) -> list[int] | None:
    """The NAL unit types of an H.264 sample made of 4-byte length-prefixed NAL units (what MP4 wants), or None
    where the sample is not (e.g. Annex B start codes, which browsers refuse)."""
    types, at = [], 0
    while at < len(sample):
        if at + 5 > len(sample):
            return None
        length = struct.unpack_from(">I", sample, at)[0]
        header = sample[at + 4]
        if length == 0 or at + 4 + length > len(sample) or header & 0x80 or not 1 <= header & 0x1F <= 23:
            return None
        types.append(header & 0x1F)
        at += 4 + length
    return types or None
