"""Transcripts: ``POST /send-transcript`` and ``GET /view-transcript/:meetingId``, encrypted at rest.

A line that arrives already encrypted by the client under the shared secret is stored as it came; any other
line is encrypted here under the meeting's salt. Reading decrypts in a worker thread (key derivation is
CPU work). Who may do what: see docs/decisions.md.
"""

from __future__ import annotations

from typing import Any

import trio

from altegon_rt.api.routing import Call, Reply, endpoint
from altegon_rt.api.schema import Field, Schema
from altegon_rt.crypto.transcript_cipher import TranscriptCipher, seal_line
from altegon_rt.errors import BadRequest, Forbidden, NotFound

MAX_MESSAGE = 20_000

SEND = Schema(
    "SendTranscriptRequest",
    (
        Field("meetingId", "objectid", description="The meeting's id"),
        Field("userName", "string", max_length=200, description="Name of the speaker", example="Ada Lovelace"),
        Field("message", "string", max_length=MAX_MESSAGE * 2,
              description="The line: plain text, or already encrypted by the client under the shared secret"),
    ),
)  # fmt: skip
MEETING_ID = Field("meetingId", "objectid", description="The meeting's id")


async def _meeting(call: Call, meeting_id: str) -> dict[str, Any]:
    meeting = await call.services.store.meetings.get(meeting_id)
    if meeting is None:
        raise NotFound("meeting not found")
    return meeting


def _seal(cipher: TranscriptCipher, meeting_id: str, message: str) -> tuple[str, bool]:
    return seal_line(cipher, meeting_id, message, MAX_MESSAGE)


@endpoint(
    "POST", "/send-transcript", tag="transcripts", body=SEND, audit="transcript.send",
    summary="Add a line to a meeting's transcript (stored encrypted)",
    responses={201: "Stored", 400: "Missing or invalid field", 401: "Not signed in",
               403: "Transcription is off for this meeting", 404: "No such meeting"},
    example={"success": True, "data": {"_id": "670b88775cba2f7de6f739d0", "meetingId": "68cd413466eab302c9f078cd",
             "userName": "Ada Lovelace", "createdAt": "2025-10-13T12:20:30.000Z"}},
)  # fmt: skip
async def send_transcript(call: Call) -> Reply:
    s = call.services
    meeting_id = call.body["meetingId"]
    call.target = {"type": "meeting", "id": meeting_id}
    meeting = await _meeting(call, meeting_id)
    if not meeting.get("transcriptEnabled") and not call.user.may_act_for(meeting["hostId"]):
        raise Forbidden("transcription is turned off for this meeting")
    try:
        sealed, by_client = await trio.to_thread.run_sync(
            _seal, s.cipher, meeting_id, call.body["message"], limiter=s.crypto_limiter
        )
    except ValueError:
        raise BadRequest(f"field 'message' is longer than {MAX_MESSAGE} characters", code="invalid_field") from None
    line = await s.store.transcripts.add(
        meeting_id=meeting_id, user_id=call.user.user_id, user_name=call.body["userName"],
        ciphertext=sealed, by_client=by_client,
    )  # fmt: skip
    call.target["line"] = line["_id"]
    data = {k: line[k] for k in ("_id", "meetingId", "userName", "createdAt")}
    return Reply(201, {"success": True, "data": data})


def _open_all(cipher: TranscriptCipher, lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for line in lines:
        opened = cipher.decrypt_object(line, ("message",)) if line.get("isEncrypted") else line
        out.append({k: opened[k] for k in ("_id", "meetingId", "userName", "message", "createdAt") if k in opened})
    return out


@endpoint(
    "GET", "/view-transcript/{meetingId}", tag="transcripts", params=(MEETING_ID,), audit="transcript.view",
    summary="A meeting's whole transcript, oldest line first (host or admin)",
    responses={200: "The transcript", 400: "Invalid id", 401: "Not signed in", 403: "Not your meeting",
               404: "No such meeting"},
    example={"data": [{"_id": "670b88775cba2f7de6f739d0", "meetingId": "68cd413466eab302c9f078cd",
             "userName": "Ada Lovelace", "message": "Hello.", "createdAt": "2025-10-13T12:20:30.000Z"}]},
)  # fmt: skip
async def view_transcript(call: Call) -> Reply:
    s = call.services
    meeting_id = call.path["meetingId"]
    call.target = {"type": "meeting", "id": meeting_id}
    meeting = await _meeting(call, meeting_id)
    call.require_self_or_admin(meeting["hostId"], "transcripts")
    lines = await s.store.transcripts.for_meeting(meeting_id)
    opened = await trio.to_thread.run_sync(_open_all, s.cipher, lines, limiter=s.crypto_limiter)
    return Reply(200, {"data": opened})


ROUTES = (send_transcript, view_transcript)
