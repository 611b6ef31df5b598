"""What the RealtimeKit routes and sockets share: token checks, participant tokens, webhooks, app lookups.

Built once by the Server (:class:`RtkServices`) and reached by handlers as ``call.services.rtk``. Once the SFU
socket exists, :meth:`RtkServices.attach` adds the live sessions (``tracker``), their files and the SFU policy.
"""

from __future__ import annotations

from typing import Any

from altegon_rt.config import RtkSection
from altegon_rt.errors import NotFound, ServiceUnavailable
from altegon_rt.realtime.sfu import SfuSocket
from altegon_rt.rtk.auth import RtkAuthenticator, RtkPrincipal
from altegon_rt.rtk.participant_tokens import ParticipantGate, ParticipantTokens
from altegon_rt.rtk.session_files import SessionFiles
from altegon_rt.rtk.sessions import SessionTracker
from altegon_rt.rtk.sfu_policy import RtkSfuPolicy
from altegon_rt.rtk.webhooks import WebhookDispatcher

MAX_KNOWN_APPS = 100_000


class RtkServices:
    def __init__(self, config: RtkSection, store: Any, secret: str) -> None:
        self.config = config
        self.store = store
        self.authenticator = RtkAuthenticator(store.rtk_tokens.by_prefix)
        self.participant_tokens = ParticipantTokens(secret, config.participant_token_lifetime_s)
        self.gate = ParticipantGate(self.participant_tokens, store)
        self.webhooks = WebhookDispatcher(config, store)
        self.media: Any = None  # RtkMedia (recordings, livestreams), set by the Server once the SFU and HLS exist
        self.ingest: Any = None  # IndependentLivestreams (RTMP), set by the Server once HLS exists
        # Apps are never deleted, so an (account, app) pair once found stays valid: no lookup per request.
        self._known_apps: set[tuple[str, str]] = set()
        self._live: tuple[SessionTracker, SessionFiles, RtkSfuPolicy] | None = None

    def attach(self, sfu: SfuSocket, files: SessionFiles) -> SessionTracker:
        """Run meetings' sessions on the SFU socket; the tracker's ``run`` is for the server's nursery."""
        tracker = SessionTracker(self.store, self.webhooks, self.config.session_keep_alive_cap_s, files.on_ended)
        policy = sfu.policy = RtkSfuPolicy(sfu.server, self.store, tracker, files)
        self._live = (tracker, files, policy)
        return tracker

    @property
    def live(self) -> tuple[SessionTracker, SessionFiles, RtkSfuPolicy]:
        """The live sessions, their files and the SFU policy (503 until the SFU is attached)."""
        if self._live is None:
            raise ServiceUnavailable("the SFU is not running", code="sfu_unavailable")
        return self._live

    async def authenticate(self, authorization: str | None, account_id: str) -> RtkPrincipal:
        return await self.authenticator.authenticate(authorization, account_id)

    async def require_app(self, account_id: str, app_id: str) -> None:
        """NotFound unless the account has this app."""
        if (account_id, app_id) in self._known_apps:
            return
        if await self.store.rtk_apps.get(account_id, app_id) is None:
            raise NotFound(f"app {app_id} not found in this account", code="app_not_found")
        if len(self._known_apps) >= MAX_KNOWN_APPS:
            self._known_apps.clear()
        self._known_apps.add((account_id, app_id))
