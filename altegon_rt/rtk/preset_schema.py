"""The RealtimeKit preset document: ``config``, ``ui`` and ``permissions``, with the spec's enums and our defaults.

``name``, ``config`` and ``ui`` are required on create, as the spec has them; every design token and every
permission has a default, so a preset may give only what differs (the defaults are those of an ordinary
participant of a group call: may speak, show video and share a screen, chat, vote; may not record, kick or
livestream). ``ui.config_diff`` is free-form JSON.
"""

from __future__ import annotations

from typing import Any

from altegon_rt.rtk.jsonschema import DATE_TIME, UUID_STRING, Body, boolean, enum, integer, obj, string

QUALITY = ("hd", "vga", "qvga")
PRODUCE = ("ALLOWED", "NOT_ALLOWED", "CAN_REQUEST")
COLOR = string("A CSS colour", max_length=64)


def _media(frame_rate_max: int, what: str) -> dict[str, Any]:
    return obj(
        {
            "frame_rate": integer(1, frame_rate_max, f"Frame rate of {what}"),
            "quality": enum(QUALITY, f"{what} quality"),
        },
        ("frame_rate", "quality"),
    )


CONFIG = obj(
    {
        "max_screenshare_count": integer(0, 100, "Maximum number of screen shares active at a time"),
        "max_video_streams": obj(
            {
                "desktop": integer(0, 100, "Video streams visible on desktop devices"),
                "mobile": integer(0, 100, "Video streams visible on mobile devices"),
            },
            ("desktop", "mobile"),
            "Maximum number of streams that are visible on a device",
        ),
        "media": obj(
            {
                "screenshare": _media(30, "screen share"),
                "video": _media(30, "participants' video"),
                "audio": obj(
                    {"enable_high_bitrate": boolean("High quality audio"), "enable_stereo": boolean("Stereo audio")}
                ),
            },
            ("screenshare", "video"),
            "Media configuration options",
        ),
        "view_type": enum(("GROUP_CALL", "WEBINAR", "AUDIO_ROOM"), "Type of the meeting"),
    },
    ("max_screenshare_count", "max_video_streams", "media", "view_type"),
)

_BACKGROUND = {"1000": "#080808", "900": "#1A1A1A", "800": "#1E1E1E", "700": "#2C2C2C", "600": "#3C3C3C"}
_BRAND = {"300": "#844D1C", "400": "#9D5B22", "500": "#B56927", "600": "#D37C30", "700": "#D9904F"}
_COLORS = {
    "background": _BACKGROUND,
    "brand": _BRAND,
    "danger": "#FF2D2D",
    "success": "#62A504",
    "text": "#EEEEEE",
    "text_on_brand": "#EEEEEE",
    "video_bg": "#191919",
    "warning": "#FFCD07",
}
_TOKENS = {"border_radius": "rounded", "border_width": "thin", "colors": _COLORS, "spacing_base": 4, "theme": "dark"}


def _palette(defaults: dict[str, str]) -> dict[str, Any]:
    return obj({k: {**COLOR, "default": v} for k, v in defaults.items()}, tuple(defaults), default=defaults)


UI = obj(
    {
        "design_tokens": obj(
            {
                "border_radius": enum(("rounded",), default="rounded"),
                "border_width": enum(("thin",), default="thin"),
                "colors": obj(
                    {
                        "background": _palette(_BACKGROUND),
                        "brand": _palette(_BRAND),
                        **{k: {**COLOR, "default": v} for k, v in _COLORS.items() if isinstance(v, str)},
                    },
                    tuple(_COLORS),
                    default=_COLORS,
                ),
                "spacing_base": integer(0, 64, "Base spacing in px", default=4),
                "theme": enum(("dark",), default="dark"),
            },
            tuple(_TOKENS),
            default=_TOKENS,
        ),
        "config_diff": {"description": "Free-form changes to the default UI configuration"},
    },
    ("design_tokens",),
)


def _flags(names: tuple[str, ...], value: bool = False, **overrides: bool) -> dict[str, Any]:
    return {name: boolean(default=overrides.get(name, value)) for name in names}


def _group(properties: dict[str, Any], description: str = "") -> dict[str, Any]:
    defaults = {k: v["default"] for k, v in properties.items()}
    return obj(properties, tuple(properties), description, default=defaults)


def _can_produce(what: str) -> dict[str, Any]:
    return _group({"can_produce": enum(PRODUCE, f"Can produce {what}", default="ALLOWED")}, f"{what} permissions")


PLUGIN_ACCESS = {"access_control": "FULL_ACCESS", "handles_view_only": False}
PERMISSION_FIELDS: dict[str, Any] = {
    **_flags(("accept_waiting_requests", "can_accept_production_requests", "can_change_participant_permissions")),
    **_flags(("can_edit_display_name",), True),
    **_flags(("can_livestream", "can_record", "can_spotlight")),
    "chat": _group(
        {
            "private": _group(_flags(("can_receive", "can_send", "files", "text"), True)),
            "public": _group(_flags(("can_send", "files", "text"), True)),
        },
        "Chat permissions",
    ),
    "connected_meetings": _group(
        _flags(("can_alter_connected_meetings", "can_switch_connected_meetings", "can_switch_to_parent_meeting"))
    ),
    **_flags(
        (
            "disable_participant_audio",
            "disable_participant_screensharing",
            "disable_participant_video",
            "hidden_participant",
            "kick_participant",
        )
    ),
    "media": _group(
        {
            "audio": _can_produce("audio"),
            "screenshare": _can_produce("screen share video"),
            "video": _can_produce("video"),
        },
        "Media permissions",
    ),
    **_flags(("pin_participant",)),
    "plugins": _group(
        {
            **_flags(("can_close", "can_edit_config", "can_start")),
            "config": {
                "oneOf": [
                    string(max_length=256),
                    obj(
                        {"access_control": enum(("FULL_ACCESS", "VIEW_ONLY")), "handles_view_only": boolean()},
                        ("access_control", "handles_view_only"),
                    ),
                ],
                "default": PLUGIN_ACCESS,
            },
        },
        "Plugin permissions",
    ),
    "polls": _group(_flags(("can_create", "can_view", "can_vote"), True, can_create=False), "Poll permissions"),
    "recorder_type": enum(("RECORDER", "LIVESTREAMER", "NONE"), "Type of the recording peer", default="NONE"),
    **_flags(("show_participant_list",), True),
    "waiting_room_type": enum(
        ("SKIP", "ON_PRIVILEGED_USER_ENTRY", "SKIP_ON_ACCEPT"), "Waiting room type", default="SKIP"
    ),
    "is_recorder": boolean(default=False),
}
PERMISSIONS = _group(PERMISSION_FIELDS)

PRESET_FIELDS: dict[str, Any] = {
    "name": string("Name of the preset", max_length=256, min_length=1),
    "config": CONFIG,
    "ui": UI,
    "permissions": PERMISSIONS,
}
CREATE_PRESET = Body("RtkCreatePresetRequest", obj(PRESET_FIELDS, ("name", "config", "ui")))
UPDATE_PRESET = Body("RtkUpdatePresetRequest", obj(PRESET_FIELDS), partial=True)
FULL_PRESET = obj(PRESET_FIELDS, ("name", "config", "ui"))  # a merged PATCH is checked against this


def _answer(schema: dict[str, Any]) -> dict[str, Any]:
    """An answer's schema: every field the stored preset has is required, no defaults."""
    out = {k: v for k, v in schema.items() if k != "default"}
    if "properties" in schema:
        out["properties"] = {k: _answer(v) for k, v in schema["properties"].items()}
    if "oneOf" in schema:
        out["oneOf"] = [_answer(v) for v in schema["oneOf"]]
    return out


PRESET = obj(
    {
        "id": {**UUID_STRING, "description": "ID of the preset"},
        "created_at": DATE_TIME,
        "updated_at": DATE_TIME,
        **{k: _answer(v) for k, v in PRESET_FIELDS.items()},
    },
    ("id", "name", "config", "ui", "permissions"),
)
PRESET_SUMMARY = obj(
    {"id": UUID_STRING, "created_at": DATE_TIME, "name": string(max_length=256), "updated_at": DATE_TIME},
    ("id", "created_at", "name", "updated_at"),
)


def readable_preset(doc: dict[str, Any]) -> dict[str, Any]:
    out = {"id": doc["_id"], "created_at": doc["created_at"], "updated_at": doc["updated_at"]}
    out.update({k: doc[k] for k in PRESET_FIELDS if k in doc})
    return out


def media_rights(permissions: dict[str, Any]) -> dict[str, str]:
    """``{"audio"|"video"|"screenshare": ALLOWED|NOT_ALLOWED|CAN_REQUEST}`` of a stored preset's permissions."""
    media = permissions.get("media", {})
    return {kind: media.get(kind, {}).get("can_produce", "NOT_ALLOWED") for kind in ("audio", "video", "screenshare")}
