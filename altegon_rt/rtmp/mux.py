"""RTMP's FLV tags → one live Matroska byte stream (sans-IO), as the HLS pipeline reads MediaRecorder's WebM.

:class:`FlvMuxer` takes the audio and video message bodies of a publish (and its ``onMetaData``):

- The header waits for the codec configurations: the AVC sequence header becomes the video track's ``avcC``
  CodecPrivate (``V_MPEG4/ISO/AVC``), the AAC one its ``AudioSpecificConfig`` (``A_AAC``). Encoders send
  both before their first frame; a track that ``onMetaData`` announces but whose configuration has not come
  is waited for up to :data:`WAIT_MS` of media, then left out. Frames before their configuration are dropped.
- Video starts at its first key frame; NAL unit lengths of 1 or 2 bytes are rewritten to 4 (the ``avcC``
  says so), 4-byte ones pass as they are. Matroska block times are presentation times: the message
  timestamp (the DTS) plus the tag's composition time, so B-frames keep their order.
- Times start at 0 with the first frame; each track's DTS never goes back.
- A configuration that changes mid-stream (a new resolution) cannot change a Matroska track: refused, the
  encoder must publish again.
"""

from __future__ import annotations

from typing import Any

from altegon_rt.media.matroska import MatroskaWriter, TrackCodec, TrackSpec, h264_size
from altegon_rt.rtmp.errors import RemoteProtocolError, UnsupportedMedia
from altegon_rt.rtmp.flv import AacConfig, AvcConfig, parse_audio, parse_video

WAIT_MS = 1000
MAX_PENDING = 1000  # frames held before the header
VIDEO, AUDIO = "video", "audio"


def four_byte_lengths(data: bytes, size: int) -> bytes:
    """NAL units after ``size``-byte lengths → after 4-byte lengths (checked: the lengths must add up)."""
    out, pos = [], 0
    while pos < len(data):
        if pos + size > len(data):
            raise RemoteProtocolError("an H.264 frame ends inside a NAL unit length")
        length = int.from_bytes(data[pos : pos + size], "big")
        pos += size
        if length == 0 or pos + length > len(data):
            raise RemoteProtocolError("an H.264 frame whose NAL unit lengths do not add up")
        if size != 4:
            out.append(length.to_bytes(4, "big") + data[pos : pos + length])
        pos += length
    return data if size == 4 else b"".join(out)


class FlvMuxer:
    """See the module docstring. Each call answers the bytes to append to the stream."""

    def __init__(self) -> None:
        self.avc: AvcConfig | None = None
        self.aac: AacConfig | None = None
        self.announced: set[str] = set()
        self.writer: MatroskaWriter | None = None
        self.tracks: dict[str, int] = {}
        self._pending: list[tuple[str, int, int, bytes, bool]] = []
        self._base: int | None = None
        self._last_dts: dict[str, int] = {}
        self._video_started = False
        self.frames_written = 0
        self.dropped = 0

    @property
    def started(self) -> bool:
        return self.writer is not None

    def metadata(self, values: dict[str, Any]) -> None:
        """``onMetaData``: which tracks to wait for (a codec id of 0 or none means no such track)."""
        for kind in (VIDEO, AUDIO):
            if values.get(f"{kind}codecid") not in (None, 0, 0.0, ""):
                self.announced.add(kind)

    def video(self, timestamp: int, payload: bytes) -> bytes:
        parsed = parse_video(payload)
        if isinstance(parsed, AvcConfig):
            self.avc = self._config(VIDEO, self.avc, parsed, parsed.record)
            return b""
        if parsed is None or self.avc is None:
            self.dropped += parsed is not None
            return b""
        data = four_byte_lengths(parsed.data, self.avc.length_size)
        dts = self._dts(VIDEO, timestamp)
        return self._frame(VIDEO, dts, max(dts + parsed.composition_ms, 0), data, parsed.keyframe)

    def audio(self, timestamp: int, payload: bytes) -> bytes:
        parsed = parse_audio(payload)
        if isinstance(parsed, AacConfig):
            self.aac = self._config(AUDIO, self.aac, parsed, parsed.asc)
            return b""
        if parsed is None or self.aac is None:
            self.dropped += parsed is not None
            return b""
        dts = self._dts(AUDIO, timestamp)
        return self._frame(AUDIO, dts, dts, parsed.data, True)

    def finish(self) -> bytes:
        """The end of the publish: frames still held are written (a stream that never started writes nothing)."""
        return self._start() if self.writer is None and self._pending else b""

    # -- inside -------------------------------------------------------------------------------------------------
    def _config(self, kind: str, old: Any, new: Any, raw: bytes) -> Any:
        if self.writer is not None and kind in self.tracks and old is not None and raw != _raw(old):
            raise UnsupportedMedia(f"the {kind} configuration changed mid-stream (a new size or format): "
                                   "stop and publish again")  # fmt: skip
        return new if self.writer is None or old is None else old

    def _dts(self, kind: str, timestamp: int) -> int:
        if self._base is None:
            self._base = timestamp
        dts = max(timestamp - self._base, self._last_dts.get(kind, 0))
        self._last_dts[kind] = dts
        return dts

    def _frame(self, kind: str, dts: int, time_ms: int, data: bytes, key: bool) -> bytes:
        if self.writer is None:
            if len(self._pending) >= MAX_PENDING:
                self._pending.pop(0)
                self.dropped += 1
            self._pending.append((kind, dts, time_ms, data, key))
            return self._start() if self._ready(dts) else b""
        return self._block(kind, time_ms, data, key)

    def _ready(self, dts: int) -> bool:
        video = self.avc is not None or VIDEO not in self.announced
        audio = self.aac is not None or AUDIO not in self.announced
        return (video and audio) or dts - self._pending[0][1] >= WAIT_MS

    def _start(self) -> bytes:
        specs = []
        if self.avc is not None:
            width, height = h264_size(self.avc.sps)
            record = self.avc.record if self.avc.length_size == 4 else _four_byte_record(self.avc.record)
            specs.append(TrackSpec(1, TrackCodec.H264, width, height, record, length_prefixed=True))
        if self.aac is not None:
            specs.append(TrackSpec(len(specs) + 1, TrackCodec.AAC, codec_private=self.aac.asc,
                                   sample_rate=self.aac.sample_rate, channels=self.aac.channels))  # fmt: skip
        if not specs:
            self._pending.clear()
            return b""
        self.tracks = {(VIDEO if s.codec.is_video else AUDIO): s.number for s in specs}
        self.writer = MatroskaWriter(specs)
        out = [self.writer.header()]
        pending, self._pending = self._pending, []
        out += [self._block(kind, time_ms, data, key) for kind, _, time_ms, data, key in pending]
        return b"".join(out)

    def _block(self, kind: str, time_ms: int, data: bytes, key: bool) -> bytes:
        assert self.writer is not None
        if kind not in self.tracks:
            self.dropped += 1
            return b""
        if kind == VIDEO and not self._video_started:
            if not key:
                self.dropped += 1
                return b""
            self._video_started = True
        self.frames_written += 1
        return self.writer.block(self.tracks[kind], time_ms, data, key)


def _raw(config: AvcConfig | AacConfig) -> bytes:
    return config.record if isinstance(config, AvcConfig) else config.asc


def _four_byte_record(record: bytes) -> bytes:
    """The ``avcC`` with ``lengthSizeMinusOne`` = 3 (the frames' lengths were rewritten to 4 bytes)."""
    return record[:4] + bytes([record[4] | 0x03]) + record[5:]
