"""The RealtimeKit session documents as answered: sessions, session participants, peer reports, file links.

Field names are the spec's. Peer statistics hold what our SFU really measures: for each producer of a peer,
the RTP packets the SFU received and their interarrival jitter (RFC 3550 A.8); for each consumer, the packets
and bytes it sent. Bandwidths, losses, quality scores and device details that only a client can measure are
left out rather than made up. See docs/decisions.md.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from altegon_rt.rtk.jsonschema import DATE_TIME, UUID_STRING, enum, obj, string
from altegon_rt.rtk.polls import POLL
from altegon_rt.rtk.sessions import LivePeer, LiveSession

NUMBER = {"type": "number", "minimum": 0}
COUNT = {"type": "integer", "minimum": 0}
NULLABLE_DATE = {"type": ["string", "null"], "format": "date-time"}
SESSION_FIELDS = ("id", "associated_id", "created_at", "live_participants", "max_concurrent_participants",
                  "meeting_display_name", "minutes_consumed", "organization_id", "started_at", "status", "type",
                  "updated_at")  # fmt: skip

SESSION = obj(
    {
        "id": {**UUID_STRING, "description": "ID of the session"},
        "associated_id": {**UUID_STRING, "description": "ID of the meeting this session is associated with"},
        "created_at": DATE_TIME,
        "live_participants": {**COUNT, "description": "number of participants currently in the session"},
        "max_concurrent_participants": {**COUNT, "description": "most participants in the session at once"},
        "meeting_display_name": string("Title of the meeting this session belongs to", max_length=256),
        "minutes_consumed": {**NUMBER, "description": "participant-minutes consumed since the session started"},
        "organization_id": {**UUID_STRING, "description": "App id that hosted this session"},
        "started_at": DATE_TIME,
        "status": enum(("LIVE", "ENDED"), "current status of session"),
        "type": enum(("meeting", "livestream", "participant"), "type of session"),
        "updated_at": DATE_TIME,
        "breakout_rooms": {"type": "array", "items": {}},
        "ended_at": {**DATE_TIME, "description": "timestamp when session ended"},
        "meta": obj({"polls": {"type": "array", "items": POLL}}, description="The session's polls"),
    },
    SESSION_FIELDS,
)
PRODUCER_STAT = obj(
    {"producer_id": string(max_length=64), "kind": string(max_length=16), "source": string(max_length=16),
     "packets_received": COUNT, "jitter_ms": NUMBER},
)  # fmt: skip
CONSUMER_STAT = obj(
    {"consumer_id": string(max_length=64), "producer_id": string(max_length=64), "kind": string(max_length=16),
     "packets_sent": COUNT, "bytes_sent": COUNT},
)  # fmt: skip
EVENT = obj({"type": string(max_length=32), "timestamp": DATE_TIME})
SESSION_PARTICIPANT = obj(
    {
        "id": {**UUID_STRING, "description": "ID of this participant's presence in the session"},
        "peer_id": string("The socket (peer) id it joined with", max_length=128),
        "user_id": {**UUID_STRING, "description": "The RealtimeKit participant's id"},
        "custom_participant_id": string(max_length=256),
        "display_name": string(max_length=256),
        "preset_name": string(max_length=256),
        "created_at": DATE_TIME,
        "updated_at": DATE_TIME,
        "joined_at": DATE_TIME,
        "left_at": NULLABLE_DATE,
        "duration": {**NUMBER, "description": "minutes the participant was in the session"},
    },
    ("id", "peer_id", "user_id", "joined_at", "duration"),
)
STATS_FIELDS = {
    "peer_stats": obj(
        {"events": {"type": "array", "items": EVENT}, "ip_information": obj({"ipv4": string(max_length=64)})}
    ),
    "quality_stats": {
        "type": "array",
        "items": obj(
            {
                "peer_id": string(max_length=128),
                "start": DATE_TIME,
                "end": NULLABLE_DATE,
                "audio_stats": {"type": "array", "items": PRODUCER_STAT},
                "video_stats": {"type": "array", "items": PRODUCER_STAT},
                "total_audio_packets": COUNT,
                "total_video_packets": COUNT,
            },
        ),
    },
}
PARTICIPANT_DETAIL = {**SESSION_PARTICIPANT, "properties": {**SESSION_PARTICIPANT["properties"], **STATS_FIELDS}}
PEER_REPORT = {
    **SESSION_PARTICIPANT,
    "properties": {
        **SESSION_PARTICIPANT["properties"],
        "peer_report": obj(
            {
                "metadata": obj(
                    {
                        "ip_information": obj({"ipv4": string(max_length=64)}),
                        "events": {"type": "array", "items": EVENT},
                    }
                ),
                "quality": obj(
                    {
                        name: {"type": "array", "items": PRODUCER_STAT if name.endswith("producer") else CONSUMER_STAT}
                        for name in (
                            "audio_producer",
                            "video_producer",
                            "screenshare_video_producer",
                            "audio_consumer",
                            "video_consumer",
                        )
                    }
                ),
            }
        ),
        "quality_stats": obj(
            {
                "peer_ids": {"type": "array", "items": string(max_length=128)},
                "start": DATE_TIME,
                "end": NULLABLE_DATE,
                "total_audio_packets": COUNT,
                "total_video_packets": COUNT,
            },
        ),
    },
}


def file_link(id_key: str, url_key: str, expiry_key: str) -> dict[str, Any]:
    return obj(
        {id_key: UUID_STRING, url_key: string("Where to download it", max_length=4096),
         expiry_key: {**DATE_TIME, "description": "When the download URL expires"}},
        (url_key, expiry_key),
    )  # fmt: skip


def readable_session(doc: dict[str, Any], live: LiveSession | None, now: dt.datetime) -> dict[str, Any]:
    if live is not None and live.id == doc["_id"]:
        return {**live.readable(now), "created_at": doc["created_at"]}
    out = {k: doc.get(k) for k in SESSION_FIELDS if k != "id"}
    out.update(id=doc["_id"], breakout_rooms=[], meta={"polls": doc.get("polls", [])})
    if doc.get("ended_at") is not None:
        out["ended_at"] = doc["ended_at"]
    return out


def readable_participant(doc: dict[str, Any], live: LivePeer | None, now: dt.datetime) -> dict[str, Any]:
    duration = doc.get("duration")
    if duration is None:  # still in the session
        duration = round((now - doc["joined_at"]).total_seconds() / 60, 3) if live is not None else 0
    return {
        "id": doc["_id"], "peer_id": doc["peer_id"], "user_id": doc["participant_id"],
        "custom_participant_id": doc["custom_participant_id"], "display_name": doc["display_name"],
        "preset_name": doc["preset_name"], "created_at": doc["created_at"], "updated_at": doc["updated_at"],
        "joined_at": doc["joined_at"], "left_at": doc.get("left_at"), "duration": duration,
    }  # fmt: skip


def _media(doc: dict[str, Any], live: LivePeer | None) -> dict[str, list[dict[str, Any]]]:
    media = live.media() if live is not None else doc.get("media") or {}
    return {"producers": media.get("producers", []), "consumers": media.get("consumers", [])}


def _events(doc: dict[str, Any], live: LivePeer | None) -> list[dict[str, Any]]:
    return list(live.events if live is not None else doc.get("events") or [])


def participant_stats(doc: dict[str, Any], live: LivePeer | None, sections: set[str]) -> dict[str, Any]:
    """``peer_stats`` and ``quality_stats`` of a session participant, limited to ``sections``."""
    media = _media(doc, live)
    audio = [p for p in media["producers"] if p["kind"] == "audio"]
    video = [p for p in media["producers"] if p["kind"] == "video"]
    out: dict[str, Any] = {}
    peer_stats: dict[str, Any] = {}
    if "events" in sections:
        peer_stats["events"] = _events(doc, live)
    if "ip_information" in sections:
        peer_stats["ip_information"] = {"ipv4": doc.get("ip_address") or ""}
    if peer_stats:
        out["peer_stats"] = peer_stats
    if "quality_stats" in sections:
        out["quality_stats"] = [{
            "peer_id": doc["peer_id"], "start": doc["joined_at"], "end": doc.get("left_at"),
            "audio_stats": audio, "video_stats": video,
            "total_audio_packets": sum(p["packets_received"] for p in audio),
            "total_video_packets": sum(p["packets_received"] for p in video),
        }]  # fmt: skip
    return out


def peer_report(doc: dict[str, Any], live: LivePeer | None, sections: set[str]) -> dict[str, Any]:
    """The spec's peer report of one peer, limited to ``sections``."""
    media = _media(doc, live)
    producers, consumers = media["producers"], media["consumers"]
    out: dict[str, Any] = {}
    if "peer_report" in sections:
        out["peer_report"] = {
            "metadata": {"ip_information": {"ipv4": doc.get("ip_address") or ""}, "events": _events(doc, live)},
            "quality": {
                "audio_producer": [p for p in producers if p["source"] == "audio"],
                "video_producer": [p for p in producers if p["source"] == "video"],
                "screenshare_video_producer": [p for p in producers if p["source"] == "screenshare"],
                "audio_consumer": [c for c in consumers if c["kind"] == "audio"],
                "video_consumer": [c for c in consumers if c["kind"] == "video"],
            },
        }
    if "quality_stats" in sections:
        out["quality_stats"] = {
            "peer_ids": [doc["peer_id"]], "start": doc["joined_at"], "end": doc.get("left_at"),
            "total_audio_packets": sum(p["packets_received"] for p in producers if p["kind"] == "audio"),
            "total_video_packets": sum(p["packets_received"] for p in producers if p["kind"] == "video"),
        }  # fmt: skip
    return out
