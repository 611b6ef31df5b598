"""RealtimeKit recordings, livestreams and livestream sessions (per app, UUID ids, snake_case fields)."""

from __future__ import annotations

from pymongo import ASCENDING, DESCENDING

from altegon_rt.store.rtk import ScopedRepository


class RtkRecordingRepository(ScopedRepository):
    COLLECTION = "rtk_recordings"
    INDEXES = [
        ([("app_id", ASCENDING), ("created_at", DESCENDING), ("_id", DESCENDING)], {"name": "app_created"}),
        ([("app_id", ASCENDING), ("meeting_id", ASCENDING), ("status", ASCENDING)], {"name": "meeting_status"}),
    ]


class RtkLivestreamRepository(ScopedRepository):
    COLLECTION = "rtk_livestreams"
    INDEXES = [
        ([("app_id", ASCENDING), ("created_at", DESCENDING), ("_id", DESCENDING)], {"name": "app_created"}),
        ([("app_id", ASCENDING), ("meeting_id", ASCENDING)], {"name": "meeting"}),
    ]


class RtkLivestreamSessionRepository(ScopedRepository):
    COLLECTION = "rtk_livestream_sessions"
    INDEXES = [
        ([("app_id", ASCENDING), ("livestream_id", ASCENDING), ("created_at", DESCENDING)], {"name": "livestream"}),
    ]
