"""What a meeting asks for when its session starts: ``record_on_start`` and ``live_stream_on_start``.

A meeting created with either flag is recorded (with its ``recording_config``) or livestreamed from the moment
its first participant joins, as if the API had been called then; the recording's ``start_reason`` says
``RECORD_ON_START``. A failure (no capacity, one already running) is logged and leaves the session alone.
"""

from __future__ import annotations

import logging
from typing import Any

from altegon_rt.errors import ApiError
from altegon_rt.rtk.sessions import LiveSession

log = logging.getLogger(__name__)


class StartOfSession:
    """``SessionTracker.on_started`` for RealtimeKit: starts what the meeting's flags ask for.

    Args:
        media: the RealtimeKit media capture (``RtkMedia``: ``start_recording``, ``start_livestream``).
    """

    def __init__(self, media: Any) -> None:
        self._media = media

    async def __call__(self, session: LiveSession, account_id: str) -> None:
        meeting = session.meeting
        if meeting.get("record_on_start"):
            options = {**(meeting.get("recording_config") or {}), "start_reason": "RECORD_ON_START"}
            try:
                await self._media.start_recording(session.app_id, account_id, session.meeting_id, options)
            except ApiError as exc:
                log.warning("meeting %s: record_on_start did not start: %s", session.meeting_id, exc)
        if meeting.get("live_stream_on_start"):
            try:
                await self._media.start_livestream(session.app_id, session.meeting_id, meeting.get("title"))
            except ApiError as exc:
                log.warning("meeting %s: live_stream_on_start did not start: %s", session.meeting_id, exc)
