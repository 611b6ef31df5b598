"""WebM or MP4 in, H.264 + AAC samples out, on PyAV (FFmpeg's libraries in its wheel).

:class:`Transcoder` opens a live Matroska/WebM or fragmented MP4 byte stream (read from byte 0, see
``ingest.py`` and ``source.py``), and turns each demuxed packet into :class:`~altegon_rt.media.fmp4.Sample` s
for the segmenter:

- video: H.264 is passed through (only its framing may change: Annex B start codes, as Chrome's WebM and
  libx264 give them, become MP4's length prefixes; MP4 input has them already). Matroska stores presentation
  times only; with B-frames (RTMP encoders) FFmpeg works the decode times out from them but has none for the
  first few packets: those are held (at most :data:`MAX_HELD`) and given decode times spread before the first
  known one. VP8, VP9 and AV1 are decoded (one thread: frame threading holds frames back until the next chunk)
  and encoded with libx264 (``tune=zerolatency``, no B-frames, one thread), a keyframe forced on every
  ``target_s`` of the timeline and frames scaled to the first size.
- audio: AAC with its configuration (an MP4's ``esds``) is passed through; Opus (and AAC without one, as from
  RTMP through Matroska) is decoded, resampled to 48 kHz stereo in 1024-sample frames and encoded as AAC-LC.

The initialization section is written by FFmpeg's mp4 muxer from the same codec contexts, so its codec
configuration (``avcC``, ``esds``) and timescales are FFmpeg's own.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import av
import av.error

from altegon_rt.media.fmp4 import Sample, init_section
from altegon_rt.rtc.depacketize import length_prefixed

PROBE_OPTIONS = {"probesize": "32", "analyzeduration": "0"}  # answer after the first chunk (media.md)
VIDEO_DECODERS = {"vp8", "vp9", "h264", "av1", "libdav1d"}
MAX_HELD = 16  # passed-through H.264 packets waiting for a decode time
AUDIO_DECODERS = {"opus", "aac", "vorbis"}


class MediaError(Exception):
    """The stream cannot be processed; ``code`` is what the sender is told."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class Encoded:
    kind: str  # "video" or "audio"
    sample: Sample


@dataclass(frozen=True, slots=True)
class TranscodeSettings:
    target_s: float = 2.0
    x264_preset: str = "veryfast"
    video_bitrate: int = 0  # 0: constant quality (crf 23)
    audio_bitrate: int = 128_000
    resume_after_s: float = -1.0  # drop output before this media time (a restarted worker)


def open_input(reader: Any, demuxer: str = "matroska") -> Any:
    """The stream's container, opened with FFmpeg's ``demuxer`` ("matroska" or "mp4") once its header is in."""
    try:
        return av.open(reader, mode="r", format=demuxer, options=PROBE_OPTIONS)
    except (av.error.FFmpegError, ValueError, EOFError) as exc:
        kind = "an MP4" if demuxer == "mp4" else "a WebM"
        raise MediaError("invalid_media", f"not {kind} stream: {exc}") from None


class Transcoder:
    """One live stream from its input container to samples; see the module docstring."""

    def __init__(self, container: Any, settings: TranscodeSettings) -> None:
        self.input = container
        self.settings = settings
        video = container.streams.video[0] if container.streams.video else None
        audio = container.streams.audio[0] if container.streams.audio else None
        for stream in (video, audio):
            if stream is not None and stream.codec_context is None:  # a codec id FFmpeg does not know
                raise MediaError("unsupported_codec", f"the {stream.type} track's codec is not one FFmpeg knows")
        if video is not None and video.codec_context.name not in VIDEO_DECODERS:
            raise MediaError("unsupported_codec",
                             f"video codec {video.codec_context.name} is not VP8, VP9, AV1 or H.264")  # fmt: skip
        if audio is not None and audio.codec_context.name not in AUDIO_DECODERS:
            raise MediaError("unsupported_codec", f"audio codec {audio.codec_context.name} is not Opus or AAC")
        if video is None and audio is None:
            raise MediaError("invalid_media", "the stream has neither video nor audio")
        self.video_in, self.audio_in = video, audio
        self.passthrough = video is not None and video.codec_context.name == "h264"
        # AAC from MP4 (its esds known, its times on the 1024-sample grid) goes to the init section as it is.
        # From Matroska (RTMP) it is re-encoded: block times are whole milliseconds, off that grid, and the
        # samples' durations would jitter by a third of a millisecond.
        self.audio_passthrough = (audio is not None and audio.codec_context.name == "aac"
                                  and bool(audio.codec_context.extradata)
                                  and "mp4" in self.input.format.name.split(","))  # fmt: skip
        self._buffer = io.BytesIO()
        self._muxer = av.open(self._buffer, "w", format="mp4",
                              options={"movflags": "empty_moov+default_base_moof+frag_custom"})  # fmt: skip
        self.video_out = self.audio_out = None
        self._encoder: Any = None
        self._size: tuple[int, int] | None = None
        self._next_key_s: float | None = None
        self._resampler: Any = None
        self._annex_b = False  # whether the video packets have start codes, to be made length-prefixed
        self._held: list[Any] = []  # passed-through packets without a decode time yet (B-frames at the start)
        self._dts_seen = False
        if video is not None:
            self._open_video(video)
        if audio is not None:
            self._open_audio(audio)
        self._muxer.start_encoding()
        self.video_track = (self.video_out.index + 1, self.video_out.time_base.denominator) if self.video_out else None
        self.audio_track = (self.audio_out.index + 1, self.audio_out.time_base.denominator) if self.audio_out else None

    # -- setup --------------------------------------------------------------------------------------------------
    def _open_video(self, video: Any) -> None:
        ctx = video.codec_context
        ctx.thread_count = 1
        if self.passthrough:
            if not ctx.extradata:
                raise MediaError("unsupported_codec", "H.264 without codec configuration (avcC) in the stream's header")
            self.video_out = self._muxer.add_stream_from_template(video)
            # FFmpeg's convention: an avcC (version 1) means length-prefixed packets, else Annex B ones; the
            # mp4 muxer turns Annex B extradata into the init section's avcC with 4-byte lengths.
            self._annex_b = ctx.extradata[0] != 1
            return
        width, height = ctx.width or 0, ctx.height or 0
        if width <= 0 or height <= 0:
            raise MediaError("invalid_media", "the video track has no size")
        self._size = (width - width % 2, height - height % 2)
        out = self._muxer.add_stream("libx264", rate=30)
        enc = out.codec_context
        enc.width, enc.height = self._size
        enc.pix_fmt = "yuv420p"
        enc.time_base = Fraction(1, 1000)
        enc.gop_size = 10_000  # keyframes come from the segment grid, not the encoder
        enc.max_b_frames = 0
        enc.thread_count = 1
        # No scene-cut keyframes (FFmpeg's sc_threshold; "scenecut" is no option of its libx264 wrapper).
        options = {"preset": self.settings.x264_preset, "tune": "zerolatency", "sc_threshold": "0"}
        if self.settings.video_bitrate:
            enc.bit_rate = self.settings.video_bitrate
        else:
            options["crf"] = "23"
        enc.options = options
        enc.open()
        self._encoder = enc
        self._annex_b = True  # libx264's packets always have start codes
        self.video_out = out

    def _open_audio(self, audio: Any) -> None:
        audio.codec_context.thread_count = 1
        if self.audio_passthrough:
            self.audio_out = self._muxer.add_stream_from_template(audio)
            return
        out = self._muxer.add_stream("aac", rate=48000)
        out.layout = "stereo"
        out.codec_context.bit_rate = self.settings.audio_bitrate
        out.codec_context.open()
        self._resampler = av.AudioResampler(format="fltp", layout="stereo", rate=48000,
                                            frame_size=out.codec_context.frame_size or 1024)  # fmt: skip
        self.audio_out = out

    def init_section(self) -> bytes:
        """``ftyp`` + ``moov`` for ``EXT-X-MAP``."""
        self._muxer.close()
        return init_section(self._buffer.getvalue())

    # -- packets ------------------------------------------------------------------------------------------------
    def packets(self) -> Iterator[Any]:
        """The input's packets (``None`` dts: end-of-stream markers are skipped)."""
        streams = [s for s in (self.video_in, self.audio_in) if s is not None]
        for packet in self.input.demux(streams):
            if packet.dts is not None or packet.pts is not None:
                yield packet

    def process(self, packet: Any) -> list[Encoded]:
        """One input packet's output samples; a packet that does not decode raises ``av.error.FFmpegError``."""
        if packet.stream is self.video_in:
            if self.passthrough:
                return self._pass_video(packet)
            return [s for frame in packet.decode() for s in self._encode_video(frame)]
        if self.audio_passthrough:
            return self._pass_audio(packet)
        return [s for frame in packet.decode() for s in self._encode_audio(frame)]

    def finish(self) -> list[Encoded]:
        """Flush the decoders and encoders at the end of the stream."""
        out: list[Encoded] = self._release_held(None) if self._held else []
        if self._encoder is not None:
            assert self.video_in is not None
            for frame in self.video_in.codec_context.decode(None):
                out += self._encode_video(frame)
            out += self._video_samples(self._encoder.encode(None))
        if self.audio_out is not None and not self.audio_passthrough:
            assert self.audio_in is not None
            for frame in self.audio_in.codec_context.decode(None):
                out += self._encode_audio(frame)
            for frame in self._resampler.resample(None):
                out += self._audio_samples(self.audio_out.codec_context.encode(frame))
            out += self._audio_samples(self.audio_out.codec_context.encode(None))
        return out

    def _pass_video(self, packet: Any) -> list[Encoded]:
        if packet.dts is None and not self._dts_seen and packet.pts is not None and len(self._held) < MAX_HELD:
            self._held.append(packet)
            return []
        out = self._release_held(packet.dts) if self._held else []
        self._dts_seen = self._dts_seen or packet.dts is not None
        return out + self._pass_one(packet, packet.dts if packet.dts is not None else packet.pts)

    def _release_held(self, known_dts: int | None) -> list[Encoded]:
        """The held packets, with decode times spread before ``known_dts`` (at most a frame at 30 fps apart; their
        own presentation times when there is no room for them before zero)."""
        held, self._held = self._held, []
        frame = max(1, round(1 / (30 * held[0].time_base)))
        step = max(1, min(frame, (known_dts or 0) // (len(held) + 1)))
        start = known_dts - len(held) * step if known_dts is not None else -1
        out = []
        for i, packet in enumerate(held):
            dts = start + i * step if start >= 0 else packet.pts
            out += self._pass_one(packet, min(dts, packet.pts))
        return out

    def _pass_one(self, packet: Any, dts: int) -> list[Encoded]:
        scale = packet.time_base / self.video_out.time_base
        pts = packet.pts if packet.pts is not None else dts
        if dts * packet.time_base < self.settings.resume_after_s:
            return []
        data = length_prefixed(bytes(packet)) if self._annex_b else bytes(packet)
        sample = Sample(data, round(dts * scale), round(pts * scale), round((packet.duration or 0) * scale),
                        bool(packet.is_keyframe))  # fmt: skip
        return [Encoded("video", sample)]

    def _pass_audio(self, packet: Any) -> list[Encoded]:
        scale = packet.time_base / self.audio_out.time_base
        dts = packet.dts if packet.dts is not None else packet.pts
        if dts < 0 or dts * packet.time_base < self.settings.resume_after_s:
            return []  # before the timeline (an encoder's priming, moved there by an edit list), or published
        pts = packet.pts if packet.pts is not None else dts
        # A sample without a duration lasts one AAC frame: 1024 samples of the output's 1/rate timescale.
        duration = round(packet.duration * scale) if packet.duration else 1024
        sample = Sample(bytes(packet), round(dts * scale), round(pts * scale), duration, True)
        return [Encoded("audio", sample)]

    def _encode_video(self, frame: Any) -> list[Encoded]:
        if frame.pts is None:
            return []
        if frame.time_base is None:  # a frame from flushing the decoder may come without one
            frame.time_base = self.video_in.time_base
        t = float(frame.pts * frame.time_base)
        if t < self.settings.resume_after_s:
            return []
        assert self._size is not None
        out = frame.reformat(width=self._size[0], height=self._size[1], format="yuv420p")
        out.pts = round(t * 1000)
        out.time_base = Fraction(1, 1000)
        if self._next_key_s is None or t >= self._next_key_s - 0.0005:
            out.pict_type = av.video.frame.PictureType.I
            start = t if self._next_key_s is None else self._next_key_s
            self._next_key_s = start + self.settings.target_s
            while self._next_key_s <= t:
                self._next_key_s += self.settings.target_s
        else:
            out.pict_type = av.video.frame.PictureType.NONE
        return self._video_samples(self._encoder.encode(out))

    def _video_samples(self, packets: list[Any]) -> list[Encoded]:
        scale = Fraction(1, 1000) / self.video_out.time_base
        return [Encoded("video", Sample(length_prefixed(bytes(p)), round(p.dts * scale), round(p.pts * scale),
                                        round((p.duration or 0) * scale), bool(p.is_keyframe)))
                for p in packets if p.dts is not None]  # fmt: skip

    def _encode_audio(self, frame: Any) -> list[Encoded]:
        if frame.pts is not None and frame.time_base is None:  # (as in _encode_video)
            frame.time_base = self.audio_in.time_base
        if frame.pts is None or float(frame.pts * frame.time_base) < self.settings.resume_after_s:
            return []
        out: list[Encoded] = []
        for resampled in self._resampler.resample(frame):
            out += self._audio_samples(self.audio_out.codec_context.encode(resampled))
        return out

    def _audio_samples(self, packets: list[Any]) -> list[Encoded]:
        tb = self.audio_out.time_base
        out = []
        for p in packets:
            if p.dts is None or p.dts < 0:
                continue  # AAC's priming frame: before the timeline, and dropped by decoders anyway
            scale = p.time_base / tb if p.time_base else Fraction(1)
            out.append(Encoded("audio", Sample(bytes(p), round(p.dts * scale), round(p.pts * scale),
                                               round((p.duration or 1024) * scale), True)))  # fmt: skip
        return out
