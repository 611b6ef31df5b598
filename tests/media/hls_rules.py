"""An independent reader of HLS media playlists that checks RFC 8216's rules (and LL-HLS's, rfc8216bis).

Written from the RFC's text for the tests, separately from ``altegon_rt.media.playlist``: :func:`check` parses
one playlist and raises ``AssertionError`` naming the broken rule; :func:`check_reload` checks what must hold
between two successive loads of the same live playlist (RFC 8216 §6.2.1, §6.2.2).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

_ATTR = re.compile(r'([A-Z0-9-]+)=("[^"]*"|[^",]*)')
KNOWN_TAGS = {
    "#EXTM3U", "#EXT-X-VERSION", "#EXT-X-TARGETDURATION", "#EXT-X-MEDIA-SEQUENCE", "#EXT-X-DISCONTINUITY-SEQUENCE",
    "#EXT-X-DISCONTINUITY", "#EXT-X-MAP", "#EXT-X-PROGRAM-DATE-TIME", "#EXTINF", "#EXT-X-ENDLIST", "#EXT-X-PART",
    "#EXT-X-PART-INF", "#EXT-X-SERVER-CONTROL", "#EXT-X-PRELOAD-HINT", "#EXT-X-INDEPENDENT-SEGMENTS",
}  # fmt: skip
_DATE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")


def attributes(text: str) -> dict[str, str]:
    return {k: v.strip('"') for k, v in _ATTR.findall(text)}


@dataclass
class PartLine:
    uri: str
    duration: float
    independent: bool


@dataclass
class SegmentLine:
    msn: int
    uri: str
    duration: float
    parts: list[PartLine] = field(default_factory=list)
    discontinuity: bool = False
    map_uri: str | None = None
    date: str | None = None


@dataclass
class Playlist:
    version: int
    target_duration: int
    media_sequence: int
    discontinuity_sequence: int
    segments: list[SegmentLine]
    open_parts: list[PartLine]  # parts after the last complete segment
    part_target: float | None
    part_hold_back: float | None
    can_block_reload: bool
    preload_hint: str | None
    ended: bool


def check(text: str) -> Playlist:
    lines = [line for line in text.split("\n") if line.strip()]
    assert lines and lines[0] == "#EXTM3U", "4.3.1.1: the first line must be #EXTM3U"
    assert text.endswith("\n"), "every line ends with a line terminator"
    seen_once: dict[str, str] = {}
    segments: list[SegmentLine] = []
    pending = SegmentLine(-1, "", 0.0)
    current_map: str | None = None
    extinf: float | None = None
    preload: str | None = None
    ended = False
    float_durations = False
    for line in lines[1:]:
        assert not ended, "4.3.3.4: nothing after EXT-X-ENDLIST in our playlists"
        if not line.startswith("#"):
            assert extinf is not None, f"4.3.2.1: URI {line!r} without an EXTINF before it"
            pending.uri, pending.duration = line, extinf
            pending.map_uri = current_map
            segments.append(pending)
            pending, extinf = SegmentLine(-1, "", 0.0), None
            continue
        if not line.startswith("#EXT"):
            continue  # a comment
        tag, _, value = line.partition(":")
        assert tag in KNOWN_TAGS, f"unknown tag {tag}"
        assert preload is None or tag in ("#EXT-X-ENDLIST",), f"{tag} after EXT-X-PRELOAD-HINT"
        if tag in ("#EXT-X-VERSION", "#EXT-X-TARGETDURATION", "#EXT-X-MEDIA-SEQUENCE", "#EXT-X-PART-INF",
                   "#EXT-X-SERVER-CONTROL", "#EXT-X-DISCONTINUITY-SEQUENCE"):  # fmt: skip
            assert tag not in seen_once, f"{tag} appears more than once"
            assert not segments and not pending.parts, f"4.3.3: {tag} must come before the first segment"
            seen_once[tag] = value
        elif tag == "#EXTINF":
            assert extinf is None, "two EXTINF without a URI between them"
            duration_text = value.split(",", 1)[0]
            float_durations |= "." in duration_text
            extinf = float(duration_text)
        elif tag == "#EXT-X-DISCONTINUITY":
            pending.discontinuity = True
        elif tag == "#EXT-X-MAP":
            current_map = attributes(value)["URI"]
        elif tag == "#EXT-X-PROGRAM-DATE-TIME":
            assert _DATE.match(value), f"4.3.2.6: date-time {value!r} is not ISO 8601 with a time zone"
            pending.date = value
        elif tag == "#EXT-X-PART":
            attrs = attributes(value)
            pending.parts.append(PartLine(attrs["URI"], float(attrs["DURATION"]), attrs.get("INDEPENDENT") == "YES"))
        elif tag == "#EXT-X-PRELOAD-HINT":
            attrs = attributes(value)
            assert attrs.get("TYPE") == "PART" and attrs.get("URI"), "PRELOAD-HINT needs TYPE=PART and a URI"
            preload = attrs["URI"]
        elif tag == "#EXT-X-ENDLIST":
            ended = True
    assert extinf is None, "an EXTINF without its URI at the end"
    for tag in ("#EXT-X-TARGETDURATION",):
        assert tag in seen_once, f"4.3.3.1: {tag} is required"
    target = int(seen_once["#EXT-X-TARGETDURATION"])
    version = int(seen_once.get("#EXT-X-VERSION", "1"))
    media_sequence = int(seen_once.get("#EXT-X-MEDIA-SEQUENCE", "0"))
    for i, segment in enumerate(segments):
        segment.msn = media_sequence + i
        rounded = math.floor(segment.duration + 0.5)
        assert rounded <= target, f"4.3.3.1: EXTINF {segment.duration} rounds above TARGETDURATION {target}"
        assert segment.duration > 0
    if float_durations:
        assert version >= 3, "7: floating-point EXTINF needs version 3"
    if any(s.map_uri for s in segments) or current_map:
        assert version >= 6, "7: EXT-X-MAP in a playlist without I-FRAMES-ONLY needs version 6"
        assert segments[0].map_uri if segments else True, "the first segment needs its EXT-X-MAP"
    part_target = hold_back = None
    can_block = False
    if "#EXT-X-SERVER-CONTROL" in seen_once:
        control = attributes(seen_once["#EXT-X-SERVER-CONTROL"])
        can_block = control.get("CAN-BLOCK-RELOAD") == "YES"
        if "PART-HOLD-BACK" in control:
            hold_back = float(control["PART-HOLD-BACK"])
    all_parts = [p for s in segments for p in s.parts] + pending.parts
    if "#EXT-X-PART-INF" in seen_once:
        part_target = float(attributes(seen_once["#EXT-X-PART-INF"])["PART-TARGET"])
        assert hold_back is not None and hold_back >= 2 * part_target, "PART-HOLD-BACK must be at least 2 parts"
    if all_parts:
        assert part_target is not None, "EXT-X-PART needs EXT-X-PART-INF"
        for part in all_parts:
            assert 0 < part.duration <= part_target, f"part {part.uri} of {part.duration} s exceeds PART-TARGET"
        for segment in segments:
            if segment.parts:
                total = sum(p.duration for p in segment.parts)
                assert abs(total - segment.duration) < 0.002 * (1 + len(segment.parts)), (
                    f"parts of {segment.uri} add up to {total}, EXTINF says {segment.duration}"
                )
    if part_target is not None and not ended:
        # Parts must be listed for the segments within three target durations of the live edge.
        behind = sum(p.duration for p in pending.parts)
        for segment in reversed(segments):
            if behind >= 3 * target:
                break
            assert segment.parts, f"segment {segment.uri} is within 3 target durations but lists no parts"
            behind += segment.duration
    if preload is not None:
        assert part_target is not None and not ended, "PRELOAD-HINT only in a live LL-HLS playlist"
    return Playlist(
        version, target, media_sequence, int(seen_once.get("#EXT-X-DISCONTINUITY-SEQUENCE", "0")), segments,
        pending.parts, part_target, hold_back, can_block, preload, ended,
    )  # fmt: skip


def check_reload(before: Playlist, after: Playlist) -> None:
    """RFC 8216 §6.2.1/6.2.2: what a server may not change between two loads of one live playlist."""
    assert after.target_duration == before.target_duration, "6.2.1: EXT-X-TARGETDURATION must not change"
    assert after.media_sequence >= before.media_sequence, "6.2.1: the media sequence number must not decrease"
    last_before = before.media_sequence + len(before.segments)
    assert after.media_sequence + len(after.segments) >= last_before, "6.2.1: segments must not vanish from the end"
    by_msn = {s.msn: s for s in before.segments}
    for segment in after.segments:
        old = by_msn.get(segment.msn)
        if old is not None:
            assert (old.uri, old.duration, old.discontinuity) == (segment.uri, segment.duration,
                                                                   segment.discontinuity), (
                f"6.2.1: segment {segment.msn} changed between reloads"
            )  # fmt: skip
    removed_discontinuities = sum(s.discontinuity for s in before.segments if s.msn < after.media_sequence)
    assert after.discontinuity_sequence == before.discontinuity_sequence + removed_discontinuities, (
        "6.2.2: EXT-X-DISCONTINUITY-SEQUENCE must count the discontinuities that left the playlist"
    )
    if before.ended:
        assert after.ended and len(after.segments) == len(before.segments), "nothing may follow EXT-X-ENDLIST"
