"""The Cloudflare RealtimeKit v2 REST surface, served at ``/accounts/{account_id}/realtime/kit/...``.

Accounts hold API tokens (``/admin/api-tokens``, :mod:`.auth`), apps, and in each app meetings, participants,
presets and webhooks, stored through ``altegon_rt/store/rtk*.py``. Participants get JWTs that our SFU socket
accepts (:mod:`.participant_tokens`); webhooks are delivered by :mod:`.webhooks`. Sessions, recordings,
livestreams, analytics and the active session are declared and answer 501 until built (:mod:`.pending`).
Routes are declared with the API's own machinery (``altegon_rt.api.routing``), which mounts them.
"""

from __future__ import annotations

from altegon_rt.api.routing import Route
from altegon_rt.rtk import admin_tokens, meetings, participants, pending, presets, webhook_routes

ROUTES: tuple[Route, ...] = (
    *admin_tokens.ROUTES,
    *meetings.ROUTES,
    *participants.ROUTES,
    *presets.ROUTES,
    *webhook_routes.ROUTES,
    *pending.ROUTES,
)
