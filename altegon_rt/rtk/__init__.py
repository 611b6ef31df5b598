"""The Cloudflare RealtimeKit v2 REST surface, served at ``/accounts/{account_id}/realtime/kit/...``.

Accounts hold API tokens (``/admin/api-tokens``, :mod:`.auth`), apps, and in each app meetings, participants,
presets and webhooks, stored through ``altegon_rt/store/rtk*.py``. Participants get JWTs that our SFU socket
accepts (:mod:`.participant_tokens`); webhooks are delivered by :mod:`.webhooks`. Recordings and meeting
livestreams (:mod:`.recordings`, :mod:`.livestreams`, worked by :mod:`.media`) tap the SFU; sessions and the
active session are declared and answer 501 until built (:mod:`.pending`).
Routes are declared with the API's own machinery (``altegon_rt.api.routing``), which mounts them.
"""

from __future__ import annotations

from altegon_rt.api.routing import Route
from altegon_rt.rtk import (
    admin_tokens,
    livestreams,
    meetings,
    participants,
    pending,
    presets,
    recordings,
    webhook_routes,
)

ROUTES: tuple[Route, ...] = (
    *admin_tokens.ROUTES,
    *meetings.ROUTES,
    *participants.ROUTES,
    *presets.ROUTES,
    *webhook_routes.ROUTES,
    *recordings.ROUTES,
    *livestreams.ROUTES,
    *pending.ROUTES,
)
