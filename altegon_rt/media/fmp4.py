"""Fragmented MP4 (ISO/IEC 14496-12, CMAF) media fragments, as bytes: ``moof`` + ``mdat`` for LL-HLS parts.

Sans-IO and without PyAV: :func:`fragment` packs the samples of one part (one or more tracks) into one movie
fragment, with ``tfhd`` default-base-is-moof, a version 1 ``tfdt`` (64-bit base media decode time) and a
version 1 ``trun`` carrying each sample's duration, size, flags and signed composition offset. The
initialization section (``ftyp`` + ``moov``, with the codec configuration) comes from FFmpeg's mp4 muxer;
:func:`init_section` keeps just those two boxes of its output. A segment is its parts' fragments one after
the other, which is what RFC 8216 §3.3 allows for fMP4 segments.

H.264 samples in MP4 are NAL units each preceded by its length (ISO/IEC 14496-15, 4-byte lengths as the
``avcC`` FFmpeg writes declares); encoders (libx264) and Chrome's WebM give Annex B byte streams (start codes)
instead, which FFmpeg's own demuxer reads either way but browsers' MSE refuse; the samples given here are
already converted (:func:`altegon_rt.rtc.depacketize.length_prefixed`).
"""

from __future__ import annotations

import struct
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

SYNC_FLAGS = 0x02000000  # sample_depends_on = 2: decodable alone
NON_SYNC_FLAGS = 0x01010000  # sample_depends_on = 1, sample_is_non_sync_sample = 1
TRUN_FLAGS = 0x000001 | 0x000100 | 0x000200 | 0x000400 | 0x000800  # data offset, duration, size, flags, cto
DEFAULT_BASE_IS_MOOF = 0x020000
MAX_BOX = 2**32 - 1


@dataclass(frozen=True, slots=True)
class Sample:
    """One coded frame; times in the track's timescale."""

    data: bytes
    dts: int
    pts: int
    duration: int
    keyframe: bool


@dataclass(frozen=True, slots=True)
class TrackRun:
    """The samples of one track in one fragment."""

    track_id: int
    samples: Sequence[Sample]


def box(kind: bytes, *payload: bytes) -> bytes:
    body = b"".join(payload)
    if len(body) + 8 > MAX_BOX:
        raise ValueError(f"{kind!r} box of {len(body)} bytes is too large")
    return struct.pack(">I4s", len(body) + 8, kind) + body


def full_box(kind: bytes, version: int, flags: int, *payload: bytes) -> bytes:
    return box(kind, struct.pack(">I", (version << 24) | flags), *payload)


def _flags(sample: Sample) -> int:
    return SYNC_FLAGS if sample.keyframe else NON_SYNC_FLAGS


def _traf(run: TrackRun, data_offset: int) -> bytes:
    first = run.samples[0]
    entries = b"".join(
        struct.pack(">IIIi", max(s.duration, 0), len(s.data), _flags(s), s.pts - s.dts) for s in run.samples
    )
    return box(
        b"traf",
        full_box(b"tfhd", 0, DEFAULT_BASE_IS_MOOF, struct.pack(">I", run.track_id)),
        full_box(b"tfdt", 1, 0, struct.pack(">Q", max(first.dts, 0))),
        full_box(b"trun", 1, TRUN_FLAGS, struct.pack(">Ii", len(run.samples), data_offset), entries),
    )


def fragment(sequence: int, runs: Sequence[TrackRun]) -> bytes:
    """One ``moof`` + ``mdat`` holding ``runs`` (tracks without samples are left out)."""
    runs = [r for r in runs if r.samples]
    if not runs:
        raise ValueError("a fragment needs at least one sample")
    # The trun data offsets depend on the moof's size, which does not depend on their values: build twice.
    offsets = [0] * len(runs)
    for _ in range(2):
        moof = box(b"moof", full_box(b"mfhd", 0, 0, struct.pack(">I", sequence)),
                   *(_traf(run, off) for run, off in zip(runs, offsets, strict=True)))  # fmt: skip
        position = len(moof) + 8
        for i, run in enumerate(runs):
            offsets[i] = position
            position += sum(len(s.data) for s in run.samples)
    return moof + box(b"mdat", *(s.data for run in runs for s in run.samples))


def boxes(data: bytes) -> Iterator[tuple[bytes, bytes]]:
    """Top-level ``(type, whole box)`` pairs of ``data``; a size that runs past the end stops the walk."""
    at = 0
    while at + 8 <= len(data):
        size, kind = struct.unpack_from(">I4s", data, at)
        if size == 1 and at + 16 <= len(data):
            size = struct.unpack_from(">Q", data, at + 8)[0]
        elif size == 0:
            size = len(data) - at
        if size < 8 or at + size > len(data):
            return
        yield kind, data[at : at + size]
        at += size


def init_section(muxer_output: bytes) -> bytes:
    """``ftyp`` + ``moov`` of an mp4 muxer's output (written with ``empty_moov``), without what follows."""
    kept = {kind: whole for kind, whole in boxes(muxer_output) if kind in (b"ftyp", b"moov")}
    if set(kept) != {b"ftyp", b"moov"}:
        raise ValueError("the muxer output has no ftyp and moov")
    return kept[b"ftyp"] + kept[b"moov"]
