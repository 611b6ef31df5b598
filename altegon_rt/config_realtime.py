"""Config sections of the realtime and media subsystems, with their checks: the SFU, the socket endpoints, the
demo pages, the recording server, live streaming to HLS and RealtimeKit. Part of :mod:`altegon_rt.config`,
which re-exports every name here; kept apart so that neither module outgrows a reader.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from altegon_rt.errors import ConfigError


@dataclass(frozen=True, slots=True)
class SfuSection:
    """The SFU's UDP port and the address it announces in ICE candidates; room rules and timeouts.

    ``screen_shares_per_room``: how many peers of a room may share a screen at once. ``connect_timeout_s``: a
    transport that is not connected this long after ``connectTransport`` is closed.
    """

    udp_port: int = 40000
    announced_ip: str = ""
    screen_shares_per_room: int = 1
    connect_timeout_s: float = 20.0


@dataclass(frozen=True, slots=True)
class DemoSection:
    """The demo pages (``/demo/meet``, ``/demo/live``): where their built script bundles are (empty: the
    package's own)."""

    bundle_dir: str = ""


@dataclass(frozen=True, slots=True)
class RealtimeSection:
    """The Socket.IO endpoints: Engine.IO heartbeat and sizes, per-connection limits, allowed origins.

    ``media_max_payload_bytes`` applies to the HLS and recording sockets, which carry MediaRecorder chunks;
    ``max_payload_bytes`` to the others. ``allowed_origins`` is ``*`` or a comma-separated list of origins.
    """

    ping_interval_s: float = 25.0
    ping_timeout_s: float = 20.0
    max_payload_bytes: int = 1_000_000
    media_max_payload_bytes: int = 16_000_000
    max_buffered_bytes: int = 8_000_000
    events_per_second: float = 100.0
    event_burst: int = 200
    connect_timeout_s: float = 45.0
    allowed_origins: str = "*"


@dataclass(frozen=True, slots=True)
class RecordingSection:
    """The recording server socket: tracks appended under ``<data dir>/recordings``, and composing them into MP4.

    Appends are fsynced every ``fsync_interval_s`` or ``fsync_bytes``, whichever comes first. ``width`` and
    ``height`` 0 compose at the largest track's size (RealtimeKit's grid: 1280x720), bounded by ``max_width`` x
    ``max_height``. ``workers`` composing processes run at once; up to ``max_queued_jobs`` more wait.
    ``keep_tracks`` keeps the WebM tracks after their MP4 is stored (else they are removed).
    """

    max_track_bytes: int = 4 * 1024**3
    max_recording_bytes: int = 16 * 1024**3
    max_tracks: int = 64
    fsync_interval_s: float = 2.0
    fsync_bytes: int = 4 * 1024**2
    io_threads: int = 4
    width: int = 0
    height: int = 0
    max_width: int = 1920
    max_height: int = 1080
    preset: str = "veryfast"
    crf: int = 23
    audio_bitrate: int = 128_000
    encoder_threads: int = 2
    workers: int = 1
    max_queued_jobs: int = 16
    job_timeout_s: float = 3600.0
    keep_tracks: bool = False


@dataclass(frozen=True, slots=True)
class HlsSection:
    """Live streaming to HLS (``/stream/socket.io/`` in, ``/hls/{streamId}/`` out): segment timing, worker
    processes, disk bounds and retention."""

    target_duration_s: float = 2.0
    part_duration_s: float = 0.5
    window_segments: int = 6
    x264_preset: str = "veryfast"
    max_streams: int = 4
    max_restarts: int = 3
    max_stream_bytes: int = 2 * 1024**3
    sender_timeout_s: float = 30.0
    ended_retention_s: float = 600.0
    reload_timeout_s: float = 6.0


HLS_X264_PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium")


@dataclass(frozen=True, slots=True)
class RtkSection:
    """RealtimeKit: participant token lifetime; webhooks (timeouts, retries, queue, log); session keep-alive cap;
    the RTMP ingest of independent livestreams (its TCP port, 0 for a free one, and the host in their URLs)."""

    participant_token_lifetime_s: int = 86400
    webhook_timeout_s: float = 10.0
    webhook_max_attempts: int = 5
    webhook_backoff_s: float = 2.0
    webhook_queue_size: int = 1000
    webhook_concurrency: int = 8
    webhook_log_size: int = 200
    session_keep_alive_cap_s: float = 600.0
    rtmp_port: int = 1935
    rtmp_host: str = ""


def validate_rtk(rtk: RtkSection) -> None:
    if not 60 <= rtk.participant_token_lifetime_s <= 30 * 86400:
        raise ConfigError("rtk.participant_token_lifetime_s must be between 60 and 2592000 (30 days)")
    if not 0 < rtk.webhook_timeout_s <= 120 or not 0 <= rtk.webhook_backoff_s <= 3600:
        raise ConfigError("rtk.webhook_timeout_s must be in (0, 120] and rtk.webhook_backoff_s in [0, 3600]")
    if not 1 <= rtk.webhook_max_attempts <= 20 or not 1 <= rtk.webhook_concurrency <= 256:
        raise ConfigError("rtk.webhook_max_attempts must be 1-20 and rtk.webhook_concurrency 1-256")
    if not 1 <= rtk.webhook_queue_size <= 1_000_000 or not 1 <= rtk.webhook_log_size <= 100_000:
        raise ConfigError("rtk.webhook_queue_size must be 1-1000000 and rtk.webhook_log_size 1-100000")
    if not 0 <= rtk.session_keep_alive_cap_s <= 600:
        raise ConfigError("rtk.session_keep_alive_cap_s must be between 0 and 600")
    if not 0 <= rtk.rtmp_port <= 65535:
        raise ConfigError(f"rtk.rtmp_port must be between 0 and 65535, got {rtk.rtmp_port}")
    if rtk.rtmp_host and not re.fullmatch(r"[A-Za-z0-9.-]{1,253}|\[[0-9A-Fa-f:.]{2,45}\]", rtk.rtmp_host):
        raise ConfigError(f"rtk.rtmp_host must be a host name or an IP address (IPv6 in brackets): {rtk.rtmp_host!r}")


def validate_realtime(rt: RealtimeSection) -> None:
    if not 1 <= rt.ping_interval_s <= 3600 or not 1 <= rt.ping_timeout_s <= 3600:
        raise ConfigError("realtime.ping_interval_s and ping_timeout_s must be between 1 and 3600")
    if not 1024 <= rt.max_payload_bytes <= 256 * 1024**2 or not 1024 <= rt.media_max_payload_bytes <= 256 * 1024**2:
        raise ConfigError("realtime.max_payload_bytes and media_max_payload_bytes must be between 1 KiB and 256 MiB")
    if rt.max_buffered_bytes < 64 * 1024:
        raise ConfigError("realtime.max_buffered_bytes must be at least 64 KiB")
    if rt.events_per_second <= 0 or rt.event_burst < 1 or rt.connect_timeout_s <= 0:
        raise ConfigError("realtime.events_per_second, event_burst and connect_timeout_s must be positive")
    origins = [o.strip() for o in rt.allowed_origins.split(",") if o.strip()]
    if not origins or any(o != "*" and not o.startswith(("http://", "https://")) for o in origins):
        raise ConfigError("realtime.allowed_origins must be * or a comma-separated list of http(s) origins")


X264_PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow")


def validate_recording(r: RecordingSection) -> None:
    if r.max_track_bytes < 1024 or r.max_recording_bytes < r.max_track_bytes:
        raise ConfigError("recording.max_track_bytes must be at least 1024 and max_recording_bytes at least that")
    if not 1 <= r.max_tracks <= 10_000 or not 1 <= r.io_threads <= 64:
        raise ConfigError("recording.max_tracks must be between 1 and 10000, recording.io_threads between 1 and 64")
    if not 0 < r.fsync_interval_s <= 300 or r.fsync_bytes < 4096:
        raise ConfigError("recording.fsync_interval_s must be in (0, 300] and recording.fsync_bytes at least 4096")
    if (r.width == 0) != (r.height == 0) or not (r.width == 0 or (16 <= r.width <= 7680 and 16 <= r.height <= 4320)):
        raise ConfigError("recording.width and height must both be 0 (the largest track's) or 16x16 to 7680x4320")
    if not (16 <= r.max_width <= 7680 and 16 <= r.max_height <= 4320):
        raise ConfigError("recording.max_width and max_height must be between 16x16 and 7680x4320")
    if r.preset not in X264_PRESETS:
        raise ConfigError(f"recording.preset must be one of {', '.join(X264_PRESETS)}, got {r.preset!r}")
    if not 0 <= r.crf <= 51 or not 16_000 <= r.audio_bitrate <= 512_000 or not 0 <= r.encoder_threads <= 64:
        raise ConfigError("recording.crf must be 0-51, audio_bitrate 16000-512000, encoder_threads 0-64")
    if not 1 <= r.workers <= 64 or not 0 <= r.max_queued_jobs <= 10_000 or r.job_timeout_s <= 0:
        raise ConfigError("recording.workers must be 1-64, max_queued_jobs 0-10000, job_timeout_s positive")


def validate_hls(h: HlsSection) -> None:
    if not 1 <= h.target_duration_s <= 10:
        raise ConfigError("hls.target_duration_s must be between 1 and 10 seconds")
    if not 0.1 <= h.part_duration_s <= h.target_duration_s / 2:
        raise ConfigError("hls.part_duration_s must be between 0.1 s and half of hls.target_duration_s")
    if not 2 <= h.window_segments <= 100:
        raise ConfigError("hls.window_segments must be between 2 and 100")
    if h.x264_preset not in HLS_X264_PRESETS:
        raise ConfigError(f"hls.x264_preset must be one of {', '.join(HLS_X264_PRESETS)}, got {h.x264_preset!r}")
    if not 0 <= h.max_streams <= 1000 or not 0 <= h.max_restarts <= 100:
        raise ConfigError("hls.max_streams must be 0-1000 and hls.max_restarts 0-100")
    if h.max_stream_bytes < 1024**2:
        raise ConfigError("hls.max_stream_bytes must be at least 1 MiB")
    if h.sender_timeout_s <= 0 or h.ended_retention_s < 0 or not 0 < h.reload_timeout_s <= 60:
        raise ConfigError("hls.sender_timeout_s must be positive, hls.ended_retention_s not negative, "
                          "hls.reload_timeout_s 0-60 s")  # fmt: skip
