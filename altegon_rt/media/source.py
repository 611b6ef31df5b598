"""What a live stream's sender sends: the container and codecs its ``mimeType`` names (sans-IO, no PyAV).

MediaRecorder writes one of two containers, and :func:`parse_mime_type` maps the ``mimeType`` it was made
with (RFC 6381 ``codecs`` parameter) to a :class:`SourceFormat`:

- WebM (Matroska, RFC 9559): Chrome and Firefox; VP8, VP9, H.264 or AV1 video, Opus audio. It starts with
  the EBML magic ``1A 45 DF A3``.
- Fragmented MP4 (ISO/IEC 14496-12): Safari, and newer Chrome; H.264 (``avc1``, or ``avc3`` with parameter
  sets in band too), VP9 (``vp09``) or AV1 (``av01``) video, AAC (``mp4a.40.x``) or Opus audio (Chromium 156
  on Linux records avc1, avc3, vp9 or av01 with Opus; it has no AAC encoder there). MediaRecorder writes
  ``ftyp`` + ``moov`` first, then ``moof`` + ``mdat`` fragments, so the stream starts with a box header whose
  type is ``ftyp``.

The sender's stream is stored from byte 0 and read by FFmpeg's demuxer of that container (``demuxer``),
non-seekable, as it grows (``ingest.py``). HEVC is refused: FFmpeg decodes it, but browsers that play HLS
do not all decode it, and Chrome records it only where the platform has an encoder.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

ANY = -1  # a byte of a stream's first bytes that may take any value


@dataclass(frozen=True, slots=True)
class SourceFormat:
    """One container a stream may be sent in."""

    name: str  # "webm" or "mp4"
    demuxer: str  # FFmpeg's input format name
    file_name: str  # the stored source, in the stream's directory
    head: tuple[int, ...]  # the first bytes every stream of this container starts with (ANY: any byte)
    head_description: str

    def accepts_head(self, head: bytes) -> bool:
        """Whether ``head`` (a stream's first bytes, possibly fewer than ``len(self.head)``) may start it."""
        if len(head) > len(self.head):
            head = head[: len(self.head)]
        return all(want in (ANY, got) for want, got in zip(self.head, head, strict=False))


WEBM = SourceFormat("webm", "matroska", "source.webm", (0x1A, 0x45, 0xDF, 0xA3), "the WebM (EBML) header")
# A box header: a 32-bit size (an ftyp box is a few dozen bytes: its top two bytes are zero), then "ftyp".
MP4 = SourceFormat("mp4", "mp4", "source.mp4", (0, 0, ANY, ANY, *b"ftyp"), "an MP4 'ftyp' box")

_MIME = re.compile(r"^(video|audio)/(webm|x-matroska|mp4)\s*(;\s*codecs\s*=\s*\"?([^\"]*)\"?)?\s*$", re.IGNORECASE)
_VIDEO = r"vp8(\.0)?|vp9(\.0)?|vp09(\.[0-9.]+)?|av1|av01(\.[0-9a-z.]+)?|h264|avc1(\.[0-9a-f]+)?"
_MP4_VIDEO = r"vp9|vp09(\.[0-9.]+)?|av1|av01(\.[0-9a-z.]+)?|h264|avc[13](\.[0-9a-f]+)?"
_CODECS = {
    WEBM: re.compile(rf"^({_VIDEO}|opus)$", re.IGNORECASE),
    MP4: re.compile(rf"^({_MP4_VIDEO}|opus|aac|mp4a(\.40\.(2|5|29))?)$", re.IGNORECASE),
}
SUPPORTED = (
    "video/webm with vp8, vp9, av1 or h264 (and opus), e.g. 'video/webm;codecs=vp8,opus', "
    "or video/mp4 with avc1, avc3, vp9 or av01 and mp4a.40.2 or opus, e.g. 'video/mp4;codecs=avc1,mp4a.40.2'"
)


def parse_mime_type(value: str) -> SourceFormat:
    """The container of MediaRecorder's ``mimeType``; ``ValueError`` when it, or one of its codecs, is not
    one we ingest."""
    match = _MIME.match(value.strip())
    if match is None:
        raise ValueError(f"mimeType {value!r} is not supported: send {SUPPORTED}")
    source = MP4 if match.group(2).lower() == "mp4" else WEBM
    codecs = [c.strip() for c in (match.group(4) or "").split(",") if c.strip()]
    refused = [c for c in codecs if not _CODECS[source].match(c)]
    if refused:
        raise ValueError(f"mimeType {value!r} is not supported (codec {refused[0]!r}): send {SUPPORTED}")
    return source
