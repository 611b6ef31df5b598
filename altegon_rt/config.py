"""The one configuration object of an Altegon RT process.

Owns the schema of every key, and how a value arrives: defaults, then a TOML file (unknown keys are
rejected by name), then ``ALTEGON_<SECTION>_<KEY>`` environment variables, then command-line flags, then
:func:`validate`. The result is immutable and passed down explicitly; nothing reads the environment
later.
"""

from __future__ import annotations

import base64
import dataclasses
import ipaddress
import json
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from altegon_rt.errors import ConfigError

ENV_PREFIX = "ALTEGON_"


@dataclass(frozen=True, slots=True)
class ServerSection:
    """The HTTP front: where it listens and how it stops."""

    host: str = "127.0.0.1"
    http_port: int = 8080
    data_dir: str = "./data"
    shutdown_grace_s: float = 10.0
    max_body_bytes: int = 1024 * 1024
    log_level: str = "info"
    trust_proxy_headers: bool = False


@dataclass(frozen=True, slots=True)
class TlsSection:
    """Certificate and key; when both are set the server speaks HTTPS, HTTP/2 and HTTP/3."""

    cert: str = ""
    key: str = ""


@dataclass(frozen=True, slots=True)
class StorageSection:
    """MongoDB when ``mongodb_uri`` is set, otherwise the embedded server under the data dir."""

    mongodb_uri: str = ""
    database: str = "altegon"
    threads: int = 8
    timeout_s: float = 5.0


@dataclass(frozen=True, slots=True)
class AuthSection:
    """Passwords and tokens."""

    jwt_secret: str = ""
    token_lifetime_s: int = 24 * 3600
    scrypt_n: int = 2**14
    password_min_length: int = 8


@dataclass(frozen=True, slots=True)
class EncryptionSection:
    """The secret that encrypts transcripts and summaries at rest (shared with clients that pre-encrypt)."""

    secret: str = ""


@dataclass(frozen=True, slots=True)
class FilesSection:
    """Room file uploads, kept under ``<data dir>/files``."""

    max_upload_bytes: int = 100 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class StorageQuotaSection:
    """Recording blobs: per-user limit, upload size, signed URL lifetime and key, and where the bytes live.

    Under ``<data dir>/blobs`` by default; in an Azure Blob Storage container when ``azure_account`` is set.
    """

    default_limit_bytes: int = 5 * 1024**3
    max_upload_bytes: int = 5 * 1024**3
    sas_ttl_s: int = 3600
    sas_secret: str = ""
    azure_account: str = ""
    azure_key: str = ""
    azure_container: str = "recordings"
    azure_endpoint: str = ""
    azure_timeout_s: float = 60.0

    @property
    def azure_blob_endpoint(self) -> str:
        """The Blob service endpoint: the configured one (Azurite, a sovereign cloud) or the account's public one."""
        return (self.azure_endpoint or f"https://{self.azure_account}.blob.core.windows.net").rstrip("/")


# Per-route limits: (route name, requests per minute per caller), sorted by name. A route's name is its
# operationId in /openapi.json (the handler's name). Which names exist is known to the API layer, not here:
# the server and check-config refuse unknown ones (api/services.py, route_limiters).
RouteLimits = tuple[tuple[str, int], ...]
MAX_ROUTE_LIMIT = 1_000_000

# The Webinar document's Security section gives the storage routes limiters of their own (sasTokenRateLimit,
# blobUploadRateLimit, blobDeleteRateLimit, blobStorageRateLimit): signed URLs are capabilities, uploads are
# large. Room uploads are the same kind of load. Every other route keeps only the family limits.
DEFAULT_ROUTE_LIMITS: RouteLimits = (
    ("delete_blob", 60),
    ("download_blob", 120),
    ("sas_url", 30),
    ("signed_download", 120),
    ("storage_info", 60),
    ("upload_file", 30),
    ("upload_to_blob", 30),
)


@dataclass(frozen=True, slots=True)
class LimitsSection:
    """Rate limits: ``<action>_per_min`` requests per minute, burst of the same size; ``routes`` per route."""

    login_per_ip_per_min: int = 30
    login_per_account_per_min: int = 10
    register_per_ip_per_min: int = 10
    writes_per_account_per_min: int = 600
    summaries_per_account_per_min: int = 10
    routes: RouteLimits = DEFAULT_ROUTE_LIMITS


@dataclass(frozen=True, slots=True)
class AiSection:
    """Meeting summaries: an OpenAI-compatible service when ``openai_base_url`` is set, else the embedded one."""

    openai_base_url: str = ""
    openai_api_key: str = ""
    openai_model: str = "gpt-4o-mini"
    azure_deployment: str = ""
    azure_api_version: str = "2024-06-01"
    timeout_s: float = 60.0


@dataclass(frozen=True, slots=True)
class SpeechSection:
    """Azure Speech: the key and region that ``GET /api/get-speech-token`` exchanges for browser tokens."""

    azure_key: str = ""
    azure_region: str = ""
    token_url: str = ""
    timeout_s: float = 10.0


@dataclass(frozen=True, slots=True)
class GeoSection:
    """GeoIP: a MaxMind DB file (GeoLite2-City or -Country) that locates sessions by client address."""

    database: str = ""


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
    ``height`` 0 compose at the largest track's size, bounded by ``max_width`` x ``max_height``. ``workers``
    composing processes run at once; up to ``max_queued_jobs`` more wait. ``keep_tracks`` keeps the WebM
    tracks after their MP4 is stored (else they are removed).
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
    """RealtimeKit: participant token lifetime; webhook timeouts, retries, queue, concurrency and log size."""

    participant_token_lifetime_s: int = 86400
    webhook_timeout_s: float = 10.0
    webhook_max_attempts: int = 5
    webhook_backoff_s: float = 2.0
    webhook_queue_size: int = 1000
    webhook_concurrency: int = 8
    webhook_log_size: int = 200


@dataclass(frozen=True, slots=True)
class Config:
    """Every setting of one process."""

    server: ServerSection = field(default_factory=ServerSection)
    tls: TlsSection = field(default_factory=TlsSection)
    storage: StorageSection = field(default_factory=StorageSection)
    auth: AuthSection = field(default_factory=AuthSection)
    encryption: EncryptionSection = field(default_factory=EncryptionSection)
    files: FilesSection = field(default_factory=FilesSection)
    storage_quota: StorageQuotaSection = field(default_factory=StorageQuotaSection)
    limits: LimitsSection = field(default_factory=LimitsSection)
    ai: AiSection = field(default_factory=AiSection)
    speech: SpeechSection = field(default_factory=SpeechSection)
    geo: GeoSection = field(default_factory=GeoSection)
    sfu: SfuSection = field(default_factory=SfuSection)
    demo: DemoSection = field(default_factory=DemoSection)
    realtime: RealtimeSection = field(default_factory=RealtimeSection)
    recording: RecordingSection = field(default_factory=RecordingSection)
    hls: HlsSection = field(default_factory=HlsSection)
    rtk: RtkSection = field(default_factory=RtkSection)

    @property
    def data_dir(self) -> Path:
        return Path(self.server.data_dir).expanduser().resolve()

    @property
    def tls_enabled(self) -> bool:
        return bool(self.tls.cert and self.tls.key)


def _sections() -> dict[str, type]:
    return {f.name: f.default_factory for f in fields(Config)}  # type: ignore[misc]


def _coerce(section: str, key: str, raw: Any, kind: type, origin: str) -> Any:
    """Turn a file or environment value into the field's type, or say which key is wrong."""
    name = f"{section}.{key}"
    if isinstance(raw, str) and kind is not str:
        text = raw.strip()
        try:
            if kind is bool:
                if text.lower() in ("1", "true", "yes", "on"):
                    return True
                if text.lower() in ("0", "false", "no", "off"):
                    return False
                raise ValueError(text)
            return kind(text)
        except ValueError:
            raise ConfigError(f"{origin}: {name} must be {kind.__name__}, got {raw!r}") from None
    if kind is float and isinstance(raw, int) and not isinstance(raw, bool):
        return float(raw)
    if type(raw) is not kind:
        raise ConfigError(f"{origin}: {name} must be {kind.__name__}, got {type(raw).__name__} {raw!r}")
    return raw


def _route_limits(current: RouteLimits, raw: Any, origin: str) -> RouteLimits:
    """``current`` with the routes of ``raw`` (a TOML table, or JSON text from the environment) set over it.

    Entries merge one route at a time, so a file or variable that names one route keeps the defaults of
    the others (set a route to 0 to lift its limit).
    """
    name = "limits.routes"
    if isinstance(raw, str):
        try:
            raw = json.loads(raw) if raw.strip() else {}
        except ValueError:
            raise ConfigError(f'{origin}: {name} must be a JSON object such as {{"sas_url": 30}}') from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{origin}: {name} must be a table (in the environment a JSON object) of route name = "
                          "requests per minute")  # fmt: skip
    merged = dict(current)
    for route, value in raw.items():
        if not isinstance(route, str) or not 0 < len(route) <= 100:
            raise ConfigError(f"{origin}: {name} has a key that is not a route name: {route!r}")
        if type(value) is not int:
            raise ConfigError(f"{origin}: {name}.{route} must be int, got {type(value).__name__} {value!r}")
        merged[route] = value
    return tuple(sorted(merged.items()))


def _apply(config: Config, section: str, values: Mapping[str, Any], origin: str) -> Config:
    current = getattr(config, section)
    kinds = {f.name: f.type for f in fields(current)}
    updates: dict[str, Any] = {}
    for key, raw in values.items():
        if key not in kinds:
            raise ConfigError(f"{origin}: unknown key {section}.{key}")
        if kinds[key] == "RouteLimits":
            updates[key] = _route_limits(updates.get(key, getattr(current, key)), raw, origin)
            continue
        kind = {"str": str, "int": int, "float": float, "bool": bool}[kinds[key]]  # type: ignore[index]
        updates[key] = _coerce(section, key, raw, kind, origin)
    return replace(config, **{section: replace(current, **updates)})


def from_file(config: Config, path: str | os.PathLike[str]) -> Config:
    """Overlay a TOML file; unknown sections and keys are errors."""
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    sections = _sections()
    for section, values in data.items():
        if section not in sections:
            raise ConfigError(f"{path}: unknown section [{section}]")
        if not isinstance(values, dict):
            raise ConfigError(f"{path}: [{section}] must be a table")
        config = _apply(config, section, values, str(path))
    return config


def from_env(config: Config, environ: Mapping[str, str]) -> Config:
    """Overlay ``ALTEGON_<SECTION>_<KEY>`` variables; an unknown one is an error (it is a typo)."""
    sections = _sections()
    for name, value in sorted(environ.items()):
        if not name.startswith(ENV_PREFIX):
            continue
        rest = name[len(ENV_PREFIX) :].lower()
        # The longest section name that prefixes the variable wins (storage_quota before storage).
        section = max((s for s in sections if rest.startswith(s + "_")), key=len, default="")
        key = rest[len(section) + 1 :] if section else ""
        known = {f.name for f in fields(sections[section])} if section in sections else set()
        if key not in known:
            raise ConfigError(f"environment: unknown variable {name}")
        config = _apply(config, section, {key: value}, f"environment ({name})")
    return config


def from_flags(config: Config, flags: Mapping[str, Any]) -> Config:
    """Overlay command-line flags given as ``{"section.key": value}``; ``None`` means not given."""
    for dotted, value in flags.items():
        if value is None:
            continue
        section, key = dotted.split(".", 1)
        config = _apply(config, section, {key: value}, "command line")
    return config


def _check_port(name: str, port: int, allow_zero: bool) -> None:
    low = 0 if allow_zero else 1
    if not low <= port <= 65535:
        raise ConfigError(f"{name} must be between {low} and 65535, got {port}")


def _validate_ai(ai: AiSection, speech: SpeechSection) -> None:
    if ai.openai_base_url and not ai.openai_base_url.startswith(("https://", "http://")):
        raise ConfigError("ai.openai_base_url must start with https:// or http://")
    if ai.openai_base_url and not (ai.azure_deployment or ai.openai_model):
        raise ConfigError("ai.openai_model must be set (or ai.azure_deployment for Azure OpenAI)")
    if ai.azure_deployment and not re.fullmatch(r"[A-Za-z0-9._-]{1,64}", ai.azure_deployment):
        raise ConfigError(f"ai.azure_deployment is not a deployment name: {ai.azure_deployment!r}")
    if not re.fullmatch(r"[A-Za-z0-9.-]{1,32}", ai.azure_api_version):
        raise ConfigError(f"ai.azure_api_version is not an API version: {ai.azure_api_version!r}")
    if speech.azure_region and not re.fullmatch(r"[a-z0-9]{1,40}", speech.azure_region):
        raise ConfigError(f"speech.azure_region is not an Azure region name: {speech.azure_region!r}")
    if speech.token_url and not speech.token_url.startswith(("https://", "http://")):
        raise ConfigError("speech.token_url must start with https:// or http://")
    if speech.azure_key and not (speech.azure_region or speech.token_url):
        raise ConfigError("speech.azure_region (or speech.token_url) must be set with speech.azure_key")
    for name, value in (("ai.timeout_s", ai.timeout_s), ("speech.timeout_s", speech.timeout_s)):
        if not 0 < value <= 600:
            raise ConfigError(f"{name} must be between 0 and 600 seconds")


def _validate_azure(q: StorageQuotaSection) -> None:
    if not 0 < q.azure_timeout_s <= 600:
        raise ConfigError("storage_quota.azure_timeout_s must be between 0 and 600 seconds")
    if not q.azure_account:
        if q.azure_key or q.azure_endpoint:
            raise ConfigError("storage_quota.azure_account must be set with azure_key or azure_endpoint")
        return
    if not re.fullmatch(r"[a-z0-9]{3,24}", q.azure_account):
        raise ConfigError(f"storage_quota.azure_account is not a storage account name: {q.azure_account!r}")
    if not q.azure_key:
        raise ConfigError("storage_quota.azure_key must be set with azure_account (the account key, base64)")
    try:
        if not base64.b64decode(q.azure_key, validate=True):
            raise ValueError
    except ValueError:
        raise ConfigError("storage_quota.azure_key is not a base64 account key") from None
    # Azure's container rule: 3-63 of a-z 0-9 and single hyphens, starting and ending with a letter or digit.
    if not re.fullmatch(r"[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){2,62}", q.azure_container):
        raise ConfigError(f"storage_quota.azure_container is not a container name: {q.azure_container!r}")
    if q.azure_endpoint and not re.fullmatch(r"https?://[A-Za-z0-9.:\[\]-]+(/[A-Za-z0-9._~-]+)*/?", q.azure_endpoint):
        raise ConfigError(
            "storage_quota.azure_endpoint must be an http(s) URL without query, e.g. "
            "https://ACCOUNT.blob.core.windows.net or http://127.0.0.1:10000/devstoreaccount1"
        )


def validate(config: Config) -> Config:
    """Check the values that types alone do not; the first problem is raised as one line."""
    s = config.server
    _check_port("server.http_port", s.http_port, allow_zero=True)
    _check_port("sfu.udp_port", config.sfu.udp_port, allow_zero=True)
    if s.shutdown_grace_s < 0:
        raise ConfigError("server.shutdown_grace_s must not be negative")
    if s.max_body_bytes < 1024:
        raise ConfigError("server.max_body_bytes must be at least 1024")
    if s.log_level.lower() not in ("debug", "info", "warning", "error"):
        raise ConfigError(f"server.log_level must be debug, info, warning or error, got {s.log_level!r}")
    if not s.data_dir:
        raise ConfigError("server.data_dir must not be empty")
    if bool(config.tls.cert) != bool(config.tls.key):
        raise ConfigError("tls.cert and tls.key must be set together")
    for name in ("cert", "key"):
        path = getattr(config.tls, name)
        if path and not os.path.isfile(path):
            raise ConfigError(f"tls.{name}: no such file {path}")
    st = config.storage
    if st.mongodb_uri and not st.mongodb_uri.startswith(("mongodb://", "mongodb+srv://")):
        raise ConfigError("storage.mongodb_uri must start with mongodb:// or mongodb+srv://")
    if not 1 <= st.threads <= 256:
        raise ConfigError("storage.threads must be between 1 and 256")
    if st.timeout_s <= 0:
        raise ConfigError("storage.timeout_s must be positive")
    if not st.database or any(c in st.database for c in '/\\. "$'):
        raise ConfigError(f"storage.database is not a valid database name: {st.database!r}")
    a = config.auth
    if a.jwt_secret and len(a.jwt_secret) < 32:
        raise ConfigError("auth.jwt_secret must be at least 32 characters")
    if not 1 <= config.files.max_upload_bytes <= 64 * 1024**3:
        raise ConfigError("files.max_upload_bytes must be between 1 and 64 GiB")
    q = config.storage_quota
    if q.default_limit_bytes < 1 or not 1 <= q.max_upload_bytes <= 64 * 1024**3 or not 1 <= q.sas_ttl_s <= 7 * 86400:
        raise ConfigError("storage_quota: limits must be positive, uploads at most 64 GiB, sas_ttl_s at most 7 days")
    if q.sas_secret and len(q.sas_secret) < 32:
        raise ConfigError("storage_quota.sas_secret must be at least 32 characters")
    _validate_azure(q)
    if config.encryption.secret and len(config.encryption.secret) < 32:
        raise ConfigError("encryption.secret must be at least 32 characters")
    if a.token_lifetime_s < 1:
        raise ConfigError("auth.token_lifetime_s must be at least 1")
    if a.scrypt_n < 2**10 or a.scrypt_n & (a.scrypt_n - 1):
        raise ConfigError("auth.scrypt_n must be a power of two, at least 1024")
    if not 1 <= a.password_min_length <= 128:
        raise ConfigError("auth.password_min_length must be between 1 and 128")
    for f in fields(config.limits):
        if f.name != "routes" and getattr(config.limits, f.name) < 1:
            raise ConfigError(f"limits.{f.name} must be at least 1")
    for route, per_minute in config.limits.routes:
        if not 0 <= per_minute <= MAX_ROUTE_LIMIT:
            raise ConfigError(f"limits.routes.{route} must be between 0 (no limit of its own) and {MAX_ROUTE_LIMIT}")
    _validate_ai(config.ai, config.speech)
    _validate_realtime(config.realtime)
    _validate_recording(config.recording)
    _validate_rtk(config.rtk)
    if config.sfu.screen_shares_per_room < 1 or not 0 < config.sfu.connect_timeout_s <= 600:
        raise ConfigError("sfu.screen_shares_per_room must be at least 1 and sfu.connect_timeout_s in (0, 600]")
    _validate_hls(config.hls)
    if config.geo.database and not os.path.isfile(config.geo.database):
        raise ConfigError(f"geo.database: no such file {config.geo.database}")
    if config.sfu.announced_ip:
        try:
            ipaddress.ip_address(config.sfu.announced_ip)
        except ValueError:
            raise ConfigError(f"sfu.announced_ip is not an IP address: {config.sfu.announced_ip!r}") from None
    return config


def _validate_rtk(rtk: RtkSection) -> None:
    if not 60 <= rtk.participant_token_lifetime_s <= 30 * 86400:
        raise ConfigError("rtk.participant_token_lifetime_s must be between 60 and 2592000 (30 days)")
    if not 0 < rtk.webhook_timeout_s <= 120 or not 0 <= rtk.webhook_backoff_s <= 3600:
        raise ConfigError("rtk.webhook_timeout_s must be in (0, 120] and rtk.webhook_backoff_s in [0, 3600]")
    if not 1 <= rtk.webhook_max_attempts <= 20 or not 1 <= rtk.webhook_concurrency <= 256:
        raise ConfigError("rtk.webhook_max_attempts must be 1-20 and rtk.webhook_concurrency 1-256")
    if not 1 <= rtk.webhook_queue_size <= 1_000_000 or not 1 <= rtk.webhook_log_size <= 100_000:
        raise ConfigError("rtk.webhook_queue_size must be 1-1000000 and rtk.webhook_log_size 1-100000")


def _validate_realtime(rt: RealtimeSection) -> None:
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


def _validate_recording(r: RecordingSection) -> None:
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


def _validate_hls(h: HlsSection) -> None:
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


def load(
    path: str | None = None,
    environ: Mapping[str, str] | None = None,
    flags: Mapping[str, Any] | None = None,
) -> Config:
    """Defaults → file → environment → flags → validate."""
    config = Config()
    if path:
        config = from_file(config, path)
    config = from_env(config, os.environ if environ is None else environ)
    config = from_flags(config, flags or {})
    return validate(config)


def as_dict(config: Config) -> dict[str, Any]:
    """The config as plain data (for ``check-config`` output), secrets masked."""
    data = dataclasses.asdict(config)
    secrets = (
        ("auth", "jwt_secret"),
        ("encryption", "secret"),
        ("ai", "openai_api_key"),
        ("speech", "azure_key"),
        ("storage_quota", "sas_secret"),
        ("storage_quota", "azure_key"),
    )
    for section, key in secrets:
        if data[section][key]:
            data[section][key] = "***"
    data["limits"]["routes"] = dict(config.limits.routes)  # as the file writes it: route = requests per minute
    if "@" in data["storage"]["mongodb_uri"]:
        scheme, _, rest = data["storage"]["mongodb_uri"].partition("://")
        data["storage"]["mongodb_uri"] = f"{scheme}://***@{rest.rpartition('@')[2]}"
    return data
