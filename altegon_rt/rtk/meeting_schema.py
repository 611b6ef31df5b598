"""The RealtimeKit meeting and participant documents: fields, enums, bounds and defaults, as the spec gives them.

Used for the request bodies (create, PATCH, PUT; add and edit a participant) and for the answers in
``/openapi.json``. Write-only secrets of a recording ``storage_config`` (``access_key``, ``secret``,
``password``, ``private_key``) are stored but never answered (:func:`readable_meeting`).
"""

from __future__ import annotations

from typing import Any

from altegon_rt.rtk.jsonschema import (
    DATE_TIME,
    UUID_STRING,
    Body,
    boolean,
    enum,
    integer,
    obj,
    string,
)

SUMMARY_TYPES = (
    "general",
    "team_meeting",
    "sales_call",
    "client_check_in",
    "interview",
    "daily_standup",
    "one_on_one_meeting",
    "lecture",
    "code_review",
)
LANGUAGES = ("en-US", "en-IN", "de", "hi", "sv", "ru", "pl", "el", "fr", "nl")
STATUSES = ("ACTIVE", "INACTIVE")
STORAGE_TYPES = ("aws", "azure", "digitalocean", "gcs", "sftp")
WRITE_ONLY = ("access_key", "secret", "password", "private_key")
URI = string("URL", max_length=2048, format="uri")

AI_CONFIG = obj(
    {
        "summarization": obj(
            {
                "summary_type": enum(SUMMARY_TYPES, "Style of the summary", default="general"),
                "text_format": enum(("plain_text", "markdown"), "Text format of the summary", default="markdown"),
                "word_limit": integer(150, 1000, "Maximum number of words in the summary", default=500),
            },
            description="Summary Config",
            default={"summary_type": "general", "text_format": "markdown", "word_limit": 500},
        ),
        "transcription": obj(
            {
                "keywords": {
                    "type": "array",
                    "items": string(max_length=100),
                    "maxItems": 100,
                    "default": [],
                    "description": "Terms that improve detection during transcription",
                },
                "language": enum(LANGUAGES, "Language code for transcription", default="en-US"),
                "profanity_filter": boolean("Control the inclusion of offensive language", default=False),
            },
            description="Transcription Configurations",
            default={"keywords": [], "language": "en-US", "profanity_filter": False},
        ),
    },
    description="The AI Config allows you to customize the behavior of meeting transcriptions and summaries",
)
AI_CONFIG["default"] = {
    "summarization": AI_CONFIG["properties"]["summarization"]["default"],
    "transcription": AI_CONFIG["properties"]["transcription"]["default"],
}

STORAGE_CONFIG = {
    **obj(
        {
            "type": enum(STORAGE_TYPES, "Type of storage media"),
            "access_key": string("Access key of the storage medium (write-only)", max_length=1024),
            "auth_method": enum(("KEY", "PASSWORD"), "Authentication method for sftp"),
            "bucket": string("Name of the storage medium's bucket", max_length=256),
            "host": string("SSH destination server host for sftp", max_length=256),
            "password": string("SSH password, or the private key's passphrase (write-only)", max_length=1024),
            "path": string("Path relative to the bucket root", max_length=1024),
            "port": integer(1, 65535, "SSH destination server port for sftp"),
            "private_key": string("SSH private key for sftp (write-only)", max_length=16_384),
            "region": string("Region of the storage medium", max_length=64),
            "secret": string("Secret key of the storage medium (write-only)", max_length=1024),
            "username": string("SSH destination server username for sftp", max_length=256),
        },
        ("type",),
    ),
    "type": ["object", "null"],
}

RECORDING_CONFIG = obj(
    {
        "audio_config": obj(
            {
                "channel": enum(("mono", "stereo"), "Audio channels"),
                "codec": enum(("MP3", "AAC"), "Audio codec"),
                "export_file": boolean("Export the audio file separately"),
            }
        ),
        "file_name_prefix": string("Prefix of the recording's file name", max_length=100),
        "live_streaming_config": obj({"rtmp_url": {**URI, "description": "RTMP URL to stream to"}}),
        "max_seconds": integer(60, 86400, "Maximum duration of the recording in seconds"),
        "realtimekit_bucket_config": obj({"enabled": boolean("Upload recordings to our storage")}, ("enabled",)),
        "storage_config": STORAGE_CONFIG,
        "video_config": obj(
            {
                "codec": enum(("H264", "VP8"), "Video codec"),
                "export_file": boolean("Export the video file separately"),
                "height": integer(1, 1920, "Height of the recording in pixels"),
                "width": integer(1, 1920, "Width of the recording in pixels"),
                "watermark": obj(
                    {
                        "position": enum(
                            ("left top", "right top", "left bottom", "right bottom"), "Watermark position"
                        ),
                        "size": obj(
                            {"height": integer(1, 10_000, "Height in px"), "width": integer(1, 10_000, "Width in px")}
                        ),
                        "url": {**URI, "description": "URL of the watermark image"},
                    }
                ),
            }
        ),
    },
    description="Recording configuration of this meeting (over the app's)",
)

MEETING_FIELDS: dict[str, Any] = {
    "title": string("Title of the meeting", max_length=256),
    "ai_config": AI_CONFIG,
    "live_stream_on_start": boolean("Start livestreaming when the meeting starts", default=False),
    "persist_chat": boolean("Keep the meeting's chat for a week", default=False),
    "record_on_start": boolean("Start recording as soon as someone joins", default=False),
    "recording_config": RECORDING_CONFIG,
    "session_keep_alive_time_in_secs": integer(
        60, 600, "Seconds a session stays active after the last participant left", default=60
    ),
    "status": enum(STATUSES, "ACTIVE or INACTIVE; nobody can join an INACTIVE meeting", default="ACTIVE"),
    "summarize_on_end": boolean("Summarize the transcript when the meeting ends", default=False),
}
MEETING_SCHEMA = obj(MEETING_FIELDS)
CREATE_MEETING = Body("RtkCreateMeetingRequest", MEETING_SCHEMA)
REPLACE_MEETING = Body("RtkReplaceMeetingRequest", MEETING_SCHEMA)
UPDATE_MEETING = Body("RtkUpdateMeetingRequest", MEETING_SCHEMA, partial=True)


def _readable(schema: dict[str, Any]) -> dict[str, Any]:
    """An answer's schema: the request's, without defaults and write-only fields."""
    out = {k: v for k, v in schema.items() if k not in ("default", "properties")}
    if "properties" in schema:
        out["properties"] = {
            key: _readable(value)
            for key, value in schema["properties"].items()
            if not (schema is STORAGE_CONFIG and key in WRITE_ONLY)
        }
    return out


MEETING = obj(
    {
        "id": {**UUID_STRING, "description": "ID of the meeting"},
        "created_at": DATE_TIME,
        "updated_at": DATE_TIME,
        **{k: _readable(v) for k, v in MEETING_FIELDS.items()},
    },
    ("id", "created_at", "updated_at"),
)


def readable_meeting(doc: dict[str, Any]) -> dict[str, Any]:
    """A stored meeting as answered: ``id`` and timestamps, no write-only storage secrets."""
    out: dict[str, Any] = {"id": doc["_id"], "created_at": doc["created_at"], "updated_at": doc["updated_at"]}
    for key in MEETING_FIELDS:
        if doc.get(key) is not None:
            out[key] = doc[key]
    storage = (out.get("recording_config") or {}).get("storage_config")
    if storage:
        out["recording_config"] = {
            **out["recording_config"],
            "storage_config": {k: v for k, v in storage.items() if k not in WRITE_ONLY},
        }
    return out


# -- participants -------------------------------------------------------------------------------------------
PARTICIPANT_FIELDS: dict[str, Any] = {
    "name": {**string("Name of the participant", max_length=256), "type": ["string", "null"]},
    "picture": {**URI, "type": ["string", "null"], "description": "URL to a picture of the participant"},
    "preset_name": string("Name of the preset to apply to the participant", max_length=256, min_length=1),
    "custom_participant_id": string("A unique participant ID generated by the client", max_length=256, min_length=1),
}
ADD_PARTICIPANT = Body("RtkAddParticipantRequest", obj(PARTICIPANT_FIELDS, ("preset_name", "custom_participant_id")))
EDIT_PARTICIPANT = Body(
    "RtkEditParticipantRequest",
    obj({k: v for k, v in PARTICIPANT_FIELDS.items() if k != "custom_participant_id"}),
    partial=True,
)
PARTICIPANT = obj(
    {
        "id": {**UUID_STRING, "description": "ID of the participant"},
        "created_at": DATE_TIME,
        "updated_at": DATE_TIME,
        **PARTICIPANT_FIELDS,
    },
    ("id", "created_at", "updated_at", "custom_participant_id", "preset_name"),
)
PARTICIPANT_WITH_TOKEN = {
    **PARTICIPANT,
    "properties": {**PARTICIPANT["properties"], "token": string("The participant's auth token", max_length=4096)},
    "required": [*PARTICIPANT["required"], "token"],
}
DELETED_PARTICIPANT = obj(
    {
        "created_at": DATE_TIME,
        "updated_at": DATE_TIME,
        "custom_participant_id": string(max_length=256),
        "preset_id": UUID_STRING,
    },
    ("created_at", "custom_participant_id", "preset_id", "updated_at"),
)


def readable_participant(doc: dict[str, Any], token: str | None = None) -> dict[str, Any]:
    out = {
        "id": doc["_id"],
        "created_at": doc["created_at"],
        "updated_at": doc["updated_at"],
        "custom_participant_id": doc["custom_participant_id"],
        "preset_name": doc["preset_name"],
        "name": doc.get("name"),
        "picture": doc.get("picture"),
    }
    if token is not None:
        out["token"] = token
    return out
