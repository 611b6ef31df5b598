"""The Cloudflare RealtimeKit v2 REST surface, served at ``/accounts/{account_id}/realtime/kit/...``.

Accounts hold API tokens (``/admin/api-tokens``, :mod:`.auth`), apps, and in each app meetings, participants,
presets and webhooks, stored through ``altegon_rt/store/rtk*.py``. Participants get JWTs that our SFU socket
accepts (:mod:`.participant_tokens`) and join their meeting's room with, under their preset's permissions
(:mod:`.sfu_policy`); a meeting's sessions are tracked (:mod:`.sessions`, :mod:`.session_files`) and served
(:mod:`.session_routes`, :mod:`.active_session`: kick, polls); webhooks are delivered by :mod:`.webhooks`.
Recordings and meeting livestreams (:mod:`.recordings`, :mod:`.livestreams`, worked by :mod:`.media`) tap the
SFU; what is not built yet answers 501 (:mod:`.pending`).
Routes are declared with the API's own machinery (``altegon_rt.api.routing``), which mounts them.
"""

from __future__ import annotations

from altegon_rt.api.routing import Route
from altegon_rt.rtk import (
    active_session,
    admin_tokens,
    livestreams,
    meetings,
    participants,
    pending,
    presets,
    recordings,
    session_routes,
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
    *session_routes.ROUTES,
    *active_session.ROUTES,
    *pending.ROUTES,
)
