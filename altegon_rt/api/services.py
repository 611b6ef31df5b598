"""What request handlers may use: config, storage, token issuer, authenticator, limits, audit log, GeoIP.

Built once by the Server and handed to the app; handlers reach it through :class:`Call`.
"""

from __future__ import annotations

import difflib
import logging
import os
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

import trio

from altegon_rt.ai.provider import ExtractiveProvider, SummaryProvider
from altegon_rt.ai.speech import SpeechTokens
from altegon_rt.auth import passwords
from altegon_rt.auth.principal import Authenticator, Principal
from altegon_rt.auth.ratelimit import RateLimiter, retry_after
from altegon_rt.auth.tokens import TokenIssuer
from altegon_rt.config import Config, LimitsSection, SpeechSection
from altegon_rt.crypto.transcript_cipher import TranscriptCipher
from altegon_rt.errors import ConfigError, TooManyRequests
from altegon_rt.files.blobstore import BlobStores
from altegon_rt.files.disk import FileDisk
from altegon_rt.files.signing import UrlSigner
from altegon_rt.geo.locator import GeoLocator
from altegon_rt.media.live import LiveStreams
from altegon_rt.store import Store

log = logging.getLogger("altegon_rt.audit")


def route_limiters(config: LimitsSection, route_names: Collection[str]) -> dict[str, RateLimiter]:
    """One limiter per route that has a limit of its own (``limits.routes``; 0 means none).

    Raises ConfigError naming the key for a route name that no route has: a typo must not silently leave
    a route unlimited. This is checked here, where the routes are known, for ``serve`` and ``check-config``.
    """
    known = set(route_names)
    for name, _ in config.routes:
        if name not in known:
            close = difflib.get_close_matches(name, sorted(known), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ConfigError(f"limits.routes.{name}: no route is named {name!r}{hint}; "
                              "route names are the operationIds in /openapi.json")  # fmt: skip
    return {name: RateLimiter(per_minute) for name, per_minute in config.routes if per_minute > 0}


@dataclass(slots=True)
class Limits:
    """The rate limiters of this process: one per (action, key kind), and one per route that has its own."""

    login_ip: RateLimiter
    login_account: RateLimiter
    register_ip: RateLimiter
    writes_account: RateLimiter
    summaries_account: RateLimiter
    routes: dict[str, RateLimiter] = field(default_factory=dict)  # by route name; per principal, or per IP

    @classmethod
    def from_config(cls, config: Config, route_names: Collection[str]) -> Limits:
        c = config.limits
        return cls(
            RateLimiter(c.login_per_ip_per_min),
            RateLimiter(c.login_per_account_per_min),
            RateLimiter(c.register_per_ip_per_min),
            RateLimiter(c.writes_per_account_per_min),
            RateLimiter(c.summaries_per_account_per_min),
            route_limiters(c, route_names),
        )

    @staticmethod
    def check(limiter: RateLimiter, key: str, what: str) -> None:
        wait = limiter.hit(key, trio.current_time())
        if wait > 0:
            seconds = retry_after(wait)
            raise TooManyRequests(f"too many {what}; retry in {seconds} s", retry_after_s=seconds)


@dataclass(slots=True)
class Services:
    config: Config
    store: Store
    tokens: TokenIssuer
    authenticator: Authenticator
    limits: Limits
    cipher: TranscriptCipher
    files: FileDisk
    # scrypt is CPU bound: at most one hash per core but one, so a login burst cannot starve the rest of the
    # server (measured: 64 clients logging in halved the list route's throughput with two hashes at a time).
    hash_limiter: trio.CapacityLimiter = field(
        default_factory=lambda: trio.CapacityLimiter(max(1, (os.cpu_count() or 2) - 1))
    )
    # Decrypting a transcript is CPU work (key derivation, AES): in worker threads, a few at a time.
    crypto_limiter: trio.CapacityLimiter = field(default_factory=lambda: trio.CapacityLimiter(2))
    dummy_hash: str = ""
    # Meeting summaries (embedded unless [ai] names a service) and Azure Speech tokens; built from config.
    summarizer: SummaryProvider = field(default_factory=ExtractiveProvider)
    speech: SpeechTokens = field(default_factory=lambda: SpeechTokens(SpeechSection()))
    # Recording blobs' back ends (the data dir, and Azure Blob Storage when configured) and the key of our own
    # signed URLs (GET /blob/{token}); set by the Server.
    blobs: BlobStores | None = None
    signer: UrlSigner | None = None
    # Client address → location for recorded sessions ([geo]); without a database every answer is "Unknown".
    geo: GeoLocator = field(default_factory=GeoLocator)
    # Live streams to HLS (the HLS socket writes, the /hls/ routes read); set by the Server.
    live: LiveStreams | None = None
    # The RealtimeKit surface (altegon_rt.rtk.RtkServices): token checks, participant tokens, webhooks.
    rtk: Any = None
    # Filled by create_app from the route declarations.
    openapi: dict[str, Any] = field(default_factory=dict)
    docs_html: str = ""

    async def hash_password(self, password: str) -> str:
        n = self.config.auth.scrypt_n
        return await trio.to_thread.run_sync(passwords.hash_password, password, n, limiter=self.hash_limiter)

    async def verify_password(self, password: str, stored: str) -> bool:
        return await trio.to_thread.run_sync(passwords.verify_password, password, stored, limiter=self.hash_limiter)

    async def audit(
        self,
        *,
        action: str,
        outcome: str,
        actor: Principal | str | None,
        ip: str,
        request_id: str,
        target: dict[str, Any] | None = None,
    ) -> None:
        """Write one audit entry (durably); also logged, so an operator sees it without the database."""
        actor_id = actor.user_id if isinstance(actor, Principal) else actor
        entry = {
            "action": action,
            "outcome": outcome,
            "actor": actor_id,
            "ip": ip,
            "requestId": request_id,
            "target": target or {},
        }
        log.info("audit %s %s actor=%s ip=%s target=%s", action, outcome, actor_id, ip, target or {})
        await self.store.audit.record(entry)
