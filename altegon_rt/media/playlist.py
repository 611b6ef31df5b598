"""A sans-IO HLS media playlist for one live stream: RFC 8216 with the Low-Latency HLS extensions of its
second edition (draft-pantos-hls-rfc8216bis: ``EXT-X-PART``, ``EXT-X-PART-INF``, ``EXT-X-SERVER-CONTROL``,
``EXT-X-PRELOAD-HINT``, blocking playlist reload).

:class:`MediaPlaylist` is told what the segmenter produced (parts, segments, a new initialization section,
a discontinuity, the end) and renders the playlist text. It never reads the clock (program date-times are
passed in) and never touches files: URIs that leave the sliding window are collected for the caller to
delete (:meth:`MediaPlaylist.take_removed`).

Rules kept here (RFC 8216 §4.3.3.1, §6.2.1; rfc8216bis §4.4.4.9, §6.2.2, §6.2.5.2):

- ``EXT-X-TARGETDURATION`` is fixed when the playlist is made and every ``EXTINF`` rounded to the nearest
  integer is at most that; a longer segment is refused (:class:`PlaylistError`), never published.
- ``EXT-X-MEDIA-SEQUENCE`` is the number of the first segment listed; ``EXT-X-DISCONTINUITY-SEQUENCE`` counts
  the discontinuity tags of segments that left the window.
- every part is at most ``PART-TARGET`` long; parts are listed for the segments within three target
  durations of the live edge (older ones are dropped from the text and their files from disk).
- ``PART-HOLD-BACK`` is three part targets (the draft's minimum is two).
"""

from __future__ import annotations

import datetime
import enum
import math
from collections import deque
from dataclasses import dataclass, field

MAX_WINDOW = 1000


class PlaylistError(ValueError):
    """The caller asked for something the playlist rules forbid (a bug in the segmenter, not the peer)."""


@dataclass(frozen=True, slots=True)
class Part:
    uri: str
    duration: float
    independent: bool


@dataclass(slots=True)
class Segment:
    msn: int
    uri: str = ""
    duration: float = 0.0
    parts: list[Part] = field(default_factory=list)
    discontinuity: bool = False
    map_uri: str | None = None
    program_date_time: float | None = None  # seconds since the epoch, UTC


class Reload(enum.Enum):
    """What a blocking reload (``_HLS_msn``/``_HLS_part``) should do now."""

    READY = "ready"  # the playlist holds what was asked for: answer
    WAIT = "wait"  # not yet: hold the request (for a bounded time)
    TOO_FAR = "too_far"  # more than two segments ahead of the live edge: 400


def format_date_time(epoch_s: float) -> str:
    """ISO 8601 with milliseconds and ``Z``, as ``EXT-X-PROGRAM-DATE-TIME`` wants it."""
    moment = datetime.datetime.fromtimestamp(epoch_s, tz=datetime.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def nearest_integer(value: float) -> int:
    """RFC 8216's "rounded to the nearest integer" (halves up, unlike Python's ``round``)."""
    return math.floor(value + 0.5)


class MediaPlaylist:
    """The media playlist of one live stream; see the module docstring.

    Args:
        target_duration: seconds, an integer fixed for the life of the stream.
        window: how many complete segments the live playlist lists.
        part_target: the LL-HLS part target in seconds; ``None`` for a playlist without parts.
        map_uri: the initialization section (fMP4); ``None`` for MPEG-TS.
    """

    def __init__(self, *, target_duration: int, window: int = 6, part_target: float | None = None,
                 map_uri: str | None = None) -> None:  # fmt: skip
        if not 1 <= target_duration <= 3600:
            raise PlaylistError(f"target duration must be 1-3600 s, got {target_duration}")
        if not 2 <= window <= MAX_WINDOW:
            raise PlaylistError(f"window must be 2-{MAX_WINDOW} segments, got {window}")
        if part_target is not None and not 0.05 <= part_target <= target_duration:
            raise PlaylistError(f"part target must be 0.05 s to the target duration, got {part_target}")
        self.target_duration = target_duration
        self.window = window
        self.part_target = part_target
        self.segments: deque[Segment] = deque()
        self.open = Segment(0, map_uri=map_uri)  # the segment whose parts are being written
        self.discontinuity_sequence = 0
        self.ended = False
        self.preload_hint: str | None = None
        self._removed: list[str] = []

    # -- what the segmenter reports -----------------------------------------------------------------------------
    @property
    def next_msn(self) -> int:
        """The media sequence number of the segment being written."""
        return self.open.msn

    def set_map(self, uri: str) -> None:
        """A new initialization section applies from the segment being written on (after a restart)."""
        self._check_open()
        if self.open.parts:
            raise PlaylistError("the initialization section can only change between segments")
        old, self.open.map_uri = self.open.map_uri, uri
        if old and old != uri and all(s.map_uri != old for s in self.segments):
            self._removed.append(old)

    def discontinuity(self) -> None:
        """The segment being written follows a break in timestamps or encoding (a restarted worker)."""
        self._check_open()
        if self.open.parts:
            raise PlaylistError("a discontinuity can only start a segment")
        self.open.discontinuity = True

    def add_part(self, uri: str, duration: float, *, independent: bool,
                 program_date_time: float | None = None) -> None:  # fmt: skip
        """A part of the segment being written is complete and readable at ``uri``.

        ``program_date_time`` (epoch seconds) of the first part dates the segment.
        """
        self._check_open()
        if self.part_target is None:
            raise PlaylistError("this playlist has no parts")
        if not 0 < duration <= self.part_target + 0.0005:
            raise PlaylistError(f"part of {duration:.3f} s: parts must be >0 and at most {self.part_target} s")
        self.open.parts.append(Part(uri, duration, independent))
        if self.open.program_date_time is None:
            self.open.program_date_time = program_date_time
        self.preload_hint = None

    def add_segment(self, uri: str, duration: float, *, program_date_time: float | None = None) -> None:
        """The segment being written is complete and readable at ``uri``; the next one opens."""
        self._check_open()
        if not duration > 0 or nearest_integer(duration) > self.target_duration:
            raise PlaylistError(f"segment of {duration:.3f} s does not fit the target duration "
                                f"{self.target_duration} s")  # fmt: skip
        if self.part_target is not None:
            total = sum(p.duration for p in self.open.parts)
            if not self.open.parts or abs(total - duration) > 0.001 * len(self.open.parts):
                raise PlaylistError(f"segment of {duration:.3f} s is not the sum of its parts ({total:.3f} s)")
        done = self.open
        done.uri, done.duration = uri, duration
        if program_date_time is not None:
            done.program_date_time = program_date_time
        self.segments.append(done)
        self.open = Segment(done.msn + 1, map_uri=done.map_uri)
        self.preload_hint = None
        while len(self.segments) > self.window:
            gone = self.segments.popleft()
            self.discontinuity_sequence += gone.discontinuity
            self._removed += [p.uri for p in gone.parts] + [gone.uri]
            if gone.map_uri and all(s.map_uri != gone.map_uri for s in (*self.segments, self.open)):
                self._removed.append(gone.map_uri)
        self._trim_parts()

    def hint(self, uri: str) -> None:
        """The next part will be at ``uri`` (``EXT-X-PRELOAD-HINT``)."""
        if not self.ended and self.part_target is not None:
            self.preload_hint = uri

    def end(self) -> None:
        """No more segments (``EXT-X-ENDLIST``); parts of an unfinished segment are dropped."""
        if self.ended:
            return
        self.ended = True
        self._removed += [p.uri for p in self.open.parts]
        self.open.parts = []
        self.preload_hint = None

    def take_removed(self) -> list[str]:
        """URIs no longer listed (their files may go), since the last call."""
        removed, self._removed = self._removed, []
        return removed

    def _check_open(self) -> None:
        if self.ended:
            raise PlaylistError("the playlist has ended")

    def _trim_parts(self) -> None:
        """Keep parts only for segments within three target durations of the live edge."""
        horizon = 3 * self.target_duration
        behind = 0.0
        for segment in reversed(self.segments):
            if behind >= horizon and segment.parts:
                self._removed += [p.uri for p in segment.parts]
                segment.parts = []
            behind += segment.duration

    # -- blocking reload ----------------------------------------------------------------------------------------
    def reload_status(self, msn: int, part: int | None = None) -> Reload:
        """Whether a request with ``_HLS_msn=msn`` (and ``_HLS_part=part``) can be answered now."""
        if self.ended:
            return Reload.READY
        if msn > self.open.msn + 1:  # the last listed segment is open.msn - 1: at most two ahead
            return Reload.TOO_FAR
        if msn < self.open.msn:
            return Reload.READY
        if part is None:
            return Reload.WAIT  # segment msn is not complete yet
        if msn == self.open.msn and part < len(self.open.parts):
            return Reload.READY
        return Reload.WAIT

    # -- text ---------------------------------------------------------------------------------------------------
    def render(self) -> str:
        """The playlist as it stands."""
        first = self.segments[0].msn if self.segments else self.open.msn
        lines = ["#EXTM3U", f"#EXT-X-VERSION:{6 if self.open.map_uri else 3}",
                 f"#EXT-X-TARGETDURATION:{self.target_duration}"]  # fmt: skip
        if self.part_target is not None:
            hold = 3 * self.part_target
            lines.append(f"#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK={hold:.3f}")
            lines.append(f"#EXT-X-PART-INF:PART-TARGET={self.part_target:.3f}")
        lines.append(f"#EXT-X-MEDIA-SEQUENCE:{first}")
        if self.discontinuity_sequence:
            lines.append(f"#EXT-X-DISCONTINUITY-SEQUENCE:{self.discontinuity_sequence}")
        current_map: str | None = None
        listed = [*self.segments, self.open] if self.open.parts else list(self.segments)
        for segment in listed:
            if segment.discontinuity:
                lines.append("#EXT-X-DISCONTINUITY")
            if segment.map_uri and segment.map_uri != current_map:
                lines.append(f'#EXT-X-MAP:URI="{segment.map_uri}"')
                current_map = segment.map_uri
            if segment.program_date_time is not None:
                lines.append(f"#EXT-X-PROGRAM-DATE-TIME:{format_date_time(segment.program_date_time)}")
            for part in segment.parts:
                independent = ",INDEPENDENT=YES" if part.independent else ""
                lines.append(f'#EXT-X-PART:DURATION={part.duration:.3f},URI="{part.uri}"{independent}')
            if segment is not self.open:
                lines += [f"#EXTINF:{segment.duration:.3f},", segment.uri]
        if self.preload_hint:
            lines.append(f'#EXT-X-PRELOAD-HINT:TYPE=PART,URI="{self.preload_hint}"')
        if self.ended:
            lines.append("#EXT-X-ENDLIST")
        return "\n".join(lines) + "\n"
